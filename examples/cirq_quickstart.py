"""Cirq quickstart: a GHZ state on GridQubits, sampled through qrelay, and a device check.

``QRelayCirqService()`` with no ``QRELAY_URL`` uses the embedded default. The sampler is a
``cirq.Sampler``; the results are ``cirq.ResultDict`` objects keyed by your measurement
keys. ``service.device(...)`` is a ``cirq.Device`` that refuses what the QPU cannot run.

    python examples/cirq_quickstart.py
"""

from __future__ import annotations

import cirq

from qrelay_cirq import QRelayCirqService


def main() -> None:
    service = QRelayCirqService()
    qubits = [cirq.GridQubit(0, c) for c in range(3)]
    circuit = cirq.Circuit(
        cirq.H(qubits[0]),
        cirq.CNOT(qubits[0], qubits[1]),
        cirq.CNOT(qubits[1], qubits[2]),
        cirq.measure(*qubits, key="ghz"),
    )

    sampler = service.sampler("cirq_simulator")
    result = sampler.run(circuit, repetitions=1000)
    histogram = result.histogram(key="ghz")
    print(f"target: {sampler.target}  repetitions: 1000")
    print(f"ghz histogram (value: count): {dict(sorted(histogram.items()))}")

    device = service.device("square_qpu")
    print(
        f"device {device.info.name}: {len(device.qubits)} qubits, "
        f"{device.metadata.nx_graph.number_of_edges()} couplings"
    )
    corner, far = cirq.GridQubit(0, 0), cirq.GridQubit(3, 3)
    try:
        device.validate_operation(cirq.CZ(corner, far))
    except ValueError as exc:
        print(f"refused as expected: {exc}")


if __name__ == "__main__":
    main()
