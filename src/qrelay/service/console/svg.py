"""The console's drawings, made on the server as SVG: a histogram of counts, a coupling
map, and a target's T1 over time.

All are plain SVG text with their labels escaped, sized by a ``viewBox`` so the page's
CSS scales them. Inputs are bounded before they are drawn: a histogram shows at most
:data:`MAX_BARS` outcomes (the most frequent; the rest are summed in one bar), a
coupling map at most :data:`MAX_QUBITS` qubits and a T1 chart at most
:data:`MAX_POINTS` snapshots.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np
from markupsafe import Markup, escape

from qrelay.payload import TargetInfo

#: The most bars of one histogram (outcomes beyond them are summed as "other").
MAX_BARS = 48
#: The most qubits a coupling map is drawn for.
MAX_QUBITS = 400
#: The most calibration snapshots one T1 chart draws.
MAX_POINTS = 500
#: Iterations of the stress layout of a coupling map.
_LAYOUT_STEPS = 150
_LOW = (46, 160, 67)  # green: the best value of the target
_HIGH = (207, 34, 46)  # red: the worst


def histogram(counts: Mapping[str, int], shots: int | None = None) -> Markup:
    """Bars of ``counts`` (outcome to count), tallest first, with the count on each."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked[:MAX_BARS]
    rest = sum(count for _, count in ranked[MAX_BARS:])
    if rest:
        shown.append((f"{len(ranked) - MAX_BARS} others", rest))
    if not shown:
        return _markup(['<p class="muted">No counts.</p>'])
    top = max(count for _, count in shown) or 1
    # Few outcomes get wide bars; labels turn only when they are wider than their bar.
    bar = max(24, min(72, 640 // len(shown)))
    gap, height, base = 8, 200, 230
    turn = max(len(outcome) for outcome, _ in shown) * 7 > bar
    width = len(shown) * (bar + gap) + gap
    total = shots or sum(counts.values()) or 1
    parts = [
        (
            f'<svg class="histogram" role="img" viewBox="0 0 {width} {base + 70}" '
            f'width="{width}" height="{base + 70}" '
            'xmlns="http://www.w3.org/2000/svg" aria-label="histogram of counts">'
        ),
        f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" class="axis"/>',
    ]
    for i, (outcome, count) in enumerate(shown):
        x = gap + i * (bar + gap)
        mid = x + bar / 2
        h = max(1.0, height * count / top)
        label = escape(outcome)
        share = 100.0 * count / total
        place = (
            f'x="{mid}" y="{base + 12}" class="outcome turned" '
            f'transform="rotate(60 {mid} {base + 12})"'
            if turn
            else f'x="{mid}" y="{base + 16}" class="outcome"'
        )
        parts += [
            f'<g class="bar" data-outcome="{label}" data-count="{count}">',
            f"<title>{label}: {count} ({share:.1f}%)</title>",
            f'<rect x="{x}" y="{base - h:.1f}" width="{bar}" height="{h:.1f}"/>',
            f'<text x="{mid}" y="{base - h - 4:.1f}" class="count">{count}</text>',
            f"<text {place}>{label}</text>",
            "</g>",
        ]
    parts.append("</svg>")
    return _markup(parts)


def coupling_map(info: TargetInfo) -> Markup:
    """The target's qubits and couplings: qubits coloured by readout error, couplings by
    two-qubit gate error (green the target's best, red its worst; grey unknown)."""
    n = info.num_qubits
    if n > MAX_QUBITS:
        return _markup([f'<p class="muted">Not drawn: more than {MAX_QUBITS} qubits.</p>'])
    edges = _undirected(info.coupling_map or [])
    pos = _layout(n, edges)
    readout = [q.readout_error for q in info.qubits[:n]] + [None] * max(0, n - len(info.qubits))
    pair_error = _two_qubit_errors(info)
    size, pad = 520.0, 30.0
    xy = pad + pos * (size - 2 * pad)
    r = max(6.0, min(16.0, 160.0 / math.sqrt(n)))
    parts = [
        (
            f'<svg class="coupling" role="img" viewBox="0 0 {size:.0f} {size:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg" aria-label="coupling map of {escape(info.name)}">'
        )
    ]
    edge_scale = _scale(pair_error.get(e) for e in edges)
    for a, b in edges:
        err = pair_error.get((a, b))
        parts.append(
            f'<line class="edge" data-edge="{a}-{b}" x1="{xy[a, 0]:.1f}" y1="{xy[a, 1]:.1f}" '
            f'x2="{xy[b, 0]:.1f}" y2="{xy[b, 1]:.1f}" stroke="{_colour(err, edge_scale)}" '
            f'stroke-width="{max(2.0, r / 2.5):.1f}"><title>{a}-{b}: two-qubit error '
            f"{_fmt(err)}</title></line>"
        )
    qubit_scale = _scale(readout)
    parts.extend(
        f'<g class="qubit" data-qubit="{q}"><title>qubit {q}: readout error '
        f"{_fmt(readout[q])}</title>"
        f'<circle cx="{xy[q, 0]:.1f}" cy="{xy[q, 1]:.1f}" r="{r:.1f}" '
        f'fill="{_colour(readout[q], qubit_scale)}"/>'
        f'<text x="{xy[q, 0]:.1f}" y="{xy[q, 1] + r / 3:.1f}" class="label" '
        f'font-size="{r:.1f}">{q}</text></g>'
        for q in range(n)
    )
    parts.append("</svg>")
    return _markup(parts)


def _markup(parts: Iterable[str]) -> Markup:
    """Markup of ``parts``, whose every label and name was escaped where it was written
    (outcomes and target names through ``escape``; numbers are formatted)."""
    return Markup("".join(parts))  # noqa: S704 (the text inside was escaped above)


def _undirected(pairs: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    return sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})


def _two_qubit_errors(info: TargetInfo) -> dict[tuple[int, int], float]:
    """The worst error of any two-qubit gate on each (undirected) pair."""
    found: dict[tuple[int, int], float] = {}
    for gate in info.gates:
        if len(gate.qubits) != 2 or gate.error is None:
            continue
        a, b = gate.qubits
        key = (min(a, b), max(a, b))
        found[key] = max(found.get(key, 0.0), gate.error)
    return found


def _layout(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Positions in the unit square whose distances follow the hop distances of the
    coupling graph (stress majorization from classical scaling): grids come out as grids
    and lattices as lattices, and the same map is always drawn the same way."""
    angle = 2 * np.pi * np.arange(n) / max(n, 1)
    pos = np.column_stack([np.cos(angle), np.sin(angle)]) * n / (2 * np.pi)
    # A complete graph (an ion trap) stays on the circle; any other is laid out.
    if n > 2 and 0 < len(edges) < n * (n - 1) // 2:
        hops = _hops(n, edges)
        pos = _classical_scaling(hops, pos)
        weight = np.zeros_like(hops)
        off = ~np.eye(n, dtype=bool)
        weight[off] = hops[off] ** -2.0
        laplacian = -weight
        np.fill_diagonal(laplacian, weight.sum(axis=1))
        inverse = np.linalg.pinv(laplacian)
        for _ in range(_LAYOUT_STEPS):
            gap = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=2)
            pull = np.where(gap > 1e-9, -weight * hops / np.maximum(gap, 1e-9), 0.0)
            np.fill_diagonal(pull, 0.0)
            np.fill_diagonal(pull, -pull.sum(axis=1))
            pos = inverse @ (pull @ pos)
        pos = _square_up(pos, edges)
    low, high = pos.min(axis=0), pos.max(axis=0)
    span = float(max((high - low).max(), 1e-9))
    result: np.ndarray = (pos - low) / span + (1 - (high - low) / span) / 2
    return result


def _square_up(pos: np.ndarray, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """``pos`` turned so that the couplings lie along the axes as far as they can (a
    square lattice is drawn upright, not as a diamond)."""
    ends = np.array(edges)
    step = pos[ends[:, 1]] - pos[ends[:, 0]]
    turn = np.angle(np.exp(4j * np.arctan2(step[:, 1], step[:, 0])).sum()) / 4
    c, s = np.cos(-turn), np.sin(-turn)
    turned: np.ndarray = pos @ np.array([[c, s], [-s, c]])
    return turned


def _classical_scaling(hops: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """The two leading axes of classical multidimensional scaling of ``hops``: a start
    close to the final layout, so majorization does not settle in a folded one."""
    n = len(hops)
    centre = np.eye(n) - 1.0 / n
    gram = -0.5 * centre @ (hops**2) @ centre
    values, vectors = np.linalg.eigh(gram)
    top = values[-2:][::-1]
    if top[1] <= 1e-9:
        return fallback
    start: np.ndarray = vectors[:, -2:][:, ::-1] * np.sqrt(top)
    return start


def _hops(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Hop distances between all qubits (breadth first); unconnected pairs get one more
    than the longest path, so separate parts sit apart."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    hops = np.full((n, n), -1.0)
    for start in range(n):
        hops[start, start] = 0.0
        frontier, depth = [start], 0
        while frontier:
            depth += 1
            nxt = []
            for q in frontier:
                for r in neighbours[q]:
                    if hops[start, r] < 0:
                        hops[start, r] = depth
                        nxt.append(r)
            frontier = nxt
    hops[hops < 0] = hops.max() + 1
    return hops


def _scale(values: Iterable[float | None]) -> tuple[float, float] | None:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None


def _colour(value: float | None, scale: tuple[float, float] | None) -> str:
    if value is None or scale is None:
        return "#8c959f"
    low, high = scale
    t = 0.0 if high <= low else (value - low) / (high - low)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(_LOW, _HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _fmt(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2e}"


def legend(info: TargetInfo) -> dict[str, str]:
    """The ends of the two colour scales, for the page's legend."""
    readout = _scale(q.readout_error for q in info.qubits)
    pair = _scale(_two_qubit_errors(info).values())
    return {
        "readout_low": _fmt(readout[0]) if readout else "unknown",
        "readout_high": _fmt(readout[1]) if readout else "unknown",
        "pair_low": _fmt(pair[0]) if pair else "unknown",
        "pair_high": _fmt(pair[1]) if pair else "unknown",
    }


def t1_history(points: Sequence[tuple[datetime, Sequence[float | None]]]) -> Markup:
    """T1 over time from ``(taken_at, per-qubit T1 in µs)`` snapshots, oldest first.

    One line, the mean over the qubits, inside a band from the lowest to the highest
    qubit: a single line stays readable for a device of hundreds of qubits, and the band
    shows the spread, so one qubit going bad shows as the band's floor dropping.
    Snapshots without any T1 are skipped; at most :data:`MAX_POINTS` are drawn.
    """
    rows = _t1_rows(points[:MAX_POINTS])
    if not rows:
        return _markup(['<p class="muted">No T1 measured in this range.</p>'])
    width, height, left, top, bottom = 640.0, 220.0, 64.0, 12.0, 190.0
    right = width - 16.0
    t0, t1 = rows[0][0].timestamp(), rows[-1][0].timestamp()
    clock = "%Y-%m-%d %H:%M" if t1 - t0 >= 3600 else "%Y-%m-%d %H:%M:%S"
    low = min(r[1] for r in rows)
    high = max(r[3] for r in rows)
    if high - low < 1e-9:
        low, high = low * 0.9, high * 1.1 + 1e-9

    def x(at: datetime) -> float:
        span = t1 - t0
        return (
            (left + right) / 2
            if span <= 0
            else left + (right - left) * (at.timestamp() - t0) / span
        )

    def y(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / (high - low)

    band = [f"{x(r[0]):.1f},{y(r[3]):.1f}" for r in rows]
    band += [f"{x(r[0]):.1f},{y(r[1]):.1f}" for r in reversed(rows)]
    mean = " ".join(f"{x(r[0]):.1f},{y(r[2]):.1f}" for r in rows)
    parts = [
        (
            f'<svg class="t1-chart" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
            'xmlns="http://www.w3.org/2000/svg" aria-label="T1 over time">'
        ),
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>',
        f'<text class="tick" x="{left - 4}" y="{top + 4}" text-anchor="end">{high:.0f} µs</text>',
        f'<text class="tick" x="{left - 4}" y="{bottom}" text-anchor="end">{low:.0f} µs</text>',
        f'<text class="tick" x="{left}" y="{bottom + 18}">{rows[0][0]:{clock}}</text>',
        (
            f'<text class="tick" x="{right}" y="{bottom + 18}" text-anchor="end">'
            f"{rows[-1][0]:{clock}}</text>"
        ),
        f'<polygon class="spread" points="{" ".join(band)}"/>',
        f'<polyline class="mean" points="{mean}"/>',
    ]
    parts.extend(
        f'<circle class="point" data-t1="{r[2]:.2f}" cx="{x(r[0]):.1f}" cy="{y(r[2]):.1f}" '
        f'r="3"><title>{_when(r[0])}: mean T1 {r[2]:.1f} µs (qubits {r[1]:.1f} to '
        f"{r[3]:.1f})</title></circle>"
        for r in rows
    )
    parts.append("</svg>")
    return _markup(parts)


def _t1_rows(
    points: Sequence[tuple[datetime, Sequence[float | None]]],
) -> list[tuple[datetime, float, float, float]]:
    """``(taken_at, lowest, mean, highest T1)`` of each snapshot with any T1 measured."""
    rows = []
    for taken, t1s in points:
        known = [v for v in t1s if v is not None]
        if known:
            rows.append((taken, min(known), sum(known) / len(known), max(known)))
    return rows


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")
