"""Ending jobs from the user's side: cancelling them and deleting them once ended."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Connection,
    select,
    update,
)

from qrelay.payload import (
    CircuitStatus,
    JobCancellationResults,
)
from qrelay.service import domain
from qrelay.service.auth import UserPrincipal
from qrelay.service.db.base import StoreBase, record_audit, refresh_job, transition, utcnow
from qrelay.service.db.engine import write
from qrelay.service.db.statements import TERMINAL
from qrelay.service.db.tables import jobs, tasks
from qrelay.service.problems import ApiError

S = CircuitStatus


class CancelStore(StoreBase):
    """The store's cancel and delete."""

    def cancel(self, principal: UserPrincipal, job_ids: Sequence[str]) -> JobCancellationResults:
        succeeded: list[str] = []
        terminal: list[str] = []
        missing: list[str] = []
        now = utcnow()
        touched: list[str] = []
        ended: list[tuple[str, str]] = []
        with write(self.engine) as conn:
            for job_id in dict.fromkeys(job_ids):
                try:
                    job_row = self._job_row(conn, principal, job_id)
                except ApiError:
                    missing.append(job_id)
                    continue
                if job_row.user_id != principal.user_id:  # an admin acting on another's job
                    record_audit(conn, principal, "job.cancel", job_id, {"owner": job_row.user_id})
                trows = conn.execute(
                    select(tasks.c.id, tasks.c.status).where(tasks.c.job_id == job_id)
                ).all()
                live = [t for t in trows if t.status not in TERMINAL]
                if not live:
                    terminal.append(job_id)
                    continue
                cancelled_any = False
                for t in live:
                    cancelled_any |= self._cancel_task(conn, t.id, CircuitStatus(t.status), now)
                if not cancelled_any:  # every live circuit ended meanwhile
                    terminal.append(job_id)
                    continue
                ended.append((job_row.target, refresh_job(conn, job_id, now)))
                succeeded.append(job_id)
                touched.append(job_id)
        for target, status in ended:
            self.events.job_ended(target, status)
        self.notifier.notify(*(f"job:{j}" for j in touched))  # counted first, as results
        return JobCancellationResults(
            succeeded=succeeded,
            already_terminal=terminal,
            not_found=missing,
            message=(
                f"{len(succeeded)} cancelled, {len(terminal)} already ended, "
                f"{len(missing)} not found"
            ),
        )

    @staticmethod
    def _cancel_task(conn: Connection, task_id: int, old: CircuitStatus, now: datetime) -> bool:
        """Cancel one task from the status it was read in; ``False`` if it ended first.

        The update is conditional on that status. On PostgreSQL a lease or a result may
        commit between the read and the update (READ COMMITTED); then nothing matches,
        the task is read again and cancelled from its new status, so a leased task gets
        ``cancel_requested`` and no transition is recorded that did not happen.
        """
        for _ in range(5):
            changed = conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.status == old.value)
                .values(
                    status=S.CANCELLED.value,
                    status_message="cancelled by the user",
                    cancel_requested=old in domain.ACTIVE_STATES,
                    updated_at=now,
                )
            ).rowcount
            if changed:
                transition(conn, task_id, old, S.CANCELLED, now, "cancelled by the user")
                return True
            current = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id)).scalar_one()
            old = CircuitStatus(current)
            if current in TERMINAL:
                return False
        raise ApiError(
            503, "unavailable", "the job changed while being cancelled; try again", retry_after=1
        )

    def delete(self, principal: UserPrincipal, job_id: str) -> None:
        now = utcnow()
        with write(self.engine) as conn:
            row = self._job_row(conn, principal, job_id)
            if row.deleted:
                return
            if row.user_id != principal.user_id:  # an admin acting on another's job
                record_audit(conn, principal, "job.delete", job_id, {"owner": row.user_id})
            trows = conn.execute(
                select(tasks.c.id, tasks.c.status).where(tasks.c.job_id == job_id)
            ).all()
            if any(t.status not in TERMINAL for t in trows):
                raise ApiError(
                    409, "conflict", f"job {job_id!r} has not ended; cancel it before deleting it"
                )
            for t in trows:
                conn.execute(
                    update(tasks)
                    .where(tasks.c.id == t.id)
                    .values(status=S.DELETED.value, updated_at=now)
                )
                transition(conn, t.id, CircuitStatus(t.status), S.DELETED, now, None)
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(deleted=True, status=S.DELETED.value, updated_at=now)
            )
        self.notifier.notify(f"job:{job_id}")
