"""The history benchmark's seeding stores finished jobs the service reads as its own.

``benchmarks.seeding`` copies finished jobs in bulk into the service's tables; the copies
must read like the jobs they copy (listed, older than any real job, completed with the
same counts), and the service must go on storing and leasing new jobs after them (on
PostgreSQL, the task ids the copies took must not collide with the next ones).
"""

from __future__ import annotations

from benchmarks.seeding import seed_finished_jobs

from qrelay.payload import JobPage

from .support import Live, completed
from .test_api import drain, lease, submit


def test_seeded_jobs_read_as_the_finished_job_they_copy(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    original = submit(user)
    task = lease(worker)
    assert task is not None
    done = worker.post(
        f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, task.shots)
    )
    assert done.status_code == 204, done.text
    seed_finished_jobs(live.database_url, 30)
    page = JobPage.model_validate_json(user.get("/v1/jobs", params={"limit": 100}).content)
    assert len(page.jobs) == 31
    assert page.jobs[0].job_id == original  # newest first: the copies are older
    assert {job.status.value for job in page.jobs} == {"completed"}
    assert all(job.counts == page.jobs[0].counts for job in page.jobs)
    fresh = submit(user)
    again = lease(worker)
    assert again is not None
    assert again.job_id == fresh
    assert again.task_id != task.task_id
