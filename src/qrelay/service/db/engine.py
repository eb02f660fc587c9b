"""Engines for SQLite and PostgreSQL, set up for short write transactions.

SQLite runs in WAL mode (readers never wait for the writer) with ``synchronous=NORMAL``
(a commit does not fsync; a crash of the machine may lose the last commits, never
corrupt). Write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
busy timeout instead of failing to upgrade a read lock; read transactions start deferred.
Open a write transaction with :func:`write` and a read one with :func:`read`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from qrelay.errors import ConfigurationError

_WRITE = "qrelay_write"


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine speaks SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 20) -> Engine:
    """An engine for ``url`` (``sqlite:///file`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": 30.0, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
        )
        _setup_sqlite(engine)
        return engine
    if backend == "postgresql":
        # No pre-ping (a round trip per checkout): a dropped connection fails its request
        # with 503 + Retry-After, and SQLAlchemy then refreshes the whole pool.
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
    raise ConfigurationError(
        f"database_url: unsupported database {backend!r}; use sqlite:/// or postgresql+psycopg://"
    )


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on error."""
    with engine.connect() as raw:
        conn = raw.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read transaction (rolled back at the end; it changes nothing)."""
    with engine.connect() as conn, conn.begin():
        yield conn
