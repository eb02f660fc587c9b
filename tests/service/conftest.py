"""Fixtures of the service suite: each module runs on SQLite and on PostgreSQL (when set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import Live, database, start


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for one test module."""
    tmp: Path = tmp_path_factory.mktemp("db")
    with database(request.param, tmp) as url:
        yield url


@pytest.fixture(scope="module")
def live(db_url: str) -> Iterator[Live]:
    """The service under uvicorn on loopback, over the module's database."""
    service = start(db_url)
    yield service
    service.stop()
