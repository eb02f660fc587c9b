"""The tables of the service, as SQLAlchemy Core definitions.

Core (not the ORM) keeps the hot paths, submission and leasing, to a few plain statements.
The Alembic migrations in ``qrelay/service/migrations`` must produce exactly these tables;
a test compares them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from qrelay.payload import CircuitStatus
from qrelay.service import domain

#: The statuses the partial indexes cover, sorted: queries name them in this same order.
QUEUED: Final = sorted(s.value for s in domain.QUEUED_STATES)
ACTIVE: Final = sorted(s.value for s in domain.ACTIVE_STATES)
UNFINISHED: Final = sorted(s.value for s in domain.UNFINISHED_STATES)
COMPLETED: Final = [CircuitStatus.COMPLETED.value]


def one_of(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """``column IN ('a', 'b', ...)``: the values (status names, never user input) written
    into the SQL as constants, in sorted order.

    Constants, not parameters, for two reasons. A partial index (below) serves a query
    only when the database can see that the query's condition implies the index's: SQLite
    needs the very same ``IN`` term, PostgreSQL needs the values at planning time (a
    prepared statement's generic plan does not have them). And a prebuilt statement then
    runs without SQLAlchemy expanding a list on every call.
    """
    condition: ColumnElement[bool] = column.in_([literal_column(f"'{v}'") for v in sorted(values)])
    return condition


def in_bound(column: Any, name: str, postgres: bool) -> ColumnElement[bool]:
    """``column`` is one of the list bound as parameter ``name``: ``= ANY(:name)`` on
    PostgreSQL, ``IN (SELECT value FROM json_each(:name))`` on SQLite. One parameter
    whatever the list's length, so the statement keeps one shape and SQLAlchemy's compiled
    cache one entry; the value is :func:`bound_list`'s."""
    condition: ColumnElement[bool]
    if postgres:
        condition = column == any_(bindparam(name, type_=ARRAY(column.type)))
    else:
        each = func.json_each(bindparam(name)).table_valued("value")
        condition = column.in_(select(each.c.value))
    return condition


def bound_list(postgres: bool, values: Iterable[Any]) -> Any:
    """The value of an :func:`in_bound` parameter: a list for PostgreSQL's array, JSON text
    for SQLite's ``json_each``."""
    listed = list(values)
    return listed if postgres else json.dumps(listed)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_TS = DateTime(timezone=True)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    #: Money is whole micro-units (``qrelay.service.money``), so it adds up exactly.
    Column("balance_micros", BigInteger, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, default=True),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("created_at", _TS, nullable=False),
    #: When the token stops working; NULL: never.
    Column("token_expires_at", _TS, nullable=True),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("targets", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", _TS, nullable=False),
    Column("last_seen_at", _TS, nullable=True),
    #: When the token stops working; NULL: never.
    Column("token_expires_at", _TS, nullable=True),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False),
    Column("job_type", String(20), nullable=False),
    Column("target", String(128), nullable=False),
    Column("circuit_type", String(20), nullable=False),
    Column("num_circuits", Integer, nullable=False),
    Column("shots", Integer, nullable=False),
    Column("sim_method", String(20), nullable=True),
    Column("priority", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    # Tags joined as "\x1fa\x1fb\x1f", so one tag is found with a portable LIKE (tags hold
    # no control characters: qrelay.payload.bounds).
    Column("tags", Text, nullable=False),
    Column("job_metadata", JSON, nullable=False),
    Column("verbatim", Boolean, nullable=False),
    Column("memory", Boolean, nullable=False),
    Column("meas_level", Integer, nullable=False),
    Column("options", JSON, nullable=False),
    Column("cost_micros", BigInteger, nullable=False, server_default="0"),
    #: The cost estimated at submission: until the job ends, what it may still charge
    #: (``estimate - cost``) is held back from the user's balance.
    Column("estimate_micros", BigInteger, nullable=False, server_default="0"),
    Column("charged", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("submitted_at", _TS, nullable=False),
    Column("updated_at", _TS, nullable=False),
    #: The W3C traceparent of the submission, when it was traced: the job's tasks join
    #: that trace (``qrelay.runtime.tracing``).
    Column("traceparent", String(64), nullable=True),
    UniqueConstraint("user_id", "idempotency_key"),
    Index(None, "user_id", "submitted_at"),
    Index(None, "user_id", "status"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False),
    Column("circuit_index", Integer, nullable=False),
    Column("target", String(128), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("queue_status", String(32), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("circuit", Text, nullable=False),
    Column("bindings", Text, nullable=True),
    Column("num_rows", Integer, nullable=False),
    Column("shots", Integer, nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_id", String(32), nullable=True),
    Column("lease_expires_at", _TS, nullable=True),
    Column("worker_id", String(32), nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("execution_id", Text, nullable=True),
    Column("successful_shots", Integer, nullable=True),
    Column("counts", JSON, nullable=True),
    Column("readouts", LargeBinary, nullable=True),
    Column("compiled_circuit", Text, nullable=True),
    Column("initial_l2p", JSON, nullable=True),
    Column("final_l2p", JSON, nullable=True),
    Column("updated_at", _TS, nullable=False),
    #: The task's turn among its target's queued tasks of the same priority: leases take
    #: the lowest first, so users' tasks interleave (see ``qrelay.service.db.fairness``).
    Column("share", Integer, nullable=False, server_default="0"),
    #: The calibration the result ran under (``qrelay.payload.calibration``); NULL for a
    #: target without one, or before the result.
    Column("calibration_id", String(64), nullable=True),
    UniqueConstraint("job_id", "circuit_index"),
)


def _partial(name: str, columns: list[Any], status: Any, values: list[str]) -> Index:
    """An index of the rows whose ``status`` is one of ``values`` only, on both databases."""
    where = one_of(status, values)
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


# Partial indexes: finished jobs and tasks are not in them, so the queue, the leases and a
# user's unfinished jobs are found among the few rows still going, however long the
# history (a test checks that the hot statements use them).
#: The queue: leasing, fair-share ranks, queue positions and depths.
_partial(
    "ix_tasks_queued",
    [tasks.c.target, tasks.c.priority, tasks.c.share, tasks.c.id],
    tasks.c.status,
    QUEUED,
)
#: Leased tasks by expiry: the reclaim of expired leases.
_partial("ix_tasks_leased", [tasks.c.lease_expires_at], tasks.c.status, ACTIVE)
#: A target's completed tasks, newest first: its measured time per task.
_partial("ix_tasks_completed", [tasks.c.target, tasks.c.id], tasks.c.status, COMPLETED)
#: A user's unfinished jobs: a submission's room check.
_partial("ix_jobs_unfinished", [jobs.c.user_id], jobs.c.status, UNFINISHED)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("tasks.id"), nullable=False, index=True),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=False),
    Column("at", _TS, nullable=False),
    Column("message", Text, nullable=True),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", _TS, nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("subject", String(64), nullable=True),
    Column("detail", JSON, nullable=False),
)

#: Every calibration snapshot of every target, oldest first by ``id``; a target's
#: newest row is its current calibration (``qrelay.service.db.calibrations``).
calibrations = Table(
    "calibrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(128), nullable=False),
    Column("calibration_id", String(64), nullable=False),
    Column("taken_at", _TS, nullable=False),
    Column("source", String(20), nullable=False),
    Column("snapshot", JSON, nullable=False),
    UniqueConstraint("target", "calibration_id"),
    Index(None, "target", "taken_at"),
)

#: Maintenance windows: while one is open (and not cancelled) no worker leases the
#: target's tasks (``qrelay.service.db.maintenance``).
maintenance = Table(
    "maintenance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(128), nullable=False),
    Column("starts_at", _TS, nullable=False),
    Column("ends_at", _TS, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(32), nullable=True),
    Column("created_at", _TS, nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Index(None, "ends_at"),
)

#: One row: the deployment's random id (see migration 0003). Device drivers put it in the
#: idempotency keys they submit under, so deployments sharing a device never collide.
deployment = Table(
    "deployment",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", _TS, nullable=False),
)
