"""Two service replicas on one PostgreSQL wake each other's waiters (LISTEN/NOTIFY).

Each replica's poll interval is set far beyond the waits here, so a waiter on one replica
can only learn of a change made through the other by the relay's notification: a waiter
that was not woken would answer only at its deadline, and the tests give up on it well
before (a generous bound: a notification takes milliseconds).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from .support import Live, completed, database, new_job, start, wait_for

_WAIT = 55  # seconds a long poll may wait (the most the service allows is 60)
_WOKEN_WITHIN = 30  # seconds the tests wait for the woken answer, well before that
_NEVER = 3600.0  # the replicas' poll interval: no poll happens during a test


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Live]]:
    with database("postgres", tmp_path_factory.mktemp("db")) as url:
        first = start(url)
        second = start(url, admin_token=first.admin_token)
        for live in (first, second):
            _runtime(live).poll_interval = _NEVER
        try:
            yield first, second
        finally:
            second.stop()
            first.stop()


def _runtime(live: Live) -> Any:
    return live.server.config.app.state.runtime


def _in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def test_a_result_posted_through_one_replica_wakes_a_long_poll_on_the_other(
    replicas: tuple[Live, Live],
) -> None:
    a, b = replicas
    user_a = a.user()
    token = user_a.headers["Authorization"].split()[1]
    user_b = b.client(token)
    worker = a.worker()
    job_id = user_a.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": "r1"}).json()[
        "job_id"
    ]
    task = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}).json()
    assert task["job_id"] == job_id
    thread, answers = _in_thread(lambda: user_b.get(f"/v1/jobs/{job_id}?wait={_WAIT}").json())
    assert wait_for(lambda: _runtime(b).notifier.waiting(f"job:{job_id}"), timeout=30)
    posted = worker.post(
        f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
    )
    assert posted.status_code in (200, 204), posted.text
    thread.join(timeout=_WOKEN_WITHIN)
    assert answers, "the long poll on the other replica was not woken"
    assert answers[0]["status"] == "completed"  # woken by the result, not by its deadline


def test_a_job_queued_through_one_replica_wakes_a_worker_waiting_on_the_other(
    replicas: tuple[Live, Live],
) -> None:
    a, b = replicas
    user_a = a.user()
    token = b.worker().headers["Authorization"].split()[1]
    worker_b = b.client(token)
    thread, answers = _in_thread(
        lambda: worker_b.post(
            "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": _WAIT}
        )
    )
    runtime_b = _runtime(b)
    assert wait_for(lambda: runtime_b.notifier.waiting("target:aer_simulator"), timeout=30)
    job_id = user_a.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": "r2"}).json()[
        "job_id"
    ]
    thread.join(timeout=_WOKEN_WITHIN)
    assert answers, "the waiting worker on the other replica was not woken"
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["job_id"] == job_id
