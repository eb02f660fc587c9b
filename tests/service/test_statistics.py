"""The job tables' planner statistics are refreshed while a young database grows.

On PostgreSQL only: autovacuum does not analyze a table in its first minute, and without
statistics the planner looked jobs up by their user instead of by their key (see
``qrelay.service.db.statistics``). SQLite's plans need no statistics.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from qrelay.service import bootstrap
from qrelay.service.db import statistics
from qrelay.service.db.engine import make_engine

from .support import stored_history


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite keeps no planner statistics of its own: nothing to refresh")
    bootstrap.ensure_admin(db_url, "tok-" + uuid.uuid4().hex)  # migrates the database
    made = make_engine(db_url, pool_size=1)
    yield made
    made.dispose()


def _counted(engine: Engine) -> dict[str, float]:
    """Each job table's rows as of its last analysis (-1: never analyzed)."""
    query = text(
        "SELECT relname, reltuples FROM pg_class "
        "WHERE oid IN (to_regclass('jobs'), to_regclass('tasks'))"
    )
    with engine.connect() as conn:
        return {row.relname: float(row.reltuples) for row in conn.execute(query)}


def _settled(engine: Engine) -> None:
    """Make this backend's row counts visible in the statistics views at once."""
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))


def test_grown_job_tables_are_analyzed_once_then_left_to_autovacuum(engine: Engine) -> None:
    with engine.begin() as conn:
        stored_history(conn, statistics.MIN_ROWS // 2, "completed")
    _settled(engine)
    assert statistics.refresh(engine) == []  # too few rows to matter
    with engine.begin() as conn:
        stored_history(conn, statistics.MIN_ROWS, "completed")
    _settled(engine)
    assert statistics.refresh(engine) == ["jobs", "tasks"]
    counted = _counted(engine)
    assert counted["jobs"] >= statistics.MIN_ROWS
    assert counted["tasks"] >= statistics.MIN_ROWS
    _settled(engine)
    assert statistics.refresh(engine) == []  # current now: not analyzed again
