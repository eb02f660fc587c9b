"""The job listing: its filters, its cursor, and a page held within a memory bound.

A page is built from the newest job down, a few jobs at a time, and ends at the first of
``limit`` jobs or :data:`MAX_PAGE_BYTES` of answer; ``next_cursor`` then points past its
last job. A page holds at least one job, so a listing always moves on. Jobs are listed
without readouts (those come from the job itself), so a page's size is its jobs' metadata,
statuses, counts and compiled circuits.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, and_, or_, select

from qrelay.payload import CircuitStatus, JobQuery
from qrelay.service.auth import UserPrincipal
from qrelay.service.db.tables import jobs, users
from qrelay.service.problems import ApiError

#: The answer size at which a page ends early (the job that crosses it is kept).
MAX_PAGE_BYTES: Final = 4 * 1024 * 1024
#: Jobs read from the database at a time while a page is built.
BATCH: Final = 16
#: Between tags in the ``tags`` column, and around them, so one tag is found with a
#: portable ``LIKE``. Tags hold no control characters (``qrelay.payload.bounds``), so no
#: tag holds it.
TAG_SEPARATOR: Final = "\x1f"

#: Renders a batch of job rows as ``JobData`` JSON, one per row, in order, each when
#: asked for (so a page that ends inside a batch does not render the rest).
Render = Callable[[Connection, Sequence[Any]], Iterator[bytes]]


def tags_text(tags: Sequence[str]) -> str:
    """The stored form of a job's tags."""
    return TAG_SEPARATOR + TAG_SEPARATOR.join(tags) + TAG_SEPARATOR if tags else ""


def tags_list(text: str) -> list[str]:
    """A job's tags from their stored form."""
    return [t for t in text.split(TAG_SEPARATOR) if t]


def job_filter(principal: UserPrincipal, query: JobQuery) -> Select[Any]:
    """The jobs ``principal`` may see that match ``query``, newest first, at most one more
    than ``query.limit`` (which tells whether there is a next page)."""
    stmt = select(jobs, users.c.email).join(users, users.c.id == jobs.c.user_id)
    if not principal.is_admin:
        stmt = stmt.where(jobs.c.user_id == principal.user_id)
    elif query.user_email is not None:
        stmt = stmt.where(users.c.email == query.user_email)
    if query.job_id:
        stmt = stmt.where(jobs.c.id.in_(query.job_id))
    if query.target_name:
        stmt = stmt.where(jobs.c.target == query.target_name)
    if query.status:
        stmt = stmt.where(jobs.c.status.in_([s.value for s in query.status]))
    if not query.status or CircuitStatus.DELETED not in query.status:
        stmt = stmt.where(jobs.c.deleted.is_(False))
    if query.tag:
        pattern = "%" + TAG_SEPARATOR + _escape_like(query.tag) + TAG_SEPARATOR + "%"
        stmt = stmt.where(jobs.c.tags.like(pattern, escape="\\"))
    if query.min_priority is not None:
        stmt = stmt.where(jobs.c.priority >= query.min_priority)
    if query.max_priority is not None:
        stmt = stmt.where(jobs.c.priority <= query.max_priority)
    if query.submitted_before is not None:
        stmt = stmt.where(jobs.c.submitted_at < query.submitted_before)
    if query.submitted_after is not None:
        stmt = stmt.where(jobs.c.submitted_at > query.submitted_after)
    if query.cursor:
        at, last_id = decode_cursor(query.cursor)
        stmt = stmt.where(
            or_(jobs.c.submitted_at < at, and_(jobs.c.submitted_at == at, jobs.c.id < last_id))
        )
    return stmt.order_by(jobs.c.submitted_at.desc(), jobs.c.id.desc()).limit(query.limit + 1)


def page(conn: Connection, stmt: Select[Any], limit: int, render: Render) -> bytes:
    """The ``JobPage`` JSON of the rows of ``stmt``: at most ``limit`` jobs, ended early
    once :data:`MAX_PAGE_BYTES` are reached, with the cursor of the next page if any.

    Rows are read :data:`BATCH` at a time and each job is rendered only once it is known
    to fit, so the memory a page takes follows the page, not the number of jobs listed.
    """
    parts: list[bytes] = []
    size = 0
    last: Any = None
    more = False
    result = conn.execution_options(yield_per=BATCH).execute(stmt)
    try:
        for batch in result.partitions():
            rendered = render(conn, batch)
            for row in batch:
                if len(parts) >= limit or (parts and size >= MAX_PAGE_BYTES):
                    more = True
                    break
                part = next(rendered)
                parts.append(part)
                size += len(part)
                last = row
            if more:
                break
    finally:
        result.close()
    cursor = encode_cursor(last.submitted_at, last.id) if more and last is not None else None
    return (
        b'{"jobs":[' + b",".join(parts) + b'],"next_cursor":' + json.dumps(cursor).encode() + b"}"
    )


def encode_cursor(at: datetime | None, job_id: str) -> str:
    """The cursor that lists the jobs after (older than) the job ``job_id`` made at ``at``."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # SQLite hands datetimes back naive; they are UTC
    raw = json.dumps([at.isoformat() if at else "", job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(submitted_at, job id)`` of a cursor; 422 naming ``cursor`` if it is not one
    this service gave."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, job_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        if not isinstance(job_id, str) or not job_id.isalnum() or len(job_id) > 64:
            raise ValueError(job_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ApiError(422, "validation_error", "cursor: not a cursor this service gave") from exc
    return when, job_id


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
