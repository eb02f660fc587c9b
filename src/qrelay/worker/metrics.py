"""Prometheus metrics of a worker: ``qrelay worker --metrics-port PORT``.

Tasks run by target and outcome (``completed``, ``failed``, ``cancelled``, or
``lease_lost`` when the service took the task back), how long each took, and the
simulation child processes restarted. The registry is the worker's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from qrelay.payload import WorkerTask
    from qrelay.worker.loop import Worker

#: Task duration buckets (seconds): from a brief simulation to a long QPU queue.
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


class WorkerMetrics:
    """Counts what ``worker`` does, in ``registry`` (a new one by default)."""

    def __init__(self, worker: Worker, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.tasks = Counter(
            "qrelay_worker_tasks",
            "Tasks run to an end, by target and outcome.",
            ["target", "outcome"],
            registry=self.registry,
        )
        self.task_seconds = Histogram(
            "qrelay_worker_task_seconds",
            "Time from lease to outcome of a task (seconds), by target.",
            ["target"],
            buckets=TASK_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Restarts(worker))
        worker.on_task_end = self.task_ended

    def task_ended(self, task: WorkerTask, outcome: str, seconds: float) -> None:
        self.tasks.labels(task.target, outcome).inc()
        self.task_seconds.labels(task.target).observe(seconds)


class _Restarts(Collector):
    """The worker's simulation child restarts, read when scraped."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "qrelay_worker_engine_restarts",
            "Simulation child processes ended early (crash, or killed for a cancel) and replaced.",
            value=self.worker.engine_restarts,
        )
