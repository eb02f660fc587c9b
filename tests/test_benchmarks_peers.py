"""The side-by-side benchmark's plumbing: rows for missing peers, the plot, the page.

No timing is asserted. The peers themselves live only in the benchmark environment
(``benchmarks/requirements-peers.txt``); the test that drives them skips, saying so,
where they are not installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # ``benchmarks`` is a top-level package of the checkout

from benchmarks import peers_bench, plot  # noqa: E402
from benchmarks.peers import local  # noqa: E402

_WORKS = """
def works(size):
    def missing():
        raise ImportError("No module named 'not_a_peer'")

    return {
        "ours": lambda: (lambda: sum(range(size))),
        "absent": missing,
        "present": lambda: (lambda: sum(range(2 * size))),
    }
"""


def test_each_side_runs_apart_and_a_missing_peer_gives_a_not_installed_row(
    tmp_path: Path,
) -> None:
    (tmp_path / "fake_works.py").write_text(_WORKS, encoding="utf-8")
    rows, timings = peers_bench._peer_rows(
        "case",
        "fake_works:works",
        ["ours"],
        ["absent", "present"],
        repeat=3,
        rounds=2,
        warm=0,
        path=[str(tmp_path)],
        size=50,
    )
    by_peer = {r["peer"]: r for r in rows}
    assert len(rows) == 2
    assert by_peer["absent"]["ratio"] is None
    assert by_peer["absent"]["reference"] is None
    assert by_peer["absent"]["notes"].startswith("not installed")
    assert "not_a_peer" in by_peer["absent"]["notes"]
    assert by_peer["absent"]["ours"] is not None  # ours is still measured
    assert by_peer["present"]["ratio"] is not None
    assert {"case", "ours", "reference", "unit", "ratio", "p90"} <= set(by_peer["present"])
    assert len(timings["ours"].times_ms) == 6  # 3 timed calls in each of 2 processes


def _report() -> dict[str, Any]:
    rows = [
        {
            "module": "peers",
            "case": "1 a vs X",
            "group": "1 a",
            "peer": "X",
            "ours": 2.0,
            "p90": 2.5,
            "reference": 1.0,
            "reference_p90": 1.2,
            "unit": "ms",
            "ratio": 2.0,
        },
        {
            "module": "peers",
            "case": "2 b vs Y",
            "group": "2 b",
            "peer": "Y",
            "ours": 1.0,
            "reference": 4.0,
            "unit": "ms",
            "ratio": 0.25,
        },
        {
            "module": "peers",
            "case": "2 b vs Z",
            "group": "2 b",
            "peer": "Z",
            "ours": 1.0,
            "reference": None,
            "unit": "ms",
            "ratio": None,
            "notes": "not installed (ImportError)",
        },
        {
            "module": "payload",
            "case": "other",
            "ours": 1.0,
            "reference": 1.0,
            "unit": "ms",
            "ratio": 1.0,
        },
    ]
    return {"started": "2026-01-01T00:00:00", "quick": True, "python": "3.11", "rows": rows}


def test_plot_writes_a_png_of_the_peer_ratios(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (the plot extra) is not installed")
    out = tmp_path / "performance.png"
    bars = plot.plot(_report(), out)
    assert bars == 2  # rows with a ratio, of the peers module only
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_section_replaces_itself_and_keeps_the_page(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nintro\n\n## Results\n\n<!-- keep -->\n\n## After\n")
    for _ in range(2):
        plot.write_doc(doc, plot.markdown(_report(), "performance.png"))
    text = doc.read_text()
    assert text.count(plot.START) == 1
    assert text.count(plot.END) == 1
    assert text.startswith("# Performance\n\nintro\n\n## Results\n")
    assert "<!-- keep -->" in text
    assert "## After" in text
    assert "![qrelay / peer ratios](performance.png)" in text
    assert "| 1 a | X | 2 (2.5) ms | 1 (1.2) ms | 2x |" in text
    assert "- Z: not installed (ImportError)" in text
    assert "CPUs (`nproc`)" in text


def test_peers_local_paths_count_a_bell_state() -> None:
    pytest.importorskip(
        "qiskit_braket_provider",
        reason="peers not installed (pip install -r benchmarks/requirements-peers.txt)",
    )
    pytest.importorskip("qiskit_ibm_runtime", reason="peers not installed")
    from benchmarks.peers import circuits

    for name, setup in local.qiskit_circuit_peers(circuits.qiskit_bell(), 100).items():
        counts = setup()()
        assert sum(counts.values()) == 100, name
        assert set(counts) <= {"00", "01", "10", "11"}, name
    json.dumps(counts)


def test_costs_section_shows_before_target_and_measured(tmp_path: Path) -> None:
    report = _report()
    report["rows"].append(
        {
            "module": "costs",
            "case": "one Bell job, settled",
            "ours": 2.2,
            "reference": 0.9,
            "unit": "ms",
            "ratio": 2.44,
            "target": "<= 2.5x",
            "today": "2.8-2.9x",
            "peer": "AerSimulator()",
            "notes": "3 processes a side",
        }
    )
    doc = tmp_path / "performance.md"
    doc.write_text(f"# P\n\n{plot.COSTS_START}\nold\n{plot.COSTS_END}\n\n## Results\n")
    plot.write_doc(doc, plot.costs_markdown(report), plot.COSTS_START, plot.COSTS_END)
    text = doc.read_text()
    assert "old" not in text
    assert (
        "| one Bell job, settled | 2.8-2.9x | <= 2.5x | 2.2 ms | 0.9 ms (AerSimulator()) | 2.44x |"
        in text
    )
    assert "- one Bell job, settled: 3 processes a side" in text
    assert "1 a vs X" not in text  # the peers' rows stay in their own section
