"""Concurrency: many workers lease at once, and parallel duplicate submissions make one job."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, func, select

from qrelay.service.db.tables import jobs, transitions

from .support import Live, completed, new_job


def test_eight_workers_lease_500_tasks_each_exactly_once(live: Live) -> None:
    user = live.user()
    job_ids = []
    for _ in range(10):
        r = user.post(
            "/v1/jobs",
            json=new_job(circuits=50, shots=4),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        job_ids.append(r.json()["job_id"])
    leased: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def work() -> None:
        worker = live.worker()
        barrier.wait()
        for _ in range(1000):
            r = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0})
            if r.status_code == 204:
                return
            assert r.status_code == 200, r.text
            task = r.json()
            with lock:
                leased.append(task["task_id"])
            done = worker.post(
                f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 4)
            )
            assert done.status_code == 204, done.text

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(work) for _ in range(8)]:
            future.result()
    counts = Counter(leased)
    assert len(counts) == 500
    assert set(counts.values()) == {1}
    for job_id in job_ids:
        assert user.get(f"/v1/jobs/{job_id}").json()["statuses"] == ["completed"] * 50
    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        completions = conn.execute(
            select(transitions.c.task_id, func.count())
            .where(transitions.c.to_status == "completed")
            .group_by(transitions.c.task_id)
        ).all()
    engine.dispose()
    ours = {int(t) for t in leased}
    assert {t for t, n in completions if t in ours} == ours
    assert all(n == 1 for t, n in completions if t in ours)


def test_twenty_parallel_posts_with_one_key_make_one_job(live: Live) -> None:
    user = live.user()
    me = user.get("/v1/me").json()["user_id"]
    key = uuid.uuid4().hex
    body = new_job(circuits=3)
    barrier = threading.Barrier(20)

    def post(_: int) -> tuple[int, str | None]:
        client = live.client(user.headers["Authorization"].split()[1])
        barrier.wait()
        r = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
        return r.status_code, r.json().get("job_id")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    codes = Counter(code for code, _ in answers)
    assert set(codes) <= {200, 201, 409}
    assert codes[201] == 1
    (created,) = {job for code, job in answers if code in (200, 201)}
    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(jobs.c.user_id == me, jobs.c.idempotency_key == key)
        ).scalar()
    engine.dispose()
    assert stored == 1
    replay = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 200
    assert replay.json()["job_id"] == created
    changed = user.post("/v1/jobs", json=new_job(circuits=2), headers={"Idempotency-Key": key})
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_mismatch"
