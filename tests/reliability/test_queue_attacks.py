"""Attacks on the queue against real processes: ``qrelay serve`` and ``qrelay worker``.

A result over the body limit must not jam its worker, a long sweep judged brief must keep
its lease, and a job cancelled after its worker leased it gets no results for free.
"""

from __future__ import annotations

from typing import Any

import pytest

from .circuits import bell, slow, sweep_rows
from .ledger import audit
from .procs import PRICE, Stack, job, priced_catalog, submit, wait_terminal, wait_until


def _wide(bits: int) -> dict[str, Any]:
    """A Bell pair measured into a register ``bits`` wide: a readout of ``bits`` per shot."""
    circuit = bell()
    circuit["registers"] = [{"name": "c", "size": bits}]
    return circuit


def test_a_result_over_the_body_limit_fails_its_circuit_and_the_worker_goes_on(
    sqlite_stack: Stack,
) -> None:
    """A job accepted under a larger limit (the limit was lowered since, or the estimate
    missed) gives a result the service refuses with 413: its circuit fails saying why,
    and the worker leases the next job instead of running that one again and again."""
    stack = sqlite_stack
    stack.start_service()
    user_token = stack.new_user()
    user = stack.client(user_token)
    big = submit(user, {"target": "aer_simulator", "circuits": [_wide(800)], "shots": 3000})
    assert stack.service is not None
    stack.service.stop()
    stack.settings["max_body_bytes"] = 128 * 1024
    stack.start_service()
    small = submit(user, {"target": "aer_simulator", "circuits": [bell()], "shots": 100})
    token = stack.new_worker_token(["aer_simulator"])
    worker = stack.start_worker(token, ["aer_simulator"])
    data = wait_terminal(user, small, bound=60)
    assert data["statuses"] == ["completed"], (data, worker.log())
    refused = wait_terminal(user, big, bound=30)
    assert refused["statuses"] == ["failed"], refused
    assert "exceeds the limit of 131072 bytes" in refused["status_messages"][0]


def test_a_long_sweep_judged_brief_keeps_its_lease(sqlite_stack: Stack) -> None:
    """Thousands of rows of a one-qubit circuit: once judged brief by its work estimate
    (and run without a heartbeat), it runs for seconds, longer than the 2 s lease. Now it
    heartbeats and completes on its first attempt."""
    stack = sqlite_stack
    stack.max_attempts = 2
    stack.start_service()
    user = stack.client(stack.new_user())
    rows = 3000
    circuit = {
        "num_qubits": 1,
        "registers": [{"name": "c", "size": 1}],
        "parameters": ["t"],
        "instructions": [
            {"op": "rx", "qubits": [0], "params": ["t"]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
        ],
    }
    job_id = submit(
        user,
        {
            "target": "aer_simulator",
            "circuits": [circuit],
            "bindings": sweep_rows(rows),
            "shots": 1,
        },
    )
    token = stack.new_worker_token(["aer_simulator"])
    worker = stack.start_worker(token, ["aer_simulator"])
    data = wait_terminal(user, job_id, bound=120)
    assert data["statuses"] == ["completed"], (data["status_messages"], worker.log()[-2000:])
    assert "lease expired" not in worker.log()


@pytest.mark.slow
def test_cancelling_a_leased_job_gets_no_results_for_free(stack: Stack) -> None:
    """Jobs cancelled as soon as their worker leased them, each shorter than the worker's
    heartbeat period: the worker learns of the cancel only after it has posted the result.
    A cancelled circuit shows no readout, and the ledger charges exactly the shots shown."""
    stack.lease_seconds = 30.0
    stack.targets_file = priced_catalog(stack.home / "targets.json")
    stack.start_service()
    balance = 100.0
    token = stack.new_user(balance=balance)
    user = stack.client(token)
    worker = stack.start_worker(
        stack.new_worker_token(["aer_simulator"]), ["aer_simulator"], heartbeat=5.0
    )
    accepted = []
    for _ in range(3):
        job_id = submit(
            user,
            {
                "target": "aer_simulator",
                "circuits": [slow(14, 4)],
                "bindings": sweep_rows(40),
                "shots": 100,
            },
        )
        accepted.append(job_id)
        wait_until(
            lambda j=job_id: not job(user, j)["statuses"][0].startswith("awaiting"),
            60,
            "the worker to lease the job",
            step=0.01,
        )
        user.post("/v1/jobs/cancel", json={"job_ids": [job_id]})
        wait_terminal(user, job_id, bound=60)
    cancelled = 0
    for job_id in accepted:
        data = job(user, job_id)
        if data["statuses"] == ["cancelled"]:
            cancelled += 1
            results = user.get(f"/v1/jobs/{job_id}/results").json()
            assert results["readouts"] == [None], "a cancelled circuit gave its readout"
            assert data["cost"] == 0.0
    assert cancelled > 0, worker.log()[-2000:]
    audit(stack.database_url, {token: user}, {token: accepted}, balance, PRICE)
