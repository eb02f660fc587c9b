"""The circuits of the side-by-side cases, built the same way for Qiskit and Cirq."""

from __future__ import annotations

from typing import Any

import numpy as np

SWEEP_QUBITS = 10
SWEEP_LAYERS = 4  # 4 layers x 10 qubits = 40 parameters


def qiskit_bell() -> Any:
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def cirq_bell() -> Any:
    import cirq

    a, b = cirq.LineQubit.range(2)
    return cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="c"))


def qiskit_small(index: int) -> Any:
    """The ``index``-th of the small jobs: 3 qubits, one RY angle each, a CX chain."""
    from qiskit import QuantumCircuit

    angles = np.random.default_rng(index).uniform(0, np.pi, 3)
    qc = QuantumCircuit(3, 3, name=f"small{index}")
    for q, angle in enumerate(angles):
        qc.ry(float(angle), q)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def cirq_small(index: int) -> Any:
    import cirq

    angles = np.random.default_rng(index).uniform(0, np.pi, 3)
    q = cirq.LineQubit.range(3)
    return cirq.Circuit(
        [cirq.ry(float(a)).on(q[i]) for i, a in enumerate(angles)],
        cirq.CNOT(q[0], q[1]),
        cirq.CNOT(q[1], q[2]),
        cirq.measure(*q, key="c"),
    )


def qiskit_repeat_until_success() -> Any:
    """A dynamic circuit: prepare an entangled pair until the flag qubit reads 0 (a
    ``while`` loop: one turn a shot on average, none in half the shots), then read the
    other qubit."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    flag, out = ClassicalRegister(1, "flag"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(2, "q"), flag, out, name="rus")

    def prepare() -> None:
        qc.h(0)
        qc.cx(0, 1)
        qc.ry(0.7, 1)
        qc.measure(0, flag[0])

    prepare()
    with qc.while_loop((flag[0], 1)):
        qc.reset([0, 1])
        prepare()
    qc.measure(1, out[0])
    return qc


def qiskit_ansatz() -> Any:
    """RY layers with a CX chain: 10 qubits, 40 parameters, measure all."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    theta = ParameterVector("theta", SWEEP_QUBITS * SWEEP_LAYERS)
    qc = QuantumCircuit(SWEEP_QUBITS, name="ansatz")
    for layer in range(SWEEP_LAYERS):
        for q in range(SWEEP_QUBITS):
            qc.ry(theta[layer * SWEEP_QUBITS + q], q)
        for q in range(SWEEP_QUBITS - 1):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def cirq_ansatz() -> tuple[Any, list[Any]]:
    import cirq
    import sympy

    qubits = cirq.LineQubit.range(SWEEP_QUBITS)
    symbols = [sympy.Symbol(f"theta_{i}") for i in range(SWEEP_QUBITS * SWEEP_LAYERS)]
    circuit = cirq.Circuit()
    for layer in range(SWEEP_LAYERS):
        circuit.append(
            cirq.ry(symbols[layer * SWEEP_QUBITS + q]).on(qubits[q]) for q in range(SWEEP_QUBITS)
        )
        circuit.append(cirq.CNOT(qubits[q], qubits[q + 1]) for q in range(SWEEP_QUBITS - 1))
    circuit.append(cirq.measure(*qubits, key="m"))
    return circuit, symbols


def qiskit_random(num_qubits: int, depth: int, seed: int = 11) -> Any:
    """Layers of random U rotations and CX on a random pairing; measure all."""
    from qiskit import QuantumCircuit

    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(num_qubits, name=f"random{num_qubits}x{depth}")
    for _ in range(depth):
        for q in range(num_qubits):
            a, b, c = rng.uniform(0, 2 * np.pi, 3)
            qc.rz(float(a), q)
            qc.ry(float(b), q)
            qc.rz(float(c), q)
        order = rng.permutation(num_qubits)
        for i in range(0, num_qubits - 1, 2):
            qc.cx(int(order[i]), int(order[i + 1]))
    qc.measure_all()
    return qc
