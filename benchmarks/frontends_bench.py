"""Front-end benchmarks: Qiskit SamplerV2 sweeps and Cirq ``run_sweep``, timed apart.

``run(quick)`` returns rows ``{"case", "ours", "reference", "unit", "ratio"}`` (ratio =
ours / reference; lower is better). Each side runs in a process of its own
(:mod:`benchmarks.apart`), the sides alternating; against Aer, the better of
``AerSimulator()`` and ``AerSimulator(max_parallel_threads=1)`` is the reference. Targets:

- a 1,000-point sweep (10 qubits, 40 parameters, 100 shots) through ``QRelaySamplerV2``
  against Aer's ``parameter_binds``: ratio at most 1.3;
- the same sweep through ``QRelaySampler.run_sweep`` against
  ``cirq.Simulator().run_sweep``: ratio at most 0.2 (at least 5x faster). Measured on the
  ``cirq_simulator`` target (qsim) and on ``aer_simulator``: a Cirq circuit runs on any
  target, and Aer takes the whole sweep as ``parameter_binds`` in one run.

The Bell rows (``backend.run`` on the embedded default and on ``qrelay serve``, against
Aer) are in :mod:`benchmarks.costs_bench`, with the other costs a user feels.

Run it directly to print the rows::

    python -m benchmarks.frontends_bench [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from benchmarks import apart
from benchmarks.apart import Side
from benchmarks.costs_bench import AER_SETUPS
from benchmarks.peers.circuits import SWEEP_LAYERS, SWEEP_QUBITS

SHOTS = 100
PARAMS = SWEEP_QUBITS * SWEEP_LAYERS


def _row(case: str, ours: float, reference: float, target: str, peer: str) -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 3),
        "reference": round(reference, 3),
        "unit": "ms",
        "ratio": round(ours / reference, 3) if reference else float("nan"),
        "target": target,
        "peer": peer,
    }


def sampler_v2_case(points: int, repeat: int, rounds: int) -> dict[str, Any]:
    """``QRelaySamplerV2`` against Aer ``parameter_binds``, each in its own process."""
    kwargs = {"points": points, "shots": SHOTS, "repeat": repeat}
    sides = {"ours": Side("benchmarks.sides:sweep_sampler_v2", kwargs)}
    sides |= {
        name: Side("benchmarks.sides:sweep_aer_binds", kwargs | {"threads": threads})
        for name, threads in AER_SETUPS.items()
    }
    results = apart.alternate(sides, rounds)
    ours = statistics.median(apart.merged(results.pop("ours"), "times_ms"))
    name, reference = apart.best(
        {peer: apart.merged(runs, "times_ms") for peer, runs in results.items()}
    )
    return _row(
        f"{points}-point sweep ({SWEEP_QUBITS}q, {PARAMS} params, {SHOTS} shots): "
        "QRelaySamplerV2 vs Aer parameter_binds",
        ours,
        reference,
        "<= 1.3x",
        name,
    )


def cirq_sweep_case(points: int, repeat: int, rounds: int, target: str) -> dict[str, Any]:
    """``QRelaySampler.run_sweep`` on ``target`` against ``cirq.Simulator().run_sweep``."""
    kwargs = {"points": points, "shots": SHOTS}
    results = apart.alternate(
        {
            "ours": Side(
                "benchmarks.sides:sweep_cirq", kwargs | {"repeat": repeat, "target": target}
            ),
            # cirq.Simulator is single-threaded and slow: fewer repeats.
            "cirq": Side("benchmarks.sides:sweep_cirq", kwargs | {"repeat": 1}),
        },
        rounds,
    )
    return _row(
        f"{points}-point sweep ({SWEEP_QUBITS}q, {PARAMS} params, {SHOTS} shots): "
        f"QRelaySampler.run_sweep on {target} vs cirq.Simulator().run_sweep",
        statistics.median(apart.merged(results["ours"], "times_ms")),
        statistics.median(apart.merged(results["cirq"], "times_ms")),
        "<= 0.2x (5x faster)",
        "cirq.Simulator",
    )


def run(quick: bool) -> list[dict[str, Any]]:
    """All front-end cases, each side in a process of its own."""
    points = 100 if quick else 1000
    repeat, rounds = (2, 1) if quick else (3, 2)
    return [
        sampler_v2_case(points, repeat, rounds),
        cirq_sweep_case(points, repeat, rounds, "cirq_simulator"),
        cirq_sweep_case(points, repeat, rounds, "aer_simulator"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="qrelay front-end benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
