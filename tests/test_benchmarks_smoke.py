"""The benchmark runner completes and reports rows (no timing is asserted, ever)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # ``benchmarks`` is a top-level package of the checkout

from benchmarks import run as runner  # noqa: E402


def test_payload_benchmarks_run_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "payload", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "case" in result.stdout
    assert "ratio" in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    rows = report["rows"]
    assert len(rows) >= 5
    assert {row["module"] for row in rows} == {"payload"}
    assert all(row["status"] == "ok" for row in rows)
    for row in rows:
        assert set(runner.REQUIRED) <= set(row)
        assert row["ours"] > 0
        assert row["reference"] > 0
    cases = " ".join(row["case"] for row in rows)
    assert "validate+dump" in cases
    assert "encode+decode+counts" in cases
    assert "wire:" in cases


def test_discover_finds_the_case_modules() -> None:
    found = runner.discover()
    assert found["payload"] == "benchmarks.payload_bench"
    assert all(module.endswith("_bench") for module in found.values())


def test_failures_become_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_bench.py").write_text(
        "def run(quick):\n    raise RuntimeError('device on fire')\n", encoding="utf-8"
    )
    (tmp_path / "lazy_bench.py").write_text(
        "def run(quick):\n    import not_a_real_package_xyz\n    return []\n", encoding="utf-8"
    )
    (tmp_path / "sloppy_bench.py").write_text(
        "def run(quick):\n    return [{'case': 'x', 'ours': 1.0}]\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = runner.run_module("broken", "broken_bench", quick=True)
    assert broken[0]["status"] == "failed"
    assert "device on fire" in broken[0]["notes"]
    missing = runner.run_module("absent", "absent_bench_xyz", quick=True)
    assert missing[0]["status"] == "not installed"
    lazy = runner.run_module("lazy", "lazy_bench", quick=True)
    assert lazy[0]["status"] == "not installed"
    sloppy = runner.run_module("sloppy", "sloppy_bench", quick=True)
    assert sloppy[0]["status"] == "failed"
    assert "lacks" in sloppy[0]["notes"]
    text = runner.table([*broken, *missing])
    assert "broken: failed" in text
    assert "absent: not installed" in text


def test_table_format() -> None:
    rows = [
        {"case": "a", "ours": 1.5, "reference": 3.0, "unit": "ms", "ratio": 0.5, "target": "<= 2x"},
        {"case": "b", "ours": None, "reference": None, "unit": "", "ratio": None, "notes": "n"},
    ]
    text = runner.table(rows)
    lines = text.splitlines()
    assert lines[0].split(" | ")[0].strip() == "case"
    assert "1.5 ms" in lines[2]
    assert "0.5x" in lines[2]
    assert "<= 2x" in lines[2]
    assert textwrap.dedent("  b: n") in text


def test_runner_as_a_script(tmp_path: Path) -> None:
    """``python benchmarks/run.py`` is the same runner as ``python -m benchmarks``."""
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--only", "payload", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["rows"]


def test_unknown_module_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown benchmark(s) ['nope']" in result.stderr
