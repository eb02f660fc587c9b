"""Shared fixtures: an isolated QRELAY_HOME and config, and the PostgreSQL URL when CI has one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

#: CI exports this when the PostgreSQL server answers; tests that need it skip without it.
POSTGRES_ENV = "QRELAY_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep every test away from the user's real data dir, config and service URL."""
    home = tmp_path_factory.mktemp("qrelay-home")
    saved = {k: os.environ.get(k) for k in ("QRELAY_HOME", "QRELAY_CONFIG", "QRELAY_URL",
                                              "QRELAY_TOKEN", "QRELAY_PROFILE")}
    os.environ["QRELAY_HOME"] = str(home)
    os.environ["QRELAY_CONFIG"] = str(home / "config.toml")
    for key in ("QRELAY_URL", "QRELAY_TOKEN", "QRELAY_PROFILE"):
        os.environ.pop(key, None)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL URL for tests (SQLAlchemy form), or a visible skip when unset."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server for this run")
    return url
