"""Where a waiting job stands: its queue position, and when it should start and finish.

The estimate comes from what the target has measured: the mean time from lease to
result of its most recent completed tasks, shared among the live workers that serve it.
A job's first queued task starts after the tasks ahead of it; its last finishes after
its own. With nothing measured yet there is a position but no times. A maintenance
window of the target (:mod:`qrelay.service.db.maintenance`) moves the start past its end,
and the note says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, select

from qrelay.service.db.base import aware, utcnow
from qrelay.service.db.calibrations import CalibrationStore
from qrelay.service.db.engine import rows
from qrelay.service.db.maintenance import MaintenanceStore
from qrelay.service.db.tables import QUEUED, workers

#: Seconds a target's measured time per task is reused before it is measured again.
MEASURE_TTL: Final = 5.0


@dataclass(frozen=True)
class QueueEstimate:
    """A waiting job's place: tasks ahead of it, and the times (None: unknown)."""

    position: int
    start: datetime | None = None
    finish: datetime | None = None
    note: str | None = None


class QueueStore(CalibrationStore, MaintenanceStore):
    """The store's queue estimates."""

    def seconds_per_task(self, conn: Connection, target: str) -> float | None:
        """The mean seconds from lease to result of ``target``'s latest completed tasks."""
        found = self._measured.get(target)
        now = time.monotonic()
        if found is not None and now - found[0] < MEASURE_TTL:
            return found[1]
        spans = [
            (aware(r.updated_at) - aware(r.leased_at)).total_seconds()  # type: ignore[operator]
            for r in rows(conn, self._sql.measured, {"target": target})
        ]
        spans = [s for s in spans if s >= 0]
        measured = sum(spans) / len(spans) if spans else None
        if measured is not None:  # a first measure is used as soon as there is one
            self._measured[target] = (now, measured)
        return measured

    def serving_workers(self, conn: Connection, target: str) -> int:
        """How many live workers serve ``target`` (at least 1, the one that will come)."""
        cutoff = utcnow() - timedelta(seconds=self.worker_liveness_seconds)
        found = conn.execute(
            select(workers.c.targets).where(
                workers.c.active.is_(True), workers.c.last_seen_at >= cutoff
            )
        ).all()
        return max(1, sum(1 for (served,) in found if target in served))

    def queue_estimate(
        self, conn: Connection, job: Any, trows: Sequence[Any]
    ) -> QueueEstimate | None:
        """Where ``job`` (its row and task rows) stands, if it has queued tasks."""
        queued = [t for t in trows if t.status in QUEUED]
        if not queued:
            return None
        head = min(queued, key=lambda t: (t.share, t.id))
        params = {"target": job.target, "prio": job.priority, "share": head.share, "first": head.id}
        ahead = int(rows(conn, self._sql.ahead, params)[0][0] or 0)
        now = utcnow()
        per_task = self.seconds_per_task(conn, job.target)
        if per_task is None:
            start, note = self.after_maintenance(job.target, now)
            return QueueEstimate(ahead, start=None if note is None else start, note=note)
        lanes = self.serving_workers(conn, job.target)
        start = now + timedelta(seconds=ahead * per_task / lanes)
        start, note = self.after_maintenance(job.target, start)
        finish = start + timedelta(seconds=-(-len(queued) // lanes) * per_task)
        return QueueEstimate(ahead, start=start, finish=finish, note=note)

    def after_maintenance(self, target: str, start: datetime) -> tuple[datetime, str | None]:
        """``start`` moved past every maintenance window of ``target`` it falls in, and
        a note naming the last such window (``None``: none held it)."""
        note = None
        for window in self.windows([target]).get(target, []):
            if window.holds(start):
                start, note = window.ends_at, window.describe()
        return start, note
