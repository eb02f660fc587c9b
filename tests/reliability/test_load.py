"""Sustained mixed load at a reduced size: the same runs as ``benchmarks/load_bench.py``.

Each configuration starts real ``qrelay serve`` processes and four ``qrelay worker``
processes; clients submit, long-poll, list and cancel for a few seconds, then the books
are checked. Figures are printed (``-s``) for the report; nothing about speed is asserted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # ``benchmarks`` is a top-level package of the checkout

from benchmarks.load_bench import run_config  # noqa: E402

CONFIGS = [("sqlite", 1), ("postgres", 1), ("postgres", 2)]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "services"), CONFIGS, ids=["sqlite", "postgres", "postgres-x2"])
def test_mixed_load_ends_every_job_once_and_charges_add_up(
    kind: str, services: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "postgres":
        request.getfixturevalue("postgres_url")  # a visible skip without the server
    row = run_config(kind, services, clients=4, seconds=1.5, home=tmp_path, reference_jobs=2)
    print(json.dumps(row))
    assert row["accepted"] > 0
    assert row["terminal"] == row["accepted"]
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert row["tasks_never_ended"] == 0
    assert row["charges_ok"] is True
    assert row["errors"] == {}
