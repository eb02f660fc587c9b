"""The controller's metrics, scraped from its port after real programs and an engine crash."""

from __future__ import annotations

import math
import os
import signal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.reliability.procs import free_port

from qrelay.errors import QpuApiError
from qrelay.exposition import serve_registry
from qrelay.qpu import api
from qrelay.qpu.metrics import controller_registry
from qrelay.qpu.runner import ProcessRunner
from qrelay.qpu.server import start_server
from qrelay.qpu.translation import translate

from ._programs import rotations_square


def _scrape(port: int) -> dict[tuple[str, str], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (s.name, s.labels.get("device", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_programs_busy_time_and_engine_restarts_are_counted() -> None:
    port = free_port()
    with start_server(devices=["square_qpu"], seed=3) as handle:
        stop = serve_registry(controller_registry(handle.controller), "127.0.0.1", port)
        client = api.QpuClient(gateway=handle.address)
        try:
            idle = _scrape(port)
            assert idle[("qrelay_qpu_programs_executed_total", "square_qpu")] == 0
            assert idle[("qrelay_qpu_queue_length", "square_qpu")] == 0
            program = translate(rotations_square(2), 100, "square_qpu")
            first = api.submit(program, {"theta": [math.pi, 0.0]}, client=client)
            api.retrieve_results(first, client=client)
            runner = handle.controller.runner()
            assert isinstance(runner, ProcessRunner)
            (child,) = runner._children
            os.kill(child.proc.pid, signal.SIGKILL)  # a native crash of the engine
            child.proc.wait()
            lost = api.submit(program, {"theta": [0.0, 0.0]}, client=client)
            with pytest.raises(QpuApiError, match="died"):
                api.retrieve_results(lost, client=client)
            again = api.submit(program, {"theta": [0.0, math.pi]}, client=client)
            api.retrieve_results(again, client=client)
            found = _scrape(port)
        finally:
            client.close()
            stop()
    assert found[("qrelay_qpu_programs_executed_total", "square_qpu")] == 3
    assert found[("qrelay_qpu_jobs_completed_total", "square_qpu")] == 2
    assert found[("qrelay_qpu_busy_seconds_total", "square_qpu")] > 0
    assert found[("qrelay_qpu_queue_length", "square_qpu")] == 0
    assert found[("qrelay_qpu_engine_restarts_total", "")] == 1
