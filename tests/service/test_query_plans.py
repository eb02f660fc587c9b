"""The hot statements are served by indexes, and the queue's by the partial ones.

Each statement is explained on the migrated schema: ``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` on PostgreSQL with sequential scans disabled, so the plan names an index
whenever one can serve the statement, whatever the size of the test's tables. The
lease path, the fair-share rank, queue positions and depths must use the partial index
of queued tasks, and the reclaim of expired leases the partial index of leased ones: the
finished history is not in them. No hot statement may read a whole ``jobs`` or ``tasks``
table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from qrelay.payload import JobQuery
from qrelay.service import bootstrap
from qrelay.service.auth import Role, UserPrincipal
from qrelay.service.db import listing
from qrelay.service.db.engine import is_sqlite, make_engine, rows
from qrelay.service.db.statements import Statements, statements
from qrelay.service.db.tables import bound_list

from .support import stored_history

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
USER = UserPrincipal(user_id="u" * 32, email="u@example.org", role=Role.USER)

#: name: (what its plan must name: an index, or alternatives (one per database), or None
#: for any index; the statement; its parameters).
Case = tuple[
    str | tuple[str, ...] | None, Callable[[Statements], Any], Callable[[bool], Mapping[str, Any]]
]


def _head(postgres: bool) -> dict[str, Any]:
    return {"targets": bound_list(postgres, ["aer_simulator", "cirq_simulator"]), "n": 4}


def _lease(postgres: bool, ids: list[int] | None = None) -> dict[str, Any]:
    tids = ids or [1, 2]
    return {"tids": bound_list(postgres, tids), "exp": NOW, "wid": "w", "now": NOW}


def _jids(postgres: bool) -> dict[str, Any]:
    return {"jids": bound_list(postgres, ["j", "k"])}


HOT: dict[str, Case] = {
    "head of the queue": ("ix_tasks_queued", lambda s: s.queue_head, _head),
    "lease of the tasks taken": (None, lambda s: s.lease_tasks, _lease),
    "fair-share rank and idempotency key of a submission": (
        "ix_tasks_queued",
        lambda s: s.submit_reads,
        lambda _: {
            "target": "t",
            "prio": 0,
            "uid": USER.user_id,
            "key": "k",
        },
    ),
    "a new job's transitions": (
        None,
        lambda s: s.queue_transitions,
        lambda _: {"jid": "j", "at": NOW},
    ),
    "queue position": (
        "ix_tasks_queued",
        lambda s: s.ahead,
        lambda _: {"target": "t", "prio": 0, "share": 3, "first": 7},
    ),
    "queue depths": ("ix_tasks_queued", lambda s: s.queue_depths, lambda _: {}),
    "expired leases": ("ix_tasks_leased", lambda s: s.expired, lambda _: {"now": NOW}),
    "measured time per task": (None, lambda s: s.measured, lambda _: {"target": "t"}),
    # the user's unfinished jobs only: the partial index (PostgreSQL), or the user and
    # status index searched on both columns (SQLite); not every job of the user
    "room check of a submission": (
        ("ix_jobs_unfinished", "ix_jobs_user_id_status (user_id=? AND status=?)"),
        lambda s: s.unfinished,
        lambda _: {"uid": USER.user_id, "jid": "j"},
    ),
    "job status (long poll)": (
        None,
        lambda s: s.own_job_row,
        lambda _: {"jid": "j", "uid": USER.user_id},
    ),
    "job's tasks": (None, lambda s: s.job_tasks, lambda _: {"jid": "j"}),
    "long poll's look": (
        None,
        lambda s: s.look[True, True],
        lambda _: {"jid": "j", "uid": USER.user_id},
    ),
    "an admin's long poll's look": (None, lambda s: s.look[False, False], lambda _: {"jid": "j"}),
    "job's statuses": (None, lambda s: s.job_statuses, lambda _: {"jid": "j"}),
    "jobs a batch of results ended": (None, lambda s: s.job_rows_of, _jids),
    "their tasks": (None, lambda s: s.jobs_tasks_heavy, _jids),
    "listing": (None, lambda s: listing.job_filter(USER, JobQuery()), lambda _: {}),
}


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    bootstrap.ensure_admin(db_url, "tok-" + uuid.uuid4().hex)  # migrates the database
    made = make_engine(db_url, pool_size=1)
    yield made
    made.dispose()


def _plan(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> list[str]:
    """The plan's lines for ``stmt`` with ``params``; nothing is executed."""
    compiled = stmt.compile(dialect=conn.dialect)
    values = compiled.construct_params(dict(params))
    sql = str(compiled)
    if conn.dialect.name == "sqlite":
        args = tuple(
            v.isoformat(" ") if isinstance(v, datetime) else v
            for v in (values[k] for k in compiled.positiontup)
        )
        return [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, args)]
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return [str(r[0]) for r in conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + sql, values)]


def _full_scans(lines: list[str], sqlite: bool) -> list[str]:
    """The lines of a plan that read a whole ``jobs`` or ``tasks`` table."""
    if sqlite:
        return [
            line
            for line in lines
            if line.split()[:2] in (["SCAN", "jobs"], ["SCAN", "tasks"]) and "INDEX" not in line
        ]
    return [line for line in lines if "Seq Scan on jobs" in line or "Seq Scan on tasks" in line]


@pytest.mark.parametrize("name", list(HOT))
def test_hot_statement_uses_an_index(engine: Engine, name: str) -> None:
    index, build, params = HOT[name]
    postgres = not is_sqlite(engine)
    with engine.connect() as conn, conn.begin() as tx:
        lines = _plan(conn, build(statements(postgres)), params(postgres))
        tx.rollback()
    plan = "\n".join(lines)
    assert not _full_scans(lines, is_sqlite(engine)), f"{name} reads a whole table:\n{plan}"
    assert "INDEX" in plan.upper(), f"{name} uses no index:\n{plan}"
    if index is not None:
        wanted = (index,) if isinstance(index, str) else index
        assert any(w in plan for w in wanted), f"{name} does not use {index}:\n{plan}"


def _steps(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> int:
    """The instructions SQLite's virtual machine runs for ``stmt`` (counted by its
    progress handler): the work a statement does, whatever the machine's speed."""
    driver: Any = conn.connection.driver_connection
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    driver.set_progress_handler(tick, 1)
    try:
        rows(conn, stmt, params)
    finally:
        driver.set_progress_handler(None, 1)
    return count


def test_a_lease_and_a_look_do_no_more_work_as_the_history_grows(engine: Engine) -> None:
    """A plan can name an index and still read every job: in a RETURNING clause SQLite
    compares a column as it is by a scan. The work is counted, with a short history and
    with a hundred times longer one."""
    if not is_sqlite(engine):
        pytest.skip("counts SQLite's virtual machine instructions")
    sql = statements(False)
    work = []
    with engine.connect() as conn, conn.begin() as tx:
        for history in (10, 1000):
            # The newest jobs are looked at: a scan would read the whole history first.
            ended = stored_history(conn, history, "completed")
            stored_history(conn, 1, "awaiting_simulation")
            head = rows(conn, sql.queue_head, _head(False) | {"n": 1})
            leased = _steps(conn, sql.lease_tasks, _lease(False, [r.id for r in head]))
            look = _steps(conn, sql.look[False, True], {"jid": ended[-1]})
            work.append((leased, look))
        tx.rollback()
    (short_lease, short_look), (long_lease, long_look) = work
    assert long_lease < short_lease * 1.5, work
    assert long_look < short_look * 1.5, work
