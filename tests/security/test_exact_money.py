"""Money adds up exactly: estimates, charges and balances, against the real service.

With money as floats, 300 shots at 0.0002 were estimated at 0.060000000000000005 and a
user with exactly 0.06 was answered "the estimated cost 0.06 exceeds the balance 0.06"
(402); and many small charges left a balance a hair off what was paid in. The service runs
under uvicorn over a SQLite file and over PostgreSQL, with a worker posting real results.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.service.support import Live, completed, database, new_job, start

PRICE = 0.0002


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("money")
    catalog = tmp / "targets.json"
    catalog.write_text(
        json.dumps(
            [
                {
                    "name": "aer_simulator",
                    "driver": "aer",
                    "simulator": True,
                    "num_qubits": 8,
                    "price_per_shot": PRICE,
                }
            ]
        )
    )
    with database(request.param, tmp) as url:
        service = start(url, targets_file=catalog)
        yield service
        service.stop()


def _submit(user: httpx.Client, **job: Any) -> httpx.Response:
    return user.post("/v1/jobs", json=new_job(**job), headers={"Idempotency-Key": uuid.uuid4().hex})


def _run_queued(live: Live, worker: httpx.Client) -> int:
    """Lease and complete every queued task with all its shots; how many ran."""
    ran = 0
    while True:
        r = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0})
        if r.status_code == 204:
            return ran
        task = r.json()
        done = worker.post(
            f"/v1/worker/tasks/{task['task_id']}/result",
            json=completed(task["lease_id"], task["shots"]),
        )
        assert done.status_code == 204, done.text
        ran += 1


def _balance(user: httpx.Client) -> float:
    return float(user.get("/v1/me/balance").json()["balance"])


def test_a_job_that_costs_exactly_the_balance_is_taken_and_charged_exactly(live: Live) -> None:
    user, worker = live.user(balance=0.06), live.worker()
    dry = _submit(user, shots=300, dry_run=True)
    assert dry.json()["estimated_cost"] == 0.06
    r = _submit(user, shots=300)
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]
    assert _run_queued(live, worker) == 1
    assert user.get(f"/v1/jobs/{job_id}?wait=10").json()["cost"] == 0.06
    assert _balance(user) == 0.0
    r = _submit(user, shots=1)
    assert r.status_code == 402, r.text
    assert r.json()["detail"] == "the estimated cost 0.0002 exceeds the balance 0"


def test_many_small_charges_add_up_to_the_exact_balance(live: Live) -> None:
    user, worker = live.user(balance=0.3), live.worker()
    jobs = []
    for _ in range(10):  # 0.03 each: together exactly the balance, held while queued
        r = _submit(user, shots=150)
        assert r.status_code == 201, r.text
        jobs.append(r.json()["job_id"])
    r = _submit(user, shots=1)
    assert r.status_code == 402, r.text
    assert "less 0.3 held for unfinished jobs" in r.json()["detail"]
    assert _run_queued(live, worker) == 10
    costs = [user.get(f"/v1/jobs/{j}?wait=10").json()["cost"] for j in jobs]
    assert costs == [0.03] * 10
    assert _balance(user) == 0.0


def test_an_admin_sets_a_balance_exactly_and_within_bounds(live: Live) -> None:
    r = live.admin.post(
        "/v1/users",
        json={"name": "Rich", "email": f"r{uuid.uuid4().hex[:8]}@example.org", "balance": 1e300},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("balance")
    user = live.user(balance=0.1)
    me = user.get("/v1/me").json()
    r = live.admin.patch(f"/v1/users/{me['user_id']}", json={"balance": 0.7})
    assert r.status_code == 200, r.text
    assert r.json()["balance"] == 0.7
    assert _balance(user) == 0.7
