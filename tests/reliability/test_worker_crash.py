"""A worker SIGKILLed mid-task: the lease expires, another worker finishes, nothing runs twice."""

from __future__ import annotations

import pytest

from qrelay.qpu import api

from .circuits import rotation_sweep, slow, sweep_rows
from .procs import Stack, job, submit, wait_terminal, wait_until


def _attempts(stack: Stack, job_id: str) -> list[int]:
    from sqlalchemy import create_engine, select

    from qrelay.service.db.tables import tasks

    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(tasks.c.attempt).where(tasks.c.job_id == job_id).order_by(tasks.c.id)
            ).all()
    finally:
        engine.dispose()
    return [int(r[0]) for r in rows]


@pytest.mark.slow
def test_worker_killed_mid_simulation_is_finished_by_another(stack: Stack) -> None:
    stack.start_service()
    user = stack.client(stack.new_user())
    job_id = submit(
        user,
        {
            "job_type": "simulate",
            "target": "aer_simulator",
            "circuits": [slow()],
            "bindings": sweep_rows(10),
            "shots": 2000,
        },
    )
    first = stack.start_worker(stack.new_worker_token(["aer_simulator"]), ["aer_simulator"])
    wait_until(lambda: job(user, job_id)["statuses"] == ["simulating"], 60, "the lease")
    first.kill()  # SIGKILL to the worker and its simulation child
    assert job(user, job_id)["statuses"] == ["simulating"]  # the dead lease still holds it
    stack.start_worker(stack.new_worker_token(["aer_simulator"]), ["aer_simulator"])
    data = wait_terminal(user, job_id)
    assert data["statuses"] == ["completed"], data["status_messages"]
    assert _attempts(stack, job_id) == [2]
    results = user.get(f"/v1/jobs/{job_id}/results").json()
    assert len(results["readouts"][0]) == 10


@pytest.mark.slow
def test_worker_killed_while_the_qpu_runs_reattaches_without_resubmitting(stack: Stack) -> None:
    stack.start_service()
    _qpu, address = stack.start_qpu("square_qpu")
    user = stack.client(stack.new_user())
    rows = 30
    job_id = submit(
        user,
        {
            "job_type": "submit",
            "target": "square_qpu",
            "circuits": [rotation_sweep(rows)],
            "bindings": sweep_rows(rows),
            "shots": 1000,
        },
    )
    token = stack.new_worker_token(["square_qpu"])
    first = stack.start_worker(token, ["square_qpu"], qpu_address=address)

    def execution_id() -> str | None:
        data = job(user, job_id)
        assert data["statuses"][0] not in ("completed", "failed"), (data, first.log())
        ids = data.get("provider_id") or [None]
        # "submitting:a1" marks the key's attempt before the device has the program
        return None if str(ids[0]).startswith("submitting:") else ids[0]

    ids = wait_until(execution_id, 90, "the device to take the program").split(",")
    first.kill()
    stack.start_worker(token, ["square_qpu"], qpu_address=address)
    data = wait_terminal(user, job_id, bound=120)
    assert data["statuses"] == ["completed"], data["status_messages"]
    assert data["provider_id"][0].split(",") == ids  # the same execution, re-attached
    assert _attempts(stack, job_id) == [2]
    with api.QpuClient(gateway=address) as qpu:
        counts = [api.get_job_status(j, "square_qpu", client=qpu).execution_count for j in ids]
    assert counts == [1] * rows  # the controller ran the program once
