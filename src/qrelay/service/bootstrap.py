"""Bootstrapping without HTTP: the first admin, users and worker tokens.

The embedded default and the CLI use these to set up a service they start themselves::

    from qrelay.service.bootstrap import ensure_admin, create_user, create_worker_token

    ensure_admin(url, admin_token)
    user_token = create_user(url, name="Ada", email="ada@example.org", balance=100.0)
    worker_token = create_worker_token(url, "local", ["aer_simulator"])

Each function migrates the database first, so it works on a fresh file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qrelay.payload import Role

if TYPE_CHECKING:
    from qrelay.service.db.repo import Store

ADMIN_EMAIL = "admin@localhost"


def install_admin(store: Store, token: str) -> str:
    """Make ``token`` the admin's; create the admin user if there is none. Its user id."""
    from sqlalchemy import select, update

    from qrelay.service.auth import hash_token
    from qrelay.service.db.engine import write
    from qrelay.service.db.tables import users

    digest = hash_token(token)
    with write(store.engine) as conn:
        row = conn.execute(select(users.c.id).where(users.c.token_hash == digest)).first()
        if row is not None:
            conn.execute(
                update(users).where(users.c.id == row.id).values(role=Role.ADMIN.value, active=True)
            )
            return str(row.id)
        row = conn.execute(select(users.c.id).where(users.c.email == ADMIN_EMAIL)).first()
        if row is not None:
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(token_hash=digest, role=Role.ADMIN.value, active=True)
            )
            return str(row.id)
    info = store.create_user(
        name="admin", email=ADMIN_EMAIL, role=Role.ADMIN, balance=0.0, token=token, actor=None
    )
    return info.user_id


@contextlib.contextmanager
def _store(database_url: str) -> Iterator[Store]:
    from qrelay.service.catalog import Catalog
    from qrelay.service.db.engine import make_engine
    from qrelay.service.db.migrate import upgrade
    from qrelay.service.db.repo import Store
    from qrelay.service.notify import Notifier

    engine = make_engine(database_url, pool_size=1)
    try:
        upgrade(engine)
        yield Store(
            engine,
            Catalog.load(None),
            Notifier(),
            lease_seconds=30.0,
            max_attempts=3,
            worker_liveness_seconds=60.0,
        )
    finally:
        engine.dispose()


def ensure_admin(database_url: str, token: str) -> str:
    """Make ``token`` the admin token of the service at ``database_url``; the admin's id."""
    with _store(database_url) as store:
        return install_admin(store, token)


def create_admin(database_url: str, *, name: str, email: str) -> str:
    """A new admin user; returns its token (shown once, stored hashed)."""
    return create_user(database_url, name=name, email=email, role=Role.ADMIN)


def create_user(
    database_url: str,
    *,
    name: str,
    email: str,
    role: Role = Role.USER,
    balance: float = 0.0,
    token: str | None = None,
) -> str:
    """A new user; returns its token (the given one, or a fresh one)."""
    from qrelay.service.auth import new_token

    token = token or new_token()
    with _store(database_url) as store:
        store.create_user(
            name=name, email=email, role=role, balance=balance, token=token, actor=None
        )
    return token


def create_worker_token(
    database_url: str, name: str, targets: Sequence[str], *, token: str | None = None
) -> str:
    """Register a worker serving ``targets``; returns its token."""
    from qrelay.service.auth import WORKER_PREFIX, new_token

    token = token or new_token(WORKER_PREFIX)
    with _store(database_url) as store:
        store.create_worker(name, list(targets), token, actor=None)
    return token


def catalog_drivers(
    database_url: str | None = None, targets_file: Path | None = None
) -> dict[str, str]:
    """Target name -> driver name for every target of the catalog (default or ``targets_file``).

    ``database_url`` is accepted for symmetry with the other helpers; the catalog does not
    live in the database.
    """
    from qrelay.service.catalog import Catalog

    del database_url
    return {info.name: info.driver for info in Catalog.load(targets_file).all()}
