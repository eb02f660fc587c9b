"""Estimator benchmarks: ``QRelayEstimatorV2`` against Aer's estimator and Qiskit's
``BackendEstimatorV2`` on the same qrelay backend.

The case: a 10-qubit, 50-term Hamiltonian (random Paulis, seeded) on a two-layer
hardware-efficient ansatz, over 20 parameter sets, at precision 0.01. Each side runs in
its own process (``python -m benchmarks.estimator_bench --side NAME``), which warms up and
then reports the median of its timed runs; the parent starts the sides in turn, round
after round, so a slow spell of the machine falls on all of them. Aer's side is the better
of its default and single-threaded (``max_parallel_threads=1``) configurations.

Targets (ratio = ours / reference, lower is better):

- ``QRelayEstimatorV2`` on ``aer_simulator`` vs ``qiskit_aer.primitives.EstimatorV2``: at
  most 1.5;
- ``QRelayEstimatorV2`` vs ``BackendEstimatorV2(backend=<the same qrelay backend>)``: at
  most 0.33 (3x faster).

Run it directly to print the rows::

    python -m benchmarks.estimator_bench [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

QUBITS = 10
TERMS = 50
POINTS = 20
PRECISION = 0.01
SIDES = ("qrelay", "aer", "aer_single", "backend_estimator")


def problem() -> tuple[Any, Any, Any]:
    """The ansatz, the Hamiltonian and the parameter sets (seeded: the same in every side)."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp

    theta = ParameterVector("theta", 4 * QUBITS)
    qc = QuantumCircuit(QUBITS)
    for layer in range(2):
        for q in range(QUBITS):
            qc.ry(theta[2 * layer * QUBITS + q], q)
            qc.rz(theta[(2 * layer + 1) * QUBITS + q], q)
        for q in range(QUBITS - 1):
            qc.cx(q, q + 1)
    rng = np.random.default_rng(23)
    labels = {"".join(rng.choice(list("IXYZ"), size=QUBITS)) for _ in range(4 * TERMS)}
    chosen = sorted(labels - {"I" * QUBITS})[:TERMS]
    hamiltonian = SparsePauliOp(chosen, rng.normal(size=len(chosen)))
    values = rng.uniform(0, np.pi, size=(POINTS, qc.num_parameters))
    return qc, hamiltonian, values


def _runner(side: str) -> Callable[[], Any]:
    qc, hamiltonian, values = problem()
    pub = (qc, hamiltonian, values)
    if side in ("aer", "aer_single"):
        from qiskit_aer.primitives import EstimatorV2 as AerEstimator

        options: dict[str, Any] = {"default_precision": PRECISION}
        if side == "aer_single":
            options["backend_options"] = {"max_parallel_threads": 1}
        aer = AerEstimator(options=options)
        return lambda: aer.run([pub]).result()[0].data.evs
    from qrelay_qiskit import QRelayEstimatorV2, QRelayProvider

    backend = QRelayProvider().get_backend("aer_simulator")
    if side == "qrelay":
        ours = QRelayEstimatorV2(backend, options={"resilience_level": 0})
        return lambda: ours.run([pub], precision=PRECISION).result()[0].data.evs
    from qiskit.primitives import BackendEstimatorV2

    generic = BackendEstimatorV2(backend=backend, options={"default_precision": PRECISION})
    return lambda: generic.run([pub]).result()[0].data.evs


def side_main(side: str, repeat: int) -> None:
    """Time one side in this process: warm up, then the median of ``repeat`` runs."""
    fn = _runner(side)
    fn()
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(json.dumps({"side": side, "ms": 1e3 * statistics.median(times)}))


def _time_side(side: str, repeat: int) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.estimator_bench",
            "--side",
            side,
            "--repeat",
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["ms"])


def _row(case: str, ours: float, reference: float, target: str) -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 1),
        "reference": round(reference, 1),
        "unit": "ms",
        "ratio": round(ours / reference, 3) if reference else float("nan"),
        "target": target,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """Both rows, each side timed in its own processes, the sides in turn."""
    rounds = 1 if quick else 3
    repeat = 2 if quick else 5
    best: dict[str, list[float]] = {side: [] for side in SIDES}
    for _ in range(rounds):
        for side in SIDES:
            best[side].append(_time_side(side, repeat))
    median = {side: statistics.median(times) for side, times in best.items()}
    aer = min(median["aer"], median["aer_single"])
    case = f"{QUBITS}q {TERMS}-term Hamiltonian, {POINTS} parameter sets, precision {PRECISION}"
    return [
        _row(f"{case}: QRelayEstimatorV2 vs Aer EstimatorV2", median["qrelay"], aer, "<= 1.5x"),
        _row(
            f"{case}: QRelayEstimatorV2 vs BackendEstimatorV2 on the same backend",
            median["qrelay"],
            median["backend_estimator"],
            "<= 0.33x (3x faster)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="qrelay estimator benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats")
    parser.add_argument("--side", choices=SIDES, help="time one side in this process")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.side:
        side_main(args.side, args.repeat)
        return
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
