"""The service SIGKILLed with jobs queued and running, restarted on the same database."""

from __future__ import annotations

import signal

import httpx
import pytest

from .circuits import bell, slow, sweep_rows
from .ledger import audit
from .procs import Stack, job, priced_catalog, submit, wait_terminal, wait_until

BALANCE = 1000.0


@pytest.mark.slow
def test_service_killed_and_restarted_loses_and_repeats_nothing(stack: Stack) -> None:
    stack.targets_file = priced_catalog(stack.home / "targets.json")
    stack.start_service()
    tokens = [stack.new_user(BALANCE) for _ in range(2)]
    users = {t: stack.client(t) for t in tokens}
    accepted: dict[str, list[str]] = {t: [] for t in tokens}
    for i in range(12):
        token = tokens[i % 2]
        body = (
            {
                "job_type": "simulate",
                "target": "aer_simulator",
                "circuits": [slow(12, 3)],
                "bindings": sweep_rows(4),
                "shots": 500,
            }
            if i % 4 == 0
            else {"target": "aer_simulator", "circuits": [bell(), bell()], "shots": 100 + i}
        )
        accepted[token].append(submit(users[token], body))
    worker_token = stack.new_worker_token(["aer_simulator"])
    for _ in range(2):
        stack.start_worker(worker_token, ["aer_simulator"])
    first = accepted[tokens[0]][0]
    wait_until(lambda: job(users[tokens[0]], first)["statuses"] == ["simulating"], 60, "a lease")

    assert stack.service is not None
    stack.service.kill(signal.SIGKILL)
    with pytest.raises(httpx.TransportError):
        users[tokens[0]].post(
            "/v1/jobs",
            json={"target": "aer_simulator", "circuits": [bell()], "shots": 10},
            headers={"Idempotency-Key": "while-down"},
        )
    stack.start_service()  # same port, same database
    for i in range(6):
        token = tokens[i % 2]
        accepted[token].append(
            submit(users[token], {"target": "aer_simulator", "circuits": [bell()], "shots": 50})
        )
    for token, ids in accepted.items():
        for job_id in ids:
            data = wait_terminal(users[token], job_id, bound=120)
            assert data["statuses"] == ["completed"] * data["num_circuits"], data
    figures = audit(stack.database_url, users, accepted, BALANCE)
    assert figures == {"jobs": 18, "lost": 0, "duplicated": 0}
