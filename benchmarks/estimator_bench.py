"""Estimator benchmarks: ``QRelayEstimatorV2`` against Aer's estimator and Qiskit's
``BackendEstimatorV2`` on the same qrelay backend.

The case: a 10-qubit, 50-term Hamiltonian (random Paulis, seeded) on a two-layer
hardware-efficient ansatz, over 20 parameter sets, at precision 0.01. Every path runs in
processes of its own, the paths in turn, round after round (:func:`benchmarks.apart.compare`),
so a slow spell of the machine falls on all of them; Aer's side is the better of its
default and single-threaded (``max_parallel_threads=1``) configurations.

A shot-based reference beside them: Qiskit's ``BackendEstimatorV2`` on an ``AerSimulator``
directly (no qrelay), the estimator a user assembles from Aer with the same shots (its
better configuration, as for Aer's estimator); it has no target, it says what drawing the
shots costs without qrelay.

Paths: ``QRelayEstimatorV2`` with shots (``ceil(1 / 0.01**2)`` per measurement basis,
level 0), ``QRelayEstimatorV2`` exact (``options={"exact": True}``: the worker computes
the values), ``BackendEstimatorV2`` on the same qrelay backend, and Aer's ``EstimatorV2``
(exact values plus Gaussian noise of the precision's size).

Targets (ratio = ours / reference, lower is better):

- ``QRelayEstimatorV2`` on ``aer_simulator`` vs ``qiskit_aer.primitives.EstimatorV2``: at
  most 1.5 (a row for the shot path, one for the exact path);
- ``QRelayEstimatorV2`` vs ``BackendEstimatorV2(backend=<the same qrelay backend>)``: at
  most 0.33 (3x faster).

Run it directly to print the rows::

    python -m benchmarks.estimator_bench [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

QUBITS = 10
TERMS = 50
POINTS = 20
PRECISION = 0.01
SHOTS = "QRelayEstimatorV2 (shots)"
EXACT = "QRelayEstimatorV2 (exact)"
GENERIC = "BackendEstimatorV2 on the qrelay backend"
AER = "Aer EstimatorV2"
AER_SHOTS = "Aer BackendEstimatorV2"


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


def setups() -> dict[str, Callable[[], Callable[[], Any]]]:
    """Each path's setup (see :func:`benchmarks.apart.time_setup`): it builds the
    estimator and returns the call to time."""

    def aer() -> Callable[[], Any]:
        from qiskit_aer.primitives import EstimatorV2 as AerEstimator

        from benchmarks.peers.local import AER_OPTIONS

        qc, hamiltonian, values = problem()
        options = {"default_precision": PRECISION, "backend_options": dict(AER_OPTIONS)}
        estimator = AerEstimator(options=options)
        return lambda: estimator.run([(qc, hamiltonian, values)]).result()[0].data.evs

    def ours(options: dict[str, Any]) -> Callable[[], Callable[[], Any]]:
        def setup() -> Callable[[], Any]:
            from qrelay_qiskit import QRelayEstimatorV2, QRelayProvider

            qc, hamiltonian, values = problem()
            backend = QRelayProvider().get_backend("aer_simulator")
            estimator = QRelayEstimatorV2(backend, options=options)
            pub = (qc, hamiltonian, values)
            return lambda: estimator.run([pub], precision=PRECISION).result()[0].data.evs

        return setup

    def generic() -> Callable[[], Any]:
        from qiskit.primitives import BackendEstimatorV2

        from qrelay_qiskit import QRelayProvider

        qc, hamiltonian, values = problem()
        backend = QRelayProvider().get_backend("aer_simulator")
        estimator = BackendEstimatorV2(backend=backend, options={"default_precision": PRECISION})
        return lambda: estimator.run([(qc, hamiltonian, values)]).result()[0].data.evs

    def aer_shots() -> Callable[[], Any]:
        from qiskit.primitives import BackendEstimatorV2

        from benchmarks.peers.local import make_aer_simulator

        qc, hamiltonian, values = problem()
        backend = make_aer_simulator()
        estimator = BackendEstimatorV2(backend=backend, options={"default_precision": PRECISION})
        return lambda: estimator.run([(qc, hamiltonian, values)]).result()[0].data.evs

    return {
        SHOTS: ours({"resilience_level": 0}),
        EXACT: ours({"exact": True}),
        GENERIC: generic,
        AER: aer,
        AER_SHOTS: aer_shots,
    }


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
    """The rows: each path timed in processes of its own, the paths in turn."""
    from benchmarks.apart import compare

    found = compare(
        "benchmarks.estimator_bench:setups",
        [SHOTS, EXACT],
        [GENERIC, AER, AER_SHOTS],
        repeat=2 if quick else 5,
        rounds=1 if quick else 3,
        warm=2,
    )
    if found.reasons:
        raise RuntimeError(f"estimator benchmark: {found.reasons}")
    median = {label: statistics.median(times) for label, times in found.times_ms.items()}
    case = f"{QUBITS}q {TERMS}-term Hamiltonian, {POINTS} parameter sets, precision {PRECISION}"
    aer = f"Aer EstimatorV2 ({found.setups[AER]})"
    aer_shots = f"BackendEstimatorV2 on {found.setups[AER_SHOTS]} (shots, no qrelay)"
    return [
        _row(f"{case}: {SHOTS} vs {aer_shots}", median[SHOTS], median[AER_SHOTS], "-"),
        _row(f"{case}: {SHOTS} vs {aer}", median[SHOTS], median[AER], "<= 1.5x"),
        _row(f"{case}: {EXACT} vs {aer}", median[EXACT], median[AER], "<= 1.5x"),
        _row(f"{case}: {SHOTS} vs {GENERIC}", median[SHOTS], median[GENERIC], "<= 0.33x"),
        _row(f"{case}: {EXACT} vs {GENERIC}", median[EXACT], median[GENERIC], "<= 0.33x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="qrelay estimator benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats")
    args = parser.parse_args()
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
