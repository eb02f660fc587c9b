"""Fixtures of the fault suite: a restartable ``qrelay serve`` process on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.service.support import database

from .procs import Stack


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stack(db_kind: str, tmp_path: Path) -> Iterator[Stack]:
    """A service process with short leases over a fresh database (not started yet)."""
    with database(db_kind, tmp_path) as url:
        s = Stack(home=tmp_path, database_url=url)
        try:
            yield s
        finally:
            s.close()


@pytest.fixture
def sqlite_stack(tmp_path: Path) -> Iterator[Stack]:
    """A service process over a fresh SQLite file, for faults that do not involve the database."""
    with database("sqlite", tmp_path) as url:
        s = Stack(home=tmp_path, database_url=url)
        try:
            yield s
        finally:
            s.close()
