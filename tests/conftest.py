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
    unset = ("QRELAY_URL", "QRELAY_TOKEN", "QRELAY_PROFILE", "QRELAY_QPU_TOKEN")
    saved = {k: os.environ.get(k) for k in ("QRELAY_HOME", "QRELAY_CONFIG", *unset)}
    os.environ["QRELAY_HOME"] = str(home)
    os.environ["QRELAY_CONFIG"] = str(home / "config.toml")
    for key in unset:
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


@pytest.fixture(scope="session")
def third_party_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Install the toy provider package (tests/plugins/qrelay_testprovider) for real.

    ``pip install --target`` builds it from its own pyproject and writes a real
    ``.dist-info`` with its ``qrelay.providers`` entry point into a temp dir, which goes on
    ``sys.path`` for the session. Yields the provider's entry point name.
    """
    import shutil
    import subprocess
    import sys

    from qrelay import registry

    source = Path(__file__).parent / "plugins" / "qrelay_testprovider"
    work = tmp_path_factory.mktemp("testprovider")
    shutil.copytree(source, work / "src", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(work / "src"),
        ],
        check=True,
    )
    sys.path.insert(0, str(target))
    registry.clear_cache()
    yield "testprovider"
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("qrelay_testprovider")]:
        del sys.modules[name]
    registry.clear_cache()
