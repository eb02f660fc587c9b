"""The console's server-drawn SVG: bounded, escaped, and coloured by the calibration."""

from __future__ import annotations

import re

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
