"""Seed a service's database with a long history of finished jobs, for the history rows.

This is seeding, not load: the rows are copied in bulk with SQLAlchemy Core into the
service's own tables (:mod:`qrelay.service.db.tables`), not submitted through the HTTP
API, so 100,000 finished jobs take seconds instead of the half hour their submission
would. The copies are made from finished jobs the running service stored itself (the
benchmark's warm-up), so every column holds what the service writes: the same user, the
same target, a completed task with its readouts and counts, and its status transitions.
Each copy gets a new job id and idempotency key and is dated before its template, so it
sorts as older history.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, insert, select

from qrelay.payload import TERMINAL_CIRCUIT_STATES
from qrelay.service.db.tables import jobs, tasks, transitions

log = logging.getLogger("benchmarks.seeding")

#: Jobs copied per transaction.
CHUNK = 5_000

_TERMINAL = [s.value for s in TERMINAL_CIRCUIT_STATES]


def seed_finished_jobs(url: str, count: int) -> float:
    """Copy the finished jobs already in the database at ``url`` until ``count`` more
    are stored; the seconds it took. Raises ``LookupError`` with no finished job to copy."""
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            templates = conn.execute(
                select(jobs).where(jobs.c.status.in_(_TERMINAL)).order_by(jobs.c.submitted_at)
            ).all()
            if not templates:
                raise LookupError("no finished job to copy")
            ids = [t.id for t in templates]
            task_rows = conn.execute(select(tasks).where(tasks.c.job_id.in_(ids))).all()
            steps = conn.execute(
                select(transitions).where(transitions.c.task_id.in_([t.id for t in task_rows]))
            ).all()
        by_job: dict[str, list[Any]] = {i: [] for i in ids}
        for t in task_rows:
            by_job[t.job_id].append(t)
        by_task: dict[int, list[Any]] = {t.id: [] for t in task_rows}
        for s in steps:
            by_task[s.task_id].append(s)
        insert_tasks = insert(tasks).returning(tasks.c.id, sort_by_parameter_order=True)
        done = 0
        while done < count:
            size = min(CHUNK, count - done)
            new_jobs, new_tasks, task_steps = [], [], []
            for n in range(done, done + size):
                template = templates[n % len(templates)]
                back = timedelta(days=1, milliseconds=n)  # older than any real job
                job_id = uuid.uuid4().hex
                row = template._asdict()
                row |= {
                    "id": job_id,
                    "idempotency_key": "seed-" + job_id,
                    "submitted_at": template.submitted_at - back,
                    "updated_at": template.updated_at - back,
                }
                new_jobs.append(row)
                for t in by_job[template.id]:
                    trow = t._asdict()
                    del trow["id"]
                    trow |= {"job_id": job_id, "updated_at": t.updated_at - back}
                    new_tasks.append(trow)
                    task_steps.append([(s, back) for s in by_task[t.id]])
            with engine.begin() as conn:
                conn.execute(insert(jobs), new_jobs)
                task_ids = conn.execute(insert_tasks, new_tasks).scalars().all()
                new_steps = [
                    {
                        "task_id": task_id,
                        "from_status": s.from_status,
                        "to_status": s.to_status,
                        "at": s.at - back,
                        "message": s.message,
                    }
                    for task_id, pairs in zip(task_ids, task_steps, strict=True)
                    for s, back in pairs
                ]
                if new_steps:
                    conn.execute(insert(transitions), new_steps)
            done += size
            log.info("seeded %d of %d finished jobs", done, count)
    finally:
        engine.dispose()
    return time.perf_counter() - started
