"""Alembic migrations shipped inside the package, run on start and by ``qrelay db upgrade``.

On PostgreSQL an advisory lock makes replicas that start together migrate one at a time.
A database already at :data:`HEAD_REVISION` is recognised by one query, without importing
Alembic: that import is a large share of the embedded default's start-up (see "Design
measurements" in ``docs/performance.md``), and nearly every start finds the database at
head.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from qrelay.errors import ConfigurationError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x71726C79  # "qrly"
#: The newest migration's revision (a test checks it against the migrations' own head).
HEAD_REVISION: Final = "0009"


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
    current = current_revision(engine)
    if revision == "head" and current == HEAD_REVISION:
        log.debug("database schema at head")
        return
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    known = ScriptDirectory(str(MIGRATIONS))
    if current is not None:
        try:
            known.get_revision(current)
        except CommandError:
            # a newer qrelay wrote this database: migrating it down or on would lose data
            raise ConfigurationError(
                f"the database is at schema revision {current!r}, which this qrelay does not "
                f"know (its newest is {HEAD_REVISION!r}): a newer qrelay wrote it. Upgrade "
                "qrelay, or point this one at another database (QRELAY_DATABASE_URL, or "
                "QRELAY_HOME for the embedded default)"
            ) from None

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


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, read from Alembic's version table; ``None`` for a
    database without one (a new database) or with several heads."""
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no version table yet
        return None
    return found[0] if len(found) == 1 else None
