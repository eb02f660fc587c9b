"""Prometheus metrics of an emulated QPU controller: ``qrelay qpu serve --metrics-port``.

Everything is read from :meth:`Controller.info` when scraped, so the controller's own
paths carry no metrics code: per device the queue length, programs and jobs run and the
seconds spent running them; for the controller, engine child processes restarted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from qrelay.qpu.emulator import Controller


class ControllerCollector(Collector):
    """Reads ``controller.info()`` at each scrape."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def collect(self) -> Iterator[Any]:
        info = self.controller.info()
        queue = GaugeMetricFamily(
            "qrelay_qpu_queue_length", "Jobs queued on a device.", labels=["device"]
        )
        programs = CounterMetricFamily(
            "qrelay_qpu_programs_executed", "Programs a device ran.", labels=["device"]
        )
        jobs = CounterMetricFamily(
            "qrelay_qpu_jobs_completed", "Jobs a device completed.", labels=["device"]
        )
        busy = CounterMetricFamily(
            "qrelay_qpu_busy_seconds", "Seconds a device spent running programs.", labels=["device"]
        )
        for device in info["devices"]:
            name = [device["quantum_processor_id"]]
            queue.add_metric(name, device["queue_depth"])
            programs.add_metric(name, device["programs_executed"])
            jobs.add_metric(name, device["jobs_completed"])
            busy.add_metric(name, device["busy_seconds"])
        yield from (queue, programs, jobs, busy)
        yield CounterMetricFamily(
            "qrelay_qpu_engine_restarts",
            "Engine child processes that died running a program and were replaced.",
            value=info["engine_restarts"],
        )


def controller_registry(
    controller: Controller, registry: CollectorRegistry | None = None
) -> CollectorRegistry:
    """``registry`` (a new one by default) reporting ``controller``."""
    registry = registry or CollectorRegistry()
    registry.register(ControllerCollector(controller))
    return registry
