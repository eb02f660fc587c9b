"""Front-end benchmarks: Qiskit ``backend.run`` and SamplerV2, Cirq ``run_sweep``.

``run(quick)`` returns rows ``{"case", "ours", "reference", "unit", "ratio"}`` measured in
one run (ratio = ours / reference; lower is better). Targets:

- Bell, 1,000 shots, ``backend.run(...).result().get_counts()`` on the embedded default,
  median latency, against ``AerSimulator().run(...)`` directly: ratio at most 3; the same
  against ``qrelay serve`` on loopback (a service and a worker process): at most 6;
- a 1,000-point sweep (10 qubits, 40 parameters, 100 shots) through ``QRelaySamplerV2``
  against Aer's ``parameter_binds``: ratio at most 1.3;
- the same sweep through ``QRelaySampler.run_sweep`` against
  ``cirq.Simulator().run_sweep``: ratio at most 0.2 (at least 5x faster). Measured on the
  ``cirq_simulator`` target (qsim) and on ``aer_simulator``: a Cirq circuit runs on any
  target, and Aer takes the whole sweep as ``parameter_binds`` in one run.

Run it directly to print the rows::

    python benchmarks/frontends_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

QUBITS = 10
LAYERS = 4  # 4 layers x 10 qubits = 40 parameters
SHOTS = 100
#: Runs before timing: the first jobs on a fresh stack pay worker start-up and caches.
WARMUP = 3


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _row(case: str, ours: float, reference: float, target: str, unit: str = "ms") -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 3),
        "reference": round(reference, 3),
        "unit": unit,
        "ratio": round(ours / reference, 3) if reference else float("nan"),
        "target": target,
    }


def _bell() -> Any:
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def _qiskit_ansatz() -> Any:
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    theta = ParameterVector("theta", QUBITS * LAYERS)
    qc = QuantumCircuit(QUBITS, name="ansatz")
    for layer in range(LAYERS):
        for q in range(QUBITS):
            qc.ry(theta[layer * QUBITS + q], q)
        for q in range(QUBITS - 1):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def _cirq_ansatz() -> tuple[Any, list[Any]]:
    import cirq
    import sympy

    qubits = cirq.LineQubit.range(QUBITS)
    symbols = [sympy.Symbol(f"theta_{i}") for i in range(QUBITS * LAYERS)]
    circuit = cirq.Circuit()
    for layer in range(LAYERS):
        circuit.append(cirq.ry(symbols[layer * QUBITS + q]).on(qubits[q]) for q in range(QUBITS))
        circuit.append(cirq.CNOT(qubits[q], qubits[q + 1]) for q in range(QUBITS - 1))
    circuit.append(cirq.measure(*qubits, key="m"))
    return circuit, symbols


def bell_cases(quick: bool) -> list[dict[str, Any]]:
    """Bell latency on the embedded default and on ``qrelay serve`` (a service and a worker
    process on loopback), each against ``AerSimulator().run``; the three are timed in
    turn, round after round, so a slow spell of the machine falls on all of them."""
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    from benchmarks.peers.service import serve
    from qrelay_qiskit import QRelayProvider

    qc = _bell()
    simulator = AerSimulator()
    compiled = transpile(qc, simulator)
    embedded = QRelayProvider().get_backend("aer_simulator")
    with serve() as service:
        remote = QRelayProvider(service.urls[0], service.user_token).get_backend("aer_simulator")
        paths: dict[str, Callable[[], Any]] = {
            "embedded": lambda: embedded.run(qc, shots=1000).result().get_counts(),
            "serve": lambda: remote.run(qc, shots=1000).result().get_counts(),
            "aer": lambda: simulator.run(compiled, shots=1000).result().get_counts(),
        }
        for fn in paths.values():
            for _ in range(WARMUP):  # start-up, worker caches, connections
                fn()
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(10 if quick else 50):
            for name, fn in paths.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    ms = {name: 1e3 * statistics.median(values) for name, values in times.items()}
    return [
        _row(
            "bell 1000 shots: backend.run (embedded) vs AerSimulator.run",
            ms["embedded"],
            ms["aer"],
            "<= 3x",
        ),
        _row(
            "bell 1000 shots: backend.run (qrelay serve) vs AerSimulator.run",
            ms["serve"],
            ms["aer"],
            "<= 6x",
        ),
    ]


def sampler_v2_case(points: int, repeat: int) -> dict[str, Any]:
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    from qrelay_qiskit import QRelayProvider, QRelaySamplerV2

    qc = _qiskit_ansatz()
    values = np.random.default_rng(1).uniform(0, np.pi, size=(points, qc.num_parameters))
    sampler = QRelaySamplerV2(QRelayProvider().get_backend("aer_simulator"), default_shots=SHOTS)
    simulator = AerSimulator()
    compiled = transpile(qc, simulator)
    binds = [{p: values[:, i].tolist() for i, p in enumerate(qc.parameters)}]

    def ours() -> Any:
        return sampler.run([(qc, values)]).result()[0].data.meas.get_counts(0)

    def reference() -> Any:
        result = simulator.run(compiled, shots=SHOTS, parameter_binds=binds).result()
        return result.get_counts(0)

    for _ in range(WARMUP):
        ours()
    reference()
    return _row(
        f"{points}-point sweep ({QUBITS}q, {qc.num_parameters} params, {SHOTS} shots): "
        "QRelaySamplerV2 vs Aer parameter_binds",
        _median_ms(ours, repeat),
        _median_ms(reference, repeat),
        "<= 1.3x",
    )


def cirq_sweep_case(points: int, repeat: int, target: str) -> dict[str, Any]:
    import cirq

    from qrelay_cirq import QRelayService

    circuit, symbols = _cirq_ansatz()
    values = np.random.default_rng(2).uniform(0, np.pi, size=(points, len(symbols)))
    sweep = cirq.Zip(*(cirq.Points(s, values[:, i].tolist()) for i, s in enumerate(symbols)))
    sampler = QRelayService().sampler(target)
    simulator = cirq.Simulator()

    def ours() -> Any:
        return sampler.run_sweep(circuit, sweep, repetitions=SHOTS)

    def reference() -> Any:
        return simulator.run_sweep(circuit, sweep, repetitions=SHOTS)

    for _ in range(WARMUP):
        ours()
    return _row(
        f"{points}-point sweep ({QUBITS}q, {len(symbols)} params, {SHOTS} shots): "
        f"QRelaySampler.run_sweep on {target} vs cirq.Simulator().run_sweep",
        _median_ms(ours, repeat),
        _median_ms(reference, 1 if repeat <= 3 else 3),
        "<= 0.2x (5x faster)",
    )


def run(quick: bool) -> list[dict[str, Any]]:
    """All front-end cases, measured side by side in this run."""
    points = 100 if quick else 1000
    repeat = 2 if quick else 5
    return [
        *bell_cases(quick),
        sampler_v2_case(points, repeat),
        cirq_sweep_case(points, repeat, "cirq_simulator"),
        cirq_sweep_case(points, repeat, "aer_simulator"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="qrelay front-end benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
