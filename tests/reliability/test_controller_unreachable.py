"""The QPU controller is unreachable: the worker backs off, the target goes offline, tasks wait."""

from __future__ import annotations

import threading

import httpx
import pytest

from qrelay.errors import QpuApiError
from qrelay.payload import Circuit, WorkerTask
from qrelay.plugins import TaskContext
from qrelay.qpu.fleet import fleet_device
from qrelay.worker.qpu_driver import UNREACHABLE_BOUND_SECONDS, QpuGrpcDriver

from .circuits import rotation_sweep, sweep_rows
from .procs import Stack, free_port, job, submit, wait_terminal, wait_until


def _target(user: httpx.Client, name: str) -> dict[str, object]:
    return dict(user.get(f"/v1/targets/{name}").json())


@pytest.mark.slow
def test_tasks_wait_while_the_controller_is_down_then_run(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    stack.liveness_seconds = 2.0
    stack.start_service()
    user = stack.client(stack.new_user())
    port = free_port()  # nothing listens here yet
    worker = stack.start_worker(
        stack.new_worker_token(["square_qpu"]), ["square_qpu"], qpu_address=f"127.0.0.1:{port}"
    )
    job_id = submit(
        user,
        {
            "target": "square_qpu",
            "circuits": [rotation_sweep(2)],
            "bindings": sweep_rows(2),
            "shots": 100,
        },
    )
    wait_until(lambda: "leasing nothing" in worker.log(), 60, "the worker to back off")
    wait_until(lambda: _target(user, "square_qpu")["status"] == "offline", 30, "offline")
    data = job(user, job_id)
    assert data["statuses"] == ["awaiting_submission"], data  # still queued
    assert _target(user, "square_qpu")["queue_depth"] == 1

    stack.start_qpu("square_qpu", port=port)  # the controller comes (back) up
    data = wait_terminal(user, job_id, bound=90)
    assert data["statuses"] == ["completed"], (data["status_messages"], worker.log()[-2000:])
    assert "retrying in" in worker.log()  # it backed off while the controller was away


def test_a_leased_task_retries_until_the_bound_then_fails_with_the_reason() -> None:
    assert UNREACHABLE_BOUND_SECONDS >= 60  # the documented bound for a leased task
    info = fleet_device("square_qpu")
    driver = QpuGrpcDriver(info, qpu_address=f"127.0.0.1:{free_port()}", unreachable_seconds=1.0)
    circuit = Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "c", "size": 1}],
            "instructions": [
                {"op": "rx", "qubits": [0], "params": [0.5]},
                {"op": "measure", "qubits": [0], "clbits": [0]},
            ],
        }
    )
    task = WorkerTask.model_validate(
        {
            "task_id": "t-unreachable",
            "lease_id": "l1",
            "lease_expires_at": "2030-01-01T00:00:00Z",
            "attempt": 1,
            "job_id": "j",
            "circuit_index": 0,
            "job_type": "submit",
            "target": "square_qpu",
            "circuit": circuit.model_dump(mode="json"),
            "shots": 10,
        }
    )
    recorded: list[str] = []
    try:
        assert driver.reachable() is False
        with pytest.raises(QpuApiError, match="unreachable for 1 s"):
            driver.execute(task, circuit, TaskContext(task=task, record_execution=recorded.append))
        assert recorded == ["submitting:a1"]  # only the key's attempt: no job reached a device
        cancelled = TaskContext(task=task, cancelled=threading.Event())
        cancelled.cancelled.set()
        assert driver.execute(task, circuit, cancelled) == []
    finally:
        driver.close()
