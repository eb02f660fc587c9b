"""The console's server-drawn SVG: bounded, escaped, and coloured by the calibration."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from qrelay.payload import GateProperties, QubitProperties, TargetInfo
from qrelay.qpu.fleet import fleet_device
from qrelay.service.console import svg


def test_histogram_draws_every_outcome_with_its_count() -> None:
    drawn = str(svg.histogram({"00": 480, "11": 512, "01": 8}, shots=1000))
    bars = dict(re.findall(r'data-outcome="([^"]+)" data-count="(\d+)"', drawn))
    assert bars == {"00": "480", "11": "512", "01": "8"}
    assert drawn.index('data-outcome="11"') < drawn.index('data-outcome="00"')  # tallest first
    assert "51.2%" in drawn


def test_histogram_is_bounded_and_sums_the_rest() -> None:
    counts = {format(i, "010b"): 1000 - i for i in range(1000)}
    drawn = str(svg.histogram(counts))
    bars = re.findall(r'data-count="(\d+)"', drawn)
    assert len(bars) == svg.MAX_BARS + 1
    assert sum(int(b) for b in bars) == sum(counts.values())
    assert f'data-outcome="{1000 - svg.MAX_BARS} others"' in drawn


def test_histogram_escapes_its_labels() -> None:
    drawn = str(svg.histogram({"<script>": 1}))
    assert "<script>" not in drawn
    assert "&lt;script&gt;" in drawn


def _target(n: int, edges: list[tuple[int, int]], readout: list[float]) -> TargetInfo:
    return TargetInfo(
        name="ring",
        driver="qpu-grpc",
        num_qubits=n,
        coupling_map=edges,
        qubits=[QubitProperties(readout_error=e) for e in readout],
        gates=[
            GateProperties(op="cz", qubits=list(e), error=0.01 * (i + 1))
            for i, e in enumerate(edges)
        ],
    )


def test_coupling_map_colours_qubits_and_couplings_by_error() -> None:
    edges = [(0, 1), (1, 2), (2, 3), (3, 0), (1, 0)]  # a ring, one pair both ways
    drawn = str(svg.coupling_map(_target(4, edges, [0.01, 0.05, 0.03, None])))  # type: ignore[list-item]
    fills = dict(re.findall(r'data-qubit="(\d+)".*?fill="(#[0-9a-f]{6})"', drawn))
    assert fills["0"] == "#2ea043"  # best readout: green
    assert fills["1"] == "#cf222e"  # worst: red
    assert fills["3"] == "#8c959f"  # unknown: grey
    strokes = dict(re.findall(r'data-edge="(\d+-\d+)".*?stroke="(#[0-9a-f]{6})"', drawn))
    assert set(strokes) == {"0-1", "1-2", "2-3", "0-3"}  # undirected, once each
    assert strokes["0-1"] == "#cf222e"  # the worst of its two directions (0.05)
    assert strokes["1-2"] == "#2ea043"


def test_coupling_map_layout_is_the_same_each_time_and_inside_the_picture() -> None:
    info = fleet_device("heavyhex_qpu")
    first, second = str(svg.coupling_map(info)), str(svg.coupling_map(info))
    assert first == second
    xs = [float(x) for x in re.findall(r'cx="([\d.]+)"', first)]
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', first)]
    assert len(xs) == info.num_qubits
    assert min(xs) >= 0
    assert max(xs) <= 520
    assert min(ys) >= 0
    assert max(ys) <= 520


def test_coupling_map_is_bounded() -> None:
    n = svg.MAX_QUBITS + 1
    drawn = str(svg.coupling_map(_target(n, [(0, 1)], [])))
    assert "<svg" not in drawn
    assert f"more than {svg.MAX_QUBITS} qubits" in drawn


def _points(drawn: str) -> list[tuple[float, float, float]]:
    """(x, y, mean T1) of each point of a T1 chart."""
    found = re.findall(r'class="point" data-t1="([0-9.]+)" cx="([0-9.]+)" cy="([0-9.]+)"', drawn)
    return [(float(x), float(y), float(t1)) for t1, x, y in found]


def test_t1_chart_draws_the_mean_in_time_order_higher_is_up() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    history = [
        (start, [100.0, 80.0]),
        (start + timedelta(hours=1), [90.0, None, 70.0]),  # an unmeasured qubit is left out
        (start + timedelta(hours=3), [60.0, 60.0]),
    ]
    drawn = str(svg.t1_history(history))
    points = _points(drawn)
    assert [t1 for _, _, t1 in points] == [90.0, 80.0, 60.0]
    xs = [x for x, _, _ in points]
    ys = [y for _, y, _ in points]
    assert xs == sorted(xs)
    assert xs[2] - xs[1] == pytest.approx(2 * (xs[1] - xs[0]), rel=1e-3)  # time to scale
    assert ys == sorted(ys)  # falling T1 is drawn lower (larger y)
    assert 'class="spread"' in drawn
    assert "100 µs" in drawn
    assert "60 µs" in drawn
    assert "2026-12-01 00:00" in drawn
    assert "2026-12-01 03:00" in drawn


def test_t1_chart_is_bounded_and_says_when_there_is_nothing() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    many = [(start + timedelta(minutes=i), [50.0 + i % 7]) for i in range(svg.MAX_POINTS + 50)]
    assert len(_points(str(svg.t1_history(many)))) == svg.MAX_POINTS
    assert "No T1 measured" in str(svg.t1_history([(start, [None, None])]))
    assert "No T1 measured" in str(svg.t1_history([]))
    one = _points(str(svg.t1_history([(start, [42.0, 42.0])])))  # one snapshot, all equal
    assert len(one) == 1
    assert one[0][2] == 42.0
