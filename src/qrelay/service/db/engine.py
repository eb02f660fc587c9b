"""Engines for SQLite and PostgreSQL, set up for short write transactions.

SQLite runs in WAL mode (readers never wait for the writer) with ``synchronous=NORMAL``
(a commit does not fsync; a crash of the machine may lose the last commits, never
corrupt). Write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
busy timeout instead of failing to upgrade a read lock; read transactions start deferred.
Open a write transaction with :func:`write` and a read one with :func:`read`.

The hot paths run their prebuilt statements through :func:`rows` and :func:`run`. These
hand the statement, compiled once, straight to the driver (sqlite3, psycopg) with the
column types' own bind and result conversions: SQLAlchemy's execution machinery costs
several times what SQLite itself spends on such a statement, and on PostgreSQL it was
about half of the service's CPU per job (figures: "Design measurements" in
``docs/performance.md``). A statement the plan cannot carry (column defaults computed in
Python, expanding lists) takes the ordinary ``Connection.execute`` path.

On PostgreSQL a read transaction runs in autocommit: at ``READ COMMITTED`` (the engine's
level) each statement sees its own snapshot whether or not a transaction wraps them, so
the ``BEGIN`` and ``COMMIT`` round trips of a read bought nothing.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, Update

from qrelay.errors import ConfigurationError

#: The SQL name of :func:`new_id` on every SQLite connection the store makes: a lease draws
#: its ids in its own statement (see :mod:`qrelay.service.db.leasing`).
NEW_ID_SQL = "qrelay_new_id"


def new_id() -> str:
    """A new random id (of a job, a user, a worker or a lease)."""
    return uuid.uuid4().hex


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine speaks SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 20) -> Engine:
    """An engine for ``url`` (``sqlite:///file`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.query:
            _create_private(Path(parsed.database))
        engine = create_engine(
            url,
            connect_args={"timeout": 30.0, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
            pool_use_lifo=True,
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


def _create_private(path: Path) -> None:
    """Create the database file readable and writable by its owner only (0600) if it is
    new; SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file. An
    existing file keeps the mode its owner gave it; a path that cannot be opened is left
    to SQLite to report, as without this step."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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
        dbapi_connection.create_function(NEW_ID_SQL, 0, new_id, deterministic=False)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        driver = conn.connection.driver_connection
        if not driver.in_transaction:  # type: ignore[union-attr]  # else write() began it
            _start(conn, "BEGIN")


def _start(conn: Connection, sql: str) -> None:
    """``sql`` (a BEGIN) straight on the driver: through SQLAlchemy the statement costs more
    than SQLite's work. Its errors ("database is locked") come as SQLAlchemy's, as from
    any statement."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, (), exc, dbapi.Error) from exc


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on error."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            _start(conn, "BEGIN IMMEDIATE")  # SQLAlchemy's begin below then adds nothing
        with conn.begin():
            yield conn


@contextmanager
def read(engine: Engine, *, server_cursor: bool = False) -> Iterator[Connection]:
    """A read transaction (it changes nothing). On PostgreSQL, each statement in
    autocommit (see the module's docstring), unless ``server_cursor``: the reads stream
    rows through a server-side cursor (``yield_per``), which PostgreSQL opens only
    inside a transaction."""
    if server_cursor or is_sqlite(engine):
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


_Processor = Callable[[Any], Any]


class _Plan:
    """One statement compiled for the driver: its text, where each parameter comes from,
    how each parameter and result column converts (the column types' own processors).
    ``named``: the driver takes the parameters as a mapping (psycopg's ``%(name)s``),
    else as a tuple in the order of the text's ``?``."""

    __slots__ = ("columns", "make_row", "named", "slots", "sql")

    def __init__(
        self,
        sql: str,
        slots: list[tuple[str, str | None, _Processor | None, Any]],
        columns: list[tuple[int, _Processor]],
        make_row: Callable[..., Any] | None,
        named: bool,
    ) -> None:
        self.sql = sql
        self.slots = slots
        self.columns = columns
        self.make_row = make_row
        self.named = named

    def params(self, given: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters; a processor sees None too (JSON stores it as ``null``)."""
        out = []
        for _bind, name, process, constant in self.slots:
            if name is None:
                out.append(constant)
            elif process is None:
                out.append(given[name])
            else:
                out.append(process(given[name]))
        if self.named:
            return {slot[0]: value for slot, value in zip(self.slots, out, strict=True)}
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> Any:
        if self.columns:
            raw = list(raw)
            for index, process in self.columns:
                raw[index] = process(raw[index])
        assert self.make_row is not None
        return self.make_row(*raw)


#: Plans by dialect, statement and parameter names (an INSERT or UPDATE compiles per column set);
#: None where a statement needs SQLAlchemy's execution (defaults to fill, expanding lists).
#: Keyed by the statement object, so only prebuilt statements belong here; the bound keeps
#: a statement built per call from growing it without end.
_PLANS: dict[tuple[str, Executable, tuple[str, ...]], _Plan | None] = {}
_MAX_PLANS = 512


def _plan(stmt: Executable, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    key = (dialect.name, stmt, keys)
    if key in _PLANS:
        return _PLANS[key]
    plan = _compile(stmt, keys, dialect)
    if len(_PLANS) < _MAX_PLANS:
        _PLANS[key] = plan
    return plan


#: The drivers' parameter styles a plan speaks: sqlite3's and psycopg's.
_PLANNED_STYLES = {"qmark": False, "pyformat": True}


def _compile(stmt: Executable, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    named = _PLANNED_STYLES.get(dialect.paramstyle)
    if named is None:
        return None
    dml = isinstance(stmt, Insert | Update)
    compiled = stmt.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=list(keys) if dml else None
    )
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # column defaults to compute
    order: Sequence[str] | None = compiled.positiontup
    if named:  # the binds the text places (a statement may hold binds it does not render)
        order = [name for name in compiled.binds if f"%({name})s" in compiled.string]
    if order is None or (named and compiled.escaped_bind_names):
        return None  # not a statement whose parameters the plan can place
    slots: list[tuple[str, str | None, _Processor | None, Any]] = []
    for name in order:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in keys:
            slots.append((name, name, process, None))
        elif bind.callable is None and bind.value is not None:  # a constant of the statement
            value = bind.value
            slots.append((name, None, None, process(value) if process is not None else value))
        else:
            return None
    selected = getattr(stmt, "exported_columns" if dml else "selected_columns", None)
    columns: list[tuple[int, _Processor]] = []
    make_row = None
    if selected is not None and len(selected):
        names = []
        for index, column in enumerate(selected):
            names.append(column.key)
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                columns.append((index, process))
        make_row = _row_type(names)
    return _Plan(compiled.string, slots, columns, make_row, named)


def _row_type(names: list[str]) -> Callable[..., Any]:
    """Rows with attribute access, like SQLAlchemy's, at a fraction of the cost."""
    return namedtuple("Row", names, rename=True)


def _driver_plan(conn: Connection, stmt: Executable, keys: Iterable[str]) -> _Plan | None:
    return _plan(stmt, tuple(keys), conn.dialect)


def _failed(conn: Connection, exc: Exception, sql: str, params: Any) -> StatementError:
    """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError...).

    A lost connection is invalidated, and the pool's other connections (made before the
    loss) are replaced as they are next checked out, as SQLAlchemy does for a statement
    it runs itself."""
    dbapi = conn.dialect.loaded_dbapi
    gone = isinstance(exc, dbapi.Error) and conn.dialect.is_disconnect(
        exc, conn.connection.dbapi_connection, None
    )
    if gone:
        conn.invalidate(exc)
        conn.engine.dispose(close=False)
    return DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=gone)


def rows(conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
    """The rows of a prebuilt ``stmt`` (a SELECT, or DML with RETURNING), with attribute
    access to the columns."""
    given = params or {}
    plan = _driver_plan(conn, stmt, given)
    if plan is None:
        return list(conn.execute(stmt, dict(given)).all())
    values = plan.params(given)
    try:
        raw = conn.connection.driver_connection.execute(plan.sql, values).fetchall()  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _failed(conn, exc, plan.sql, values) from exc
    return [plan.row(r) for r in raw]


def run(conn: Connection, stmt: Executable, params: Mapping[str, Any]) -> int:
    """Execute a prebuilt ``stmt`` (DML without RETURNING) once; the rows it changed."""
    plan = _driver_plan(conn, stmt, params)
    if plan is None:
        return int(conn.execute(stmt, dict(params)).rowcount)
    values = plan.params(params)
    try:
        cursor = conn.connection.driver_connection.execute(plan.sql, values)  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _failed(conn, exc, plan.sql, values) from exc
    return int(cursor.rowcount)


def run_many(conn: Connection, stmt: Executable, params: Sequence[Mapping[str, Any]]) -> None:
    """Execute a prebuilt ``stmt`` (DML without RETURNING) once per mapping (same keys)."""
    if not params:
        return
    plan = _driver_plan(conn, stmt, params[0])
    if plan is None:
        conn.execute(stmt, [dict(p) for p in params])
        return
    values = [plan.params(p) for p in params]
    driver: Any = conn.connection.driver_connection
    try:
        if len(values) == 1:  # psycopg's executemany costs a pipeline's setup and sync
            driver.execute(plan.sql, values[0])
        else:
            driver.cursor().executemany(plan.sql, values)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _failed(conn, exc, plan.sql, values) from exc
