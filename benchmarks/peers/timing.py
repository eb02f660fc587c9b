"""Repeat a call, keep every wall time, report the median and the 90th percentile."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Wall times of one path, in milliseconds."""

    times_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p90(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def measure(fn: Callable[[], Any], repeat: int, *, warm: int = 1) -> Timing:
    """Call ``fn`` ``warm`` times untimed, then ``repeat`` times timed."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return Timing(times)


def interleaved(
    fns: dict[str, Callable[[], Any]],
    repeat: int,
    *,
    warm: int = 1,
    budget_s: float = 20.0,
    min_rounds: int = 3,
) -> dict[str, Timing]:
    """Time several paths round-robin, so a busy machine slows them all alike.

    After ``warm`` untimed rounds, run as many rounds as fit in ``budget_s`` (judged on
    the last warm round), at least ``min_rounds`` and at most ``repeat``. With ``warm=0``
    the first timed round sets the pace instead.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    per_round = 0.0
    for _ in range(warm):
        start = time.perf_counter()
        for fn in fns.values():
            fn()
        per_round = time.perf_counter() - start
    if warm == 0:
        start = time.perf_counter()
        for name, fn in fns.items():
            begin = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - begin))
        per_round = time.perf_counter() - start
    done = 0 if warm else 1
    rounds = max(min_rounds, min(repeat, int(budget_s / per_round) if per_round > 0 else repeat))
    for _ in range(rounds - done):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: Timing(values) for name, values in times.items()}


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def row(
    case: str,
    ours: Timing | float | None,
    reference: Timing | float | None,
    *,
    peer: str,
    unit: str = "ms",
    notes: str = "",
    higher_is_better: bool = False,
) -> dict[str, Any]:
    """One runner row: ours against one peer, ratio = ours / peer (lower is better).

    For rates (``higher_is_better``) the ratio is peer / ours, so lower still reads better.
    A missing side (``None``) gives a row without ratio.
    """
    ours_value = ours.median if isinstance(ours, Timing) else ours
    ref_value = reference.median if isinstance(reference, Timing) else reference
    ratio = None
    if ours_value and ref_value:
        ratio = ref_value / ours_value if higher_is_better else ours_value / ref_value
    out: dict[str, Any] = {
        "case": f"{case} vs {peer}",
        "group": case,
        "peer": peer,
        "ours": None if ours_value is None else _round(ours_value),
        "reference": None if ref_value is None else _round(ref_value),
        "unit": unit,
        "ratio": None if ratio is None else round(ratio, 3),
    }
    if isinstance(ours, Timing):
        out["p90"] = _round(ours.p90)
    if isinstance(reference, Timing):
        out["reference_p90"] = _round(reference.p90)
    if notes:
        out["notes"] = notes
    return out


def missing_row(
    case: str, peer: str, reason: str, ours: Timing | float | None = None
) -> dict[str, Any]:
    """A row for a peer that could not run here; says why in ``notes``."""
    out = row(case, ours, None, peer=peer)
    out["notes"] = reason
    return out
