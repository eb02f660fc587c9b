"""The audit table: recording an admin's action, and reading the log back.

:func:`record` is the one way to write a record, inside the transaction of the change it
describes, so the change and its record commit together. Call it from any store method
that acts for an admin (``record(conn, actor, "user.token.revoke", user_id)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from qrelay.payload.audit import AuditPage, AuditQuery, AuditRecord
from qrelay.service.auth import UserPrincipal
from qrelay.service.db.engine import read
from qrelay.service.db.tables import audit


def record(
    conn: Connection,
    actor: UserPrincipal | None,
    action: str,
    subject: str | None,
    detail: Mapping[str, Any] | None = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Record ``actor`` (``None``: the service itself) doing ``action`` to ``subject``.

    ``before`` and ``after`` are the changed fields' values either side of the change;
    ``detail`` any other facts. Never pass a token or its hash.
    """
    body: dict[str, Any] = dict(detail or {})
    if before is not None:
        body["before"] = dict(before)
    if after is not None:
        body["after"] = dict(after)
    conn.execute(
        insert(audit).values(
            at=datetime.now(UTC),
            actor_kind="admin" if actor is not None else "system",
            actor_id=actor.user_id if actor is not None else None,
            action=action,
            subject=subject,
            detail=body,
        )
    )


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``before`` and ``after`` of the fields of ``new`` whose value differs from ``old``'s."""
    keys = [k for k in new if old.get(k) != new[k]]
    return {"before": {k: old.get(k) for k in keys}, "after": {k: new[k] for k in keys}}


def read_page(engine: Engine, query: AuditQuery) -> AuditPage:
    """A page of the log, newest first, filtered as ``query`` says."""
    stmt = select(audit).order_by(audit.c.id.desc()).limit(query.limit + 1)
    if query.actor_id is not None:
        stmt = stmt.where(audit.c.actor_id == query.actor_id)
    if query.action is not None:
        stmt = stmt.where(audit.c.action == query.action)
    if query.subject is not None:
        stmt = stmt.where(audit.c.subject == query.subject)
    if query.after is not None:
        stmt = stmt.where(audit.c.at >= query.after)
    if query.before is not None:
        stmt = stmt.where(audit.c.at < query.before)
    if query.cursor is not None:
        stmt = stmt.where(audit.c.id < int(query.cursor))
    with read(engine) as conn:
        found = conn.execute(stmt).all()
    more = len(found) > query.limit
    found = found[: query.limit]
    records = [
        AuditRecord(
            id=r.id,
            at=r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
            actor_kind=r.actor_kind,
            actor_id=r.actor_id,
            action=r.action,
            subject=r.subject,
            detail=r.detail,
        )
        for r in found
    ]
    return AuditPage(records=records, next_cursor=str(records[-1].id) if more else None)
