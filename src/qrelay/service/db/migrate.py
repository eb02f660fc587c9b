"""Alembic migrations shipped inside the package, run on start and by ``qrelay db upgrade``.

On PostgreSQL an advisory lock makes replicas that start together migrate one at a time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x71726C79  # "qrly"


def alembic_config(connection: Connection | None = None) -> object:
    """An Alembic ``Config`` pointing at the packaged migrations (and a connection)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision``."""
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
        try:
            config = alembic_config(conn)
            command.upgrade(config, revision)  # type: ignore[arg-type]
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
    log.info("database schema at %s", revision)
