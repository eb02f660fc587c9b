"""Timing apart: each side in a process of its own, alternating (no timing is asserted)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # ``benchmarks`` is a top-level package of the checkout

from benchmarks import apart  # noqa: E402

_SIDES = """
import os

def pid(**kwargs):
    return {"pid": os.getpid(), "home": os.environ.get("QRELAY_HOME"), "kwargs": kwargs}

def broken():
    raise RuntimeError("engine on fire")
"""


@pytest.fixture
def sides(tmp_path: Path) -> list[str]:
    (tmp_path / "fake_sides.py").write_text(_SIDES, encoding="utf-8")
    return [str(tmp_path)]


def test_sides_alternate_each_run_in_a_fresh_process_and_home(sides: list[str]) -> None:
    got = apart.alternate(
        {"a": apart.Side("fake_sides:pid", {"n": 1}), "b": apart.Side("fake_sides:pid")},
        2,
        path=sides,
    )
    runs = [*got["a"], *got["b"]]
    assert len({run["pid"] for run in runs}) == 4
    assert os.getpid() not in {run["pid"] for run in runs}
    assert len({run["home"] for run in runs}) == 4  # a fresh QRELAY_HOME each time
    assert [run["kwargs"] for run in got["a"]] == [{"n": 1}, {"n": 1}]


def test_a_failing_side_raises_with_its_error_output(sides: list[str]) -> None:
    with pytest.raises(RuntimeError, match="engine on fire"):
        apart.run(apart.Side("fake_sides:broken"), path=sides)


def test_best_keeps_the_reference_setup_with_the_lower_median() -> None:
    name, median = apart.best({"default": [3.0, 1.0, 9.0], "one thread": [2.0, 2.0, 2.5]})
    assert (name, median) == ("one thread", 2.0)


def test_whole_process_runs_alternate_after_a_warm_up_and_keep_a_given_home(
    tmp_path: Path,
) -> None:
    show = [sys.executable, "-c", "import os; print(os.environ['QRELAY_HOME'])"]
    runs = apart.whole_process(
        {"kept": show, "fresh": show}, 2, warmup=1, homes={"kept": str(tmp_path)}
    )
    assert [len(runs[name].wall_s) for name in ("kept", "fresh")] == [2, 2]
    assert all(wall > 0 for wall in runs["kept"].wall_s)
    assert {out.strip() for out in runs["kept"].stdout} == {str(tmp_path)}
    assert len({out.strip() for out in runs["fresh"].stdout}) == 2
    assert runs["kept"].ended[0] < runs["fresh"].ended[0] < runs["kept"].ended[1]
