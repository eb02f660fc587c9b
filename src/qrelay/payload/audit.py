"""The audit log as admins read it: ``GET /v1/admin/audit``.

Each record says who acted (``actor_kind`` ``admin`` with the admin's user id, or
``system`` for the service itself), what they did (``action``, such as ``user.update``),
to what (``subject``, a user, worker or job id), when, and ``detail``: for a change,
``before`` and ``after`` hold the fields it changed. Tokens never appear in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from qrelay.payload._base import WireModel
from qrelay.payload.bounds import Printable
from qrelay.payload.jobs import Timestamp


class AuditQuery(WireModel):
    """Filters of ``GET /v1/admin/audit``; newest records first, a page at a time."""

    actor_id: Annotated[Printable, Field(max_length=32)] | None = None
    action: Annotated[Printable, Field(max_length=64)] | None = None
    subject: Annotated[Printable, Field(max_length=64)] | None = None
    after: Timestamp | None = None
    before: Timestamp | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[str, Field(max_length=20, pattern=r"^[0-9]+$")] | None = None


class AuditRecord(WireModel):
    """One admin (or system) action."""

    id: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    action: str
    subject: str | None
    detail: dict[str, Any]


class AuditPage(WireModel):
    """One page of the audit log; pass ``next_cursor`` back for older records."""

    records: list[AuditRecord]
    next_cursor: str | None = None
