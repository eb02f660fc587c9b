"""The hot paths' statement runner stores and reads exactly what SQLAlchemy does.

On SQLite :func:`rows`, :func:`run` and :func:`run_many` hand compiled statements to the
driver directly; whatever they write must be what ``Connection.execute`` writes (the
same text for datetimes, JSON, booleans), and what they read must come back typed the
same way, with the same errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from qrelay.service import bootstrap
from qrelay.service.db.engine import (
    is_sqlite,
    make_engine,
    read,
    rows,
    run,
    run_many,
    write,
)
from qrelay.service.db.tables import jobs, tasks, users

INSERT_USER = insert(users)
INSERT_JOB = insert(jobs)
INSERT_TASK = insert(tasks)
INSERT_TASK_RETURNING = insert(tasks).returning(tasks.c.id, tasks.c.updated_at)
TASK = select(tasks).where(tasks.c.id == bindparam("tid"))
TASK_BY_INDEX = select(tasks.c.id).where(
    tasks.c.job_id == bindparam("jid"), tasks.c.circuit_index == bindparam("index")
)
SET_COUNTS = update(tasks).where(tasks.c.id == bindparam("tid"))
RAW = "SELECT counts, initial_l2p, readouts, updated_at, cancel_requested FROM tasks WHERE id = "


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    bootstrap.ensure_admin(db_url, "tok-" + uuid.uuid4().hex)  # migrates the database
    made = make_engine(db_url, pool_size=2)
    yield made
    made.dispose()


def _job(conn: Any) -> str:
    now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    user_id, job_id = uuid.uuid4().hex, uuid.uuid4().hex
    run(
        conn,
        INSERT_USER,
        {
            "id": user_id,
            "name": "n",
            "email": f"{user_id}@example.org",
            "role": "user",
            "balance": 1.5,
            "active": True,
            "token_hash": None,
            "created_at": now,
        },
    )
    run(
        conn,
        INSERT_JOB,
        {
            "id": job_id,
            "user_id": user_id,
            "job_type": "simulate",
            "target": "t",
            "circuit_type": "payload",
            "num_circuits": 2,
            "shots": 10,
            "sim_method": None,
            "priority": 0,
            "status": "queued",
            "tags": "",
            "job_metadata": {"a": [1, None]},
            "verbatim": False,
            "memory": True,
            "meas_level": 2,
            "options": None,
            "cost": 0.0,
            "charged": True,
            "deleted": False,
            "idempotency_key": job_id,
            "request_hash": "h",
            "response": "{}",
            "submitted_at": now,
            "updated_at": now,
        },
    )
    return job_id


def _task(job_id: str, index: int) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "circuit_index": index,
        "target": "t",
        "priority": 0,
        "status": "queued",
        "queue_status": "queued",
        "circuit": "{}",
        "bindings": None,
        "num_rows": 1,
        "shots": 10,
        "attempt": 0,
        "max_attempts": 3,
        "cancel_requested": index % 2 == 0,
        "counts": None,
        "readouts": b"\x00\x01",
        "initial_l2p": {"0": 1},
        "updated_at": datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=UTC),
    }


def test_writes_and_reads_match_sqlalchemy(engine: Engine) -> None:
    with write(engine) as conn:
        job_id = _job(conn)
        run(conn, INSERT_TASK, _task(job_id, 0))
        conn.execute(INSERT_TASK, _task(job_id, 1))
        fast = rows(conn, TASK_BY_INDEX, {"jid": job_id, "index": 0})[0].id
        slow = conn.execute(TASK_BY_INDEX, {"jid": job_id, "index": 1}).one().id
    with read(engine) as conn:
        stored = [conn.exec_driver_sql(RAW + str(tid)).one() for tid in (fast, slow)]
        # The same bytes in the database (cancel_requested differs by design).
        assert stored[0][:4] == stored[1][:4]
        for tid in (fast, slow):
            mine = rows(conn, TASK, {"tid": tid})[0]
            theirs = conn.execute(TASK, {"tid": tid}).one()
            assert tuple(mine) == tuple(theirs)
            assert mine.counts is None
            assert mine.initial_l2p == {"0": 1}
            assert mine.job_id == job_id


def test_updates_and_many(engine: Engine) -> None:
    with write(engine) as conn:
        job_id = _job(conn)
        run_many(conn, INSERT_TASK, [_task(job_id, 0), _task(job_id, 1)])
        ids = [rows(conn, TASK_BY_INDEX, {"jid": job_id, "index": i})[0].id for i in (0, 1)]
        changed = run(conn, SET_COUNTS, {"tid": ids[0], "counts": {"c": {"00": 10}}})
        missing = run(conn, SET_COUNTS, {"tid": -1, "counts": None})
    assert (changed, missing) == (1, 0)
    with read(engine) as conn:
        assert rows(conn, TASK, {"tid": ids[0]})[0].counts == {"c": {"00": 10}}
        assert rows(conn, TASK, {"tid": ids[1]})[0].counts is None


def test_returning_and_errors(engine: Engine) -> None:
    with write(engine) as conn:
        job_id = _job(conn)
        (made,) = rows(conn, INSERT_TASK_RETURNING, _task(job_id, 0))
        at = made.updated_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at  # SQLite reads naive UTC
        assert at == _task(job_id, 0)["updated_at"]
    with pytest.raises(IntegrityError), write(engine) as conn:
        run(conn, INSERT_TASK, _task(job_id, 0))  # (job_id, circuit_index) is unique
    with read(engine) as conn:
        assert len(rows(conn, TASK_BY_INDEX, {"jid": job_id, "index": 0})) == 1


def test_a_busy_database_fails_as_sqlalchemy_does(db_url: str) -> None:
    """A write that cannot start ("database is locked") raises SQLAlchemy's
    OperationalError, which the service answers with 503 and Retry-After."""
    engine = make_engine(db_url, pool_size=1)  # two connections at most
    try:
        if not is_sqlite(engine):
            pytest.skip("SQLite only: PostgreSQL writers wait on row locks, not a database lock")
        with engine.connect() as conn, write(engine) as holder:
            # The pool's other connection: stop waiting for locks, then hand it back.
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.close()
            run(holder, SET_COUNTS, {"tid": -1, "counts": None})
            with pytest.raises(OperationalError), write(engine):
                pass
    finally:
        engine.dispose()
