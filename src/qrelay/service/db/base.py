"""What every part of the store shares: its settings and engine, the time and id
helpers, and the writes that several operations make (a task's transition, a job's
derived status, an audit entry).

:class:`StoreBase` holds the state; each concern is a mixin over it (accounts, submission,
reads, cancelling, work), and :class:`~qrelay.service.db.repo.Store` composes them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    select,
)

from qrelay.payload import (
    CircuitStatus,
    job_status,
)
from qrelay.service.auth import UserPrincipal
from qrelay.service.catalog import Catalog
from qrelay.service.db import audit as audit_log
from qrelay.service.db.engine import rows, run
from qrelay.service.db.statements import statements
from qrelay.service.db.tables import deployment
from qrelay.service.events import StoreEvents
from qrelay.service.notify import Notifier
from qrelay.service.problems import ApiError


def utcnow() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def expired(at: datetime | None) -> bool:
    """Whether a token expiry time has passed (None: it never expires)."""
    when = aware(at)
    return when is not None and when <= utcnow()


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class StoreBase:
    """The state the store's operations share: the engine, the catalog, the notifier and
    the limits they enforce."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        notifier: Notifier,
        *,
        lease_seconds: float,
        max_attempts: int,
        worker_liveness_seconds: float,
        max_unfinished_jobs: int = 10_000,
        max_unfinished_circuits: int = 10_000,
        max_result_bytes: int | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.notifier = notifier
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.worker_liveness_seconds = worker_liveness_seconds
        self.max_unfinished_jobs = max_unfinished_jobs
        self.max_unfinished_circuits = max_unfinished_circuits
        #: The largest result body a worker may post (the service's body limit), or None.
        self.max_result_bytes = max_result_bytes
        self._seen: dict[str, float] = {}
        self._seen_lock = threading.Lock()
        self._pg = engine.dialect.name == "postgresql"
        self._sql = statements(self._pg)
        self._last_reclaim = 0.0
        self.reclaim_every = min(max(lease_seconds / 4, 0.05), 2.0)
        #: Told of each change (the metrics replace it; see :mod:`qrelay.service.events`).
        self.events = StoreEvents()
        self._deployment_id: str | None = None
        #: Per target, when its time per task was measured, and the measure (see
        #: :mod:`qrelay.service.db.queueing`).
        self._measured: dict[str, tuple[float, float | None]] = {}

    def _deployment(self, conn: Connection) -> str | None:
        """The deployment's random id (made with the database), read once and kept."""
        if self._deployment_id is None:
            found = conn.execute(select(deployment.c.id)).scalar()
            self._deployment_id = None if found is None else str(found)
        return self._deployment_id

    def _job_row(self, conn: Connection, principal: UserPrincipal, job_id: str) -> Any:
        """The job's row with its owner's email, if ``principal`` may see it; 404 if not."""
        if principal.is_admin:
            found = rows(conn, self._sql.job_row, {"jid": job_id})
        else:
            found = rows(conn, self._sql.own_job_row, {"jid": job_id, "uid": principal.user_id})
        if not found:
            raise ApiError(404, "not_found", f"job_id: no job {job_id!r}")
        return found[0]


def transition(  # noqa: PLR0917
    conn: Connection,
    task_id: int,
    old: CircuitStatus | None,
    new: CircuitStatus,
    at: datetime,
    message: str | None,
) -> None:
    """Record that task ``task_id`` went from ``old`` to ``new`` at ``at``."""
    run(conn, statements(False).insert_transition, transition_row(task_id, old, new, at, message))


def transition_row(
    task_id: int,
    old: CircuitStatus | None,
    new: CircuitStatus,
    at: datetime,
    message: str | None,
) -> dict[str, Any]:
    """The parameters of :func:`transition`'s statement: for recording several at once."""
    return {
        "task_id": task_id,
        "from_status": old.value if old else None,
        "to_status": new.value,
        "at": at,
        "message": message,
    }


def derived_status(conn: Connection, job_id: str, *, only: str | None = None) -> str:
    """The job's status derived from its circuits' (read from its tasks); ``only`` is the
    circuit's status of a one-circuit job, which needs no read."""
    if only is not None:
        return job_status([CircuitStatus(only)]).value
    found = rows(conn, statements(False).job_statuses, {"jid": job_id})
    return job_status([CircuitStatus(r.status) for r in found]).value


def refresh_job(conn: Connection, job_id: str, now: datetime, *, only: str | None = None) -> str:
    """Store the job's derived status (see :func:`derived_status`) and give it."""
    status = derived_status(conn, job_id, only=only)
    run(conn, statements(False).set_job_status, {"jid": job_id, "st": status, "now": now})
    return status


def record_audit(
    conn: Connection,
    actor: UserPrincipal | None,
    action: str,
    subject: str | None,
    detail: dict[str, Any],
) -> None:
    """Record an account or admin action (``actor`` None: the system's own)."""
    audit_log.record(conn, actor, action, subject, detail)
