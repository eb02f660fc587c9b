"""Leases: expiry reclaims a task, a late result is refused, max attempts fail it; restarts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, select

from qrelay.payload import NewJob
from qrelay.service.db import leasing
from qrelay.service.db.tables import tasks

from .support import Live, completed, new_job, start, wait_for

LEASE = 0.4


@pytest.fixture(scope="module")
def short(db_url: str) -> Iterator[Live]:
    """A service whose leases last 0.4 s and whose tasks get two attempts."""
    service = start(db_url, lease_seconds=LEASE, max_attempts=2)
    yield service
    service.stop()


def _lease(worker: object, wait: float = 0) -> dict | None:
    r = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": wait})  # type: ignore[attr-defined]
    return None if r.status_code == 204 else r.json()


def _snapshot(url: str, task_id: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(tasks).where(tasks.c.id == int(task_id))).one()
    engine.dispose()
    return tuple(row)


def test_expired_lease_is_reclaimed_and_the_late_result_refused(short: Live) -> None:
    user, first, second = short.user(), short.worker(), short.worker()
    job = user.post(
        "/v1/jobs", json=new_job(), headers={"Idempotency-Key": uuid.uuid4().hex}
    ).json()["job_id"]
    old = _lease(first)
    assert old is not None
    assert old["attempt"] == 1
    new = _lease(second, wait=10)  # wakes when the first lease expires and is reclaimed
    assert new is not None
    assert new["task_id"] == old["task_id"]
    assert new["attempt"] == 2
    assert new["lease_id"] != old["lease_id"]
    before = _snapshot(short.database_url, old["task_id"])
    for path, body in (
        ("result", completed(old["lease_id"], 100)),
        ("heartbeat", {"lease_id": old["lease_id"]}),
        ("status", {"lease_id": old["lease_id"], "status": "running"}),
    ):
        r = first.post(f"/v1/worker/tasks/{old['task_id']}/{path}", json=body)
        assert r.status_code == 409
        assert r.json()["code"] == "lease_lost", r.text
    assert _snapshot(short.database_url, old["task_id"]) == before
    r = second.post(
        f"/v1/worker/tasks/{new['task_id']}/result", json=completed(new["lease_id"], 100)
    )
    assert r.status_code == 204
    assert user.get(f"/v1/jobs/{job}").json()["status"] == "completed"


def test_heartbeats_keep_a_lease(short: Live) -> None:
    user, worker = short.user(), short.worker()
    user.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": uuid.uuid4().hex})
    task = _lease(worker)
    assert task is not None
    for _ in range(4):
        time.sleep(LEASE / 2)
        r = worker.post(
            f"/v1/worker/tasks/{task['task_id']}/heartbeat", json={"lease_id": task["lease_id"]}
        )
        assert r.status_code == 200, r.text
    r = worker.post(
        f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
    )
    assert r.status_code == 204


def test_after_max_attempts_the_circuit_fails_with_the_reason(short: Live) -> None:
    user, worker = short.user(), short.worker()
    while _lease(worker) is not None:
        pass
    job = user.post(
        "/v1/jobs", json=new_job(), headers={"Idempotency-Key": uuid.uuid4().hex}
    ).json()["job_id"]
    assert _lease(worker) is not None
    assert _lease(worker, wait=10) is not None  # attempt 2 after the first expiry
    data = user.get(f"/v1/jobs/{job}?wait=10").json()  # the sweep fails it after the second
    assert data["status"] == "failed"
    assert "attempt 2 of 2" in data["status_messages"][0]


def test_restart_mid_queue_completes_everything(db_url: str) -> None:
    first = start(db_url)
    user_token = first.admin.post(
        "/v1/users", json={"name": "r", "email": f"r{uuid.uuid4().hex[:6]}@example.org"}
    ).json()["token"]
    worker_token = first.admin.post(
        "/v1/workers", json={"name": "w", "targets": ["aer_simulator"]}
    ).json()["token"]
    user = first.client(user_token)
    jobs = [
        user.post(
            "/v1/jobs", json=new_job(circuits=3), headers={"Idempotency-Key": uuid.uuid4().hex}
        ).json()["job_id"]
        for _ in range(4)
    ]
    worker = first.client(worker_token)
    held = _lease(worker)
    done = _lease(worker)
    assert held is not None
    assert done is not None
    worker.post(f"/v1/worker/tasks/{done['task_id']}/result", json=completed(done["lease_id"], 100))
    first.stop()

    second = start(db_url, admin_token=first.admin_token)
    try:
        user, worker = second.client(user_token), second.client(worker_token)
        r = worker.post(
            f"/v1/worker/tasks/{held['task_id']}/result", json=completed(held["lease_id"], 100)
        )
        assert r.status_code == 204, r.text  # the lease outlived the restart
        while (task := _lease(worker)) is not None:
            r = worker.post(
                f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
            )
            assert r.status_code == 204
        for job in jobs:
            data = wait_for(lambda job=job: user.get(f"/v1/jobs/{job}").json())
            assert data["statuses"] == ["completed"] * 3
    finally:
        second.stop()


def test_a_job_leased_as_it_is_stored_does_not_overtake_the_queue(live: Live) -> None:
    """``Store.submit(lease_by=...)`` (the embedded default runs a brief job where it was
    submitted) leases the new job's task in the same transaction only when no queued job
    of the target comes first by priority, then submission; a job left queued is leased
    by the workers in its turn."""
    user, worker = live.user(), live.worker()
    rt = live.server.config.app.state.runtime
    principal = rt.store.principal(worker.headers["Authorization"].split()[1])
    owner = rt.store.principal(user.headers["Authorization"].split()[1])

    def submit(priority: int, *, here: bool = False) -> tuple[str, str | None]:
        body = new_job() | {"priority": priority}
        if not here:
            r = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            assert r.status_code == 201, r.text
            return str(r.json()["job_id"]), None
        sent = rt.store.submit(
            owner,
            NewJob.model_validate(body),
            idempotency_key=uuid.uuid4().hex,
            request_hash="-",
            lease_by=principal,
        )
        assert sent.created
        job_id = str(json.loads(sent.response)["job_id"])
        return job_id, None if sent.task is None else str(json.loads(sent.task)["job_id"])

    def lease() -> str | None:
        raw = rt.store.lease(principal, ["aer_simulator"])
        return None if raw is None else str(json.loads(raw)["job_id"])

    first, _ = submit(0)
    second, _ = submit(0)
    third, leased = submit(0, here=True)
    assert leased is None  # two older jobs of the same priority come first: queued
    urgent, leased = submit(5, here=True)
    assert leased == urgent  # nothing queued before it: leased to the worker at once
    assert [lease(), lease(), lease(), lease()] == [first, second, third, None]
    statuses = [
        user.get(f"/v1/jobs/{job_id}").json()["statuses"] for job_id in (first, third, urgent)
    ]
    assert statuses == [["pending"], ["pending"], ["pending"]]


def test_a_lease_takes_only_the_new_jobs_tasks_that_lead_the_queue() -> None:
    """With a job id, a lease takes that job's tasks up to the first task of another job
    in the queue's order (the fair-share ranks make that all or none today; the rule is
    what keeps a job leased as it is stored from overtaking anyone, whatever the ranks)."""
    head = [SimpleNamespace(id=i, job_id=j) for i, j in ((4, "b"), (5, "b"), (2, "a"), (6, "b"))]
    assert leasing.leading(head, "b") == [4, 5]
    assert leasing.leading(head, "a") == []
    assert leasing.leading(head, None) == [4, 5, 2, 6]
    assert leasing.leading([], "b") == []


def test_each_task_of_a_lease_has_a_lease_id_of_its_own(live: Live) -> None:
    """A multi-task lease is one statement; the database draws each task's lease id."""
    user, worker = live.user(), live.worker()
    while (task := _lease(worker)) is not None:
        worker.post(
            f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
        )
    r = user.post("/v1/jobs", json=new_job(circuits=5), headers={"Idempotency-Key": "k"})
    assert r.status_code == 201, r.text
    r = worker.post(
        "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0, "max_tasks": 5}
    )
    assert r.status_code == 200, r.text
    leased = r.json()["tasks"]
    assert [t["circuit_index"] for t in leased] == [0, 1, 2, 3, 4]
    ids = [t["lease_id"] for t in leased]
    assert len(set(ids)) == 5
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
