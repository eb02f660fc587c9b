"""PostgreSQL's planner statistics of the job tables, kept current while they grow fast.

The planner costs a plan from each table's statistics, which autovacuum refreshes at most
once a minute (``autovacuum_naptime``) and only after a tenth of the table has changed. A
new service's tables are never analyzed in their first minute: with no statistics every
index that matches a prefix of the conditions costs the same, and PostgreSQL looked a job
up by its user (reading every job of the user) instead of by its key, and an idempotency
key through the user-and-status index. On a fresh database taking 250 jobs/s those
lookups read about 13 million rows over the first 6,000 jobs, and the service slowed as
its history grew; analyzed once at 600 jobs, it sped up instead (see "Issue 26, fifth
round" in ``docs/performance.md``).

So the service analyzes a job table itself when the table has grown past twice its rows
at its last analysis (and past a few hundred rows): a handful of times while a database
is young, then never again, since autovacuum keeps up with a large table. SQLite's
planner needs no statistics for these statements (its plans are checked in
``tests/service/test_query_plans.py``).
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

#: The tables whose plans the hot statements depend on.
TABLES: Final = ("jobs", "tasks")
#: A table is analyzed once it has this many rows and twice its rows at its last analysis.
MIN_ROWS: Final = 500

_GROWN = text(
    """
    SELECT c.relname AS name, s.n_live_tup AS live, c.reltuples AS counted
    FROM pg_class c
    JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.oid IN (to_regclass('jobs'), to_regclass('tasks'))
    """
)


def grown_tables(engine: Engine) -> list[str]:
    """The job tables that have outgrown their statistics (none on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        found = conn.execute(_GROWN).all()
    # ``reltuples`` is -1 for a table never analyzed
    return sorted(
        row.name
        for row in found
        if row.live >= MIN_ROWS and row.live >= 2 * max(float(row.counted), 0.0)
    )


def refresh(engine: Engine) -> list[str]:
    """Analyze the job tables that have outgrown their statistics; the ones analyzed."""
    tables = grown_tables(engine)
    if tables:
        with engine.begin() as conn:
            for name in tables:
                assert name in TABLES  # names come from the catalog query above
                conn.execute(text(f"ANALYZE {name}"))
        log.info("analyzed %s: they had outgrown their planner statistics", ", ".join(tables))
    return tables
