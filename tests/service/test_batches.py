"""Batched result posts and leases of several tasks, over HTTP, on SQLite and PostgreSQL.

A batch of results is recorded in one transaction, each result checked as a single post
checks it and accepted or refused on its own; a result already recorded is refused and
neither stored nor charged again. A lease may take several tasks, each under a lease of
its own, never the same task to two workers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from qrelay.service.db.leasing import MAX_LEASE_TASKS

from .support import Live, completed, new_job, start

PRICE = 0.01  # per shot: 100 shots cost 1.0


@pytest.fixture(scope="module")
def priced(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A service whose simulator charges for shots, so a double charge would show."""
    path = tmp_path_factory.mktemp("catalog") / "targets.json"
    path.write_text(
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
    service = start(db_url, targets_file=path)
    yield service
    service.stop()


def _submit(user: httpx.Client, circuits: int = 1) -> str:
    r = user.post(
        "/v1/jobs", json=new_job(circuits=circuits), headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    job_id: str = r.json()["job_id"]
    return job_id


def _lease(worker: httpx.Client, max_tasks: int) -> list[dict[str, Any]]:
    r = worker.post(
        "/v1/worker/lease",
        json={"targets": ["aer_simulator"], "wait": 0, "max_tasks": max_tasks},
    )
    assert r.status_code == 200, r.text
    tasks: list[dict[str, Any]] = r.json()["tasks"]
    return tasks


def _drain(worker: httpx.Client) -> None:
    """Lease away whatever earlier tests left queued."""
    while _lease(worker, MAX_LEASE_TASKS):
        pass


def _entry(task: dict[str, Any], lease_id: str | None = None) -> dict[str, Any]:
    return {"task_id": task["task_id"]} | completed(lease_id or task["lease_id"], 100)


def _balance(user: httpx.Client) -> float:
    value: float = user.get("/v1/me/balance").json()["balance"]
    return value


def test_a_batch_is_checked_per_result_and_recorded_once(priced: Live) -> None:
    user, worker = priced.user(balance=100.0), priced.worker()
    _drain(worker)
    job_id = _submit(user, circuits=3)
    tasks = _lease(worker, 10)
    assert [t["circuit_index"] for t in tasks] == [0, 1, 2]
    assert len({t["lease_id"] for t in tasks}) == 3  # a lease of its own each
    first, second, third = tasks
    batch = {
        "results": [
            _entry(first),
            _entry(second, lease_id="not-the-lease"),  # stale: refused, the others not
            _entry(third),
            _entry(first),  # the same task twice: recorded once
        ]
    }
    r = worker.post("/v1/worker/results", json=batch)
    assert r.status_code == 200, r.text
    outcomes = r.json()["outcomes"]
    assert [o["task_id"] for o in outcomes] == [t["task_id"] for t in (first, second, third, first)]
    assert [o["accepted"] for o in outcomes] == [True, False, True, False]
    assert {o.get("code") for o in outcomes if not o["accepted"]} == {"lease_lost"}
    assert r.json()["tasks"] == []
    assert _balance(user) == pytest.approx(98.0)

    # The same request again (a retry after a lost answer): nothing recorded or charged.
    again = worker.post("/v1/worker/results", json=batch).json()["outcomes"]
    assert [o["accepted"] for o in again] == [False, False, False, False]
    assert _balance(user) == pytest.approx(98.0)
    timeline = user.get(f"/v1/jobs/{job_id}/timeline").json()["transitions"]
    ended = [step["circuit_index"] for step in timeline if step["to_status"] == "completed"]
    assert sorted(ended) == [0, 2]  # each recorded once

    # The refused task still holds its lease; its result ends the job.
    last = worker.post("/v1/worker/results", json={"results": [_entry(second)]}).json()
    assert last["outcomes"][0]["accepted"] is True
    data = user.get(f"/v1/jobs/{job_id}").json()
    assert data["status"] == "completed"
    assert data["cost"] == pytest.approx(3.0)
    assert _balance(user) == pytest.approx(97.0)


def test_a_batch_refuses_what_a_single_post_refuses(priced: Live) -> None:
    user, worker, other = priced.user(), priced.worker(), priced.worker()
    _drain(worker)
    _submit(user, circuits=2)
    mine, theirs = _lease(worker, 1)[0], _lease(other, 1)[0]
    wrong_shape = {"task_id": mine["task_id"]} | completed(mine["lease_id"], 100, rows=2)
    r = worker.post(
        "/v1/worker/results",
        json={
            "results": [
                wrong_shape,  # two readouts for a circuit run once: 422, named
                _entry(theirs),  # another worker's task, its lease id learnt: 403
                {"task_id": "no-such-task"} | completed("x", 100),
            ]
        },
    )
    assert r.status_code == 200, r.text
    outcomes = r.json()["outcomes"]
    assert [(o["accepted"], o["status"], o["code"]) for o in outcomes] == [
        (False, 422, "validation_error"),
        (False, 403, "forbidden"),
        (False, 404, "not_found"),
    ]
    # Nothing of them was stored: both tasks still take their right results.
    for client, task in ((worker, mine), (other, theirs)):
        ok = client.post("/v1/worker/results", json={"results": [_entry(task)]}).json()
        assert ok["outcomes"][0]["accepted"] is True


def test_a_batch_answers_task_ids_no_task_can_have_and_records_the_rest(priced: Live) -> None:
    # The batch's tasks are read in one query; ids no task can have (beyond the id
    # column's range, zero, negative) are each refused on their own, not the batch.
    user, worker = priced.user(), priced.worker()
    _drain(worker)
    job_id = _submit(user)
    task = _lease(worker, 1)[0]
    odd = [{"task_id": tid} | completed("x", 100) for tid in ("99999999999", "0", "-7")]
    r = worker.post("/v1/worker/results", json={"results": [*odd, _entry(task)]})
    assert r.status_code == 200, r.text
    outcomes = r.json()["outcomes"]
    assert [(o["accepted"], o.get("status"), o.get("code")) for o in outcomes] == [
        (False, 404, "not_found"),
        (False, 404, "not_found"),
        (False, 404, "not_found"),
        (True, None, None),
    ]
    assert user.get(f"/v1/jobs/{job_id}").json()["status"] == "completed"


def test_results_lease_the_next_tasks_in_the_same_request(priced: Live) -> None:
    user, worker = priced.user(), priced.worker()
    _drain(worker)
    _submit(user)
    task = _lease(worker, 1)[0]
    _submit(user, circuits=3)
    r = worker.post(
        "/v1/worker/results",
        params={"lease": ["aer_simulator"], "wait": 0, "max_tasks": 2},
        json={"results": [_entry(task)]},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["outcomes"][0]["accepted"] is True
    assert [t["circuit_index"] for t in answer["tasks"]] == [0, 1]


def test_a_lease_takes_at_most_its_limit_and_never_a_task_twice(priced: Live) -> None:
    user, first, second = priced.user(), priced.worker(), priced.worker()
    _drain(first)
    jobs = [_submit(user) for _ in range(MAX_LEASE_TASKS + 4)]
    bounded = _lease(first, MAX_LEASE_TASKS * 10)
    assert len(bounded) == MAX_LEASE_TASKS  # bounded by the service, whatever was asked
    for _ in range(6):
        _submit(user)
    total = len(jobs) + 6

    def take(worker: httpx.Client) -> list[str]:
        seen = []
        while True:
            tasks = _lease(worker, 3)
            assert len(tasks) <= 3
            if not tasks:
                return seen
            seen += [t["task_id"] for t in tasks]

    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(take, [first, second]))
    everything = [t["task_id"] for t in bounded] + taken[0] + taken[1]
    assert len(everything) == total
    assert len(set(everything)) == total  # each task leased once, to one worker


def test_the_batch_size_is_bounded(priced: Live) -> None:
    worker = priced.worker()
    entry = {"task_id": "1"} | completed("x", 100)
    r = worker.post("/v1/worker/results", json={"results": [entry] * 1001})
    assert r.status_code == 422
    assert "results" in r.text
    assert worker.post("/v1/worker/results", json={"results": []}).status_code == 422


def test_a_long_poll_answers_what_a_read_answers(priced: Live) -> None:
    """A long poll's look (the job with its tasks only once it has ended, in one
    statement) answers byte for byte what a plain read answers, with or without the
    readouts, to the owner and to an admin; another user's job is not found."""
    user, other, worker = priced.user(), priced.user(), priced.worker()
    _drain(worker)
    job_id = _submit(user, circuits=2)
    tasks = _lease(worker, 10)
    going = user.get(f"/v1/jobs/{job_id}", params={"wait": 0.1})
    assert going.status_code == 200
    assert going.json()["status"] not in {"completed", "failed", "cancelled"}
    r = worker.post("/v1/worker/results", json={"results": [_entry(t) for t in tasks]})
    assert all(o["accepted"] for o in r.json()["outcomes"])
    for client in (user, priced.admin):
        for extra in ({}, {"include": "readout"}):
            polled = client.get(f"/v1/jobs/{job_id}", params={"wait": 5} | extra)
            plain = client.get(f"/v1/jobs/{job_id}", params=extra)  # no wait: a plain read
            assert polled.status_code == plain.status_code == 200
            assert polled.content == plain.content
            assert len(polled.json()["statuses"]) == 2
    assert other.get(f"/v1/jobs/{job_id}", params={"wait": 5}).status_code == 404
