"""Reads: the targets' live status and queues, a job, its results, and the job listing.

A listing's page is built by :mod:`~qrelay.service.db.listing`; this module renders the
jobs of each batch it reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    JobQuery,
    JobTimeline,
    JobTransition,
    TargetInfo,
    TargetStatus,
)
from qrelay.payload.jobs import MAX_TIMELINE
from qrelay.service.auth import UserPrincipal
from qrelay.service.db import listing
from qrelay.service.db.base import aware, utcnow
from qrelay.service.db.engine import read, rows
from qrelay.service.db.queueing import QueueStore
from qrelay.service.db.shaping import job_json, readouts_json
from qrelay.service.db.statements import LOOK_TASKS_FROM, TASK_LIGHT
from qrelay.service.db.tables import tasks, transitions, workers
from qrelay.service.problems import ApiError


class ReadStore(QueueStore):
    """The store's reads of targets and jobs."""

    def live_targets(self) -> set[str]:
        """Targets served by a worker seen within the liveness window."""
        cutoff = utcnow() - timedelta(seconds=self.worker_liveness_seconds)
        with read(self.engine) as conn:
            rows = conn.execute(
                select(workers.c.targets).where(
                    workers.c.active.is_(True), workers.c.last_seen_at >= cutoff
                )
            ).all()
        return {t for (targets,) in rows for t in targets}

    def queue_depths(self, names: Iterable[str] | None = None) -> dict[str, int]:
        stmt = self._sql.queue_depths
        if names is not None:
            stmt = stmt.where(tasks.c.target.in_(list(names)))
        with read(self.engine) as conn:
            return {t: int(n) for t, n in conn.execute(stmt)}

    def targets_live(self, names: Sequence[str] | None = None) -> list[TargetInfo]:
        """Catalog entries with their live status, queue depth and current calibration."""
        live = self.live_targets()
        depths = self.queue_depths(names)
        held = self.windows(names)
        now = utcnow()
        out = []
        for info in self.catalog.all():
            if names is not None and info.name not in names:
                continue
            status = info.status
            windows = held.get(info.name, [])
            if status not in (TargetStatus.RETIRED, TargetStatus.DEV_ONLY):
                status = TargetStatus.AVAILABLE if info.name in live else TargetStatus.OFFLINE
                if any(w.holds(now) for w in windows):
                    status = TargetStatus.MAINTENANCE
            out.append(
                info.model_copy(
                    update={
                        "status": status,
                        "queue_depth": depths.get(info.name, 0),
                        "maintenance": windows,
                    }
                )
            )
        return self.calibrated(out)

    def get_job(
        self,
        principal: UserPrincipal,
        job_id: str,
        *,
        include_readout: bool,
        only_terminal: bool = False,
    ) -> tuple[bytes | None, bool]:
        """A job's ``JobData`` as JSON, and whether it is terminal.

        With ``only_terminal`` a job still going gives ``(None, False)`` after one small
        read: a long poll that will wait on does not pay for the answer it throws away.
        """
        with read(self.engine) as conn:
            if only_terminal:
                return self._look(conn, principal, job_id, heavy=include_readout)
            row = self._job_row(conn, principal, job_id)
            terminal = CircuitStatus(row.status) in TERMINAL_CIRCUIT_STATES
            heavy = include_readout and terminal
            stmt = self._sql.job_tasks_heavy if heavy else self._sql.job_tasks
            trows = rows(conn, stmt, {"jid": job_id})
            queue = None if terminal else self.queue_estimate(conn, row, trows)
        return job_json(row, trows, heavy=heavy, queue=queue), terminal

    def _look(
        self, conn: Connection, principal: UserPrincipal, job_id: str, *, heavy: bool
    ) -> tuple[bytes | None, bool]:
        """:meth:`get_job` with ``only_terminal``, in one statement: the job's tasks are
        read with it only if it has ended (404 as :meth:`_job_row` answers it)."""
        own = not principal.is_admin
        params = {"jid": job_id, "uid": principal.user_id} if own else {"jid": job_id}
        found = rows(conn, self._sql.look[own, heavy], params)
        if not found:
            raise ApiError(404, "not_found", f"job_id: no job {job_id!r}")
        job = found[0]
        if CircuitStatus(job.status) not in TERMINAL_CIRCUIT_STATES:
            return None, False
        task = self._sql.look_task[heavy]
        trows = [task(*r[LOOK_TASKS_FROM:]) for r in found if r[LOOK_TASKS_FROM] is not None]
        return job_json(job, trows, heavy=heavy), True

    def job_timeline(self, principal: UserPrincipal, job_id: str) -> JobTimeline:
        """The job's status changes, oldest first (404 if ``principal`` may not see it)."""
        stmt = (
            select(
                tasks.c.circuit_index,
                transitions.c.from_status,
                transitions.c.to_status,
                transitions.c.at,
                transitions.c.message,
            )
            .join(tasks, tasks.c.id == transitions.c.task_id)
            .where(tasks.c.job_id == job_id)
            .order_by(transitions.c.at, transitions.c.id)
            .limit(MAX_TIMELINE + 1)
        )
        with read(self.engine) as conn:
            self._job_row(conn, principal, job_id)
            found = conn.execute(stmt).all()
        steps = [
            JobTransition(
                circuit_index=row.circuit_index,
                from_status=row.from_status,
                to_status=row.to_status,
                at=aware(row.at),
                message=row.message,
            )
            for row in found[:MAX_TIMELINE]
        ]
        return JobTimeline(transitions=steps, truncated=len(found) > MAX_TIMELINE)

    def job_circuits(self, principal: UserPrincipal, job_id: str, first: int) -> list[Circuit]:
        """The job's first ``first`` circuits as submitted (404 if ``principal`` may not
        see it): a summary's worth, without the results a full read carries."""
        stmt = (
            select(tasks.c.circuit)
            .where(tasks.c.job_id == job_id)
            .order_by(tasks.c.circuit_index)
            .limit(first)
        )
        with read(self.engine) as conn:
            self._job_row(conn, principal, job_id)
            found = conn.execute(stmt).scalars().all()
        return [Circuit.model_validate_json(text) for text in found]

    def list_jobs(self, principal: UserPrincipal, query: JobQuery) -> bytes:
        """One ``JobPage`` of the jobs ``principal`` may see (see :mod:`.listing`)."""
        stmt = listing.job_filter(principal, query)
        with read(self.engine, server_cursor=True) as conn:
            return listing.page(conn, stmt, query.limit, _render_listed)

    def job_results(self, principal: UserPrincipal, job_id: str) -> bytes:
        with read(self.engine) as conn:
            self._job_row(conn, principal, job_id)
            trows = conn.execute(
                select(tasks.c.status, tasks.c.circuit, tasks.c.readouts)
                .where(tasks.c.job_id == job_id)
                .order_by(tasks.c.circuit_index)
            ).all()
        statuses = json.dumps([t.status for t in trows])
        circuits = "[" + ",".join(t.circuit for t in trows) + "]"
        readouts = "[" + ",".join(readouts_json(t.readouts) for t in trows) + "]"
        return (
            f'{{"job_id":{json.dumps(job_id)},"statuses":{statuses},'
            f'"circuits":{circuits},"readouts":{readouts}}}'
        ).encode()


def _render_listed(conn: Connection, batch: Sequence[Any]) -> Iterator[bytes]:
    """The listed ``JobData`` of each job of ``batch``: its tasks read in one query."""
    by_job: dict[str, list[Any]] = {r.id: [] for r in batch}
    if by_job:
        trows = conn.execute(
            select(*TASK_LIGHT, tasks.c.compiled_circuit)
            .where(tasks.c.job_id.in_(list(by_job)))
            .order_by(tasks.c.job_id, tasks.c.circuit_index)
        ).all()
        for t in trows:
            by_job[t.job_id].append(t)
    for r in batch:
        yield job_json(r, by_job[r.id], heavy=False)
