"""The dynamic programs of the acceptance tests, built once for every test that runs them.

The Qiskit circuits (repeat until success, a switch on two bits, an AND of two clbits,
teleportation with ``if`` and with ``switch``, the bit-flip code) run through the front
ends, the OpenQASM 3 importer's tests compare with them, and the payload forms of two of
them (as the Qiskit adapter reads them) run on the Cirq writer and the cirq driver.
"""

from __future__ import annotations

from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.classical import expr

from qrelay.payload import Circuit


# ------------------------------------------------------------------ Qiskit circuits
def repeat_until_success() -> QuantumCircuit:
    """Prepare a pair until the flag qubit reads 0, then read the other qubit."""
    flag, out = ClassicalRegister(1, "flag"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(2, "q"), flag, out, name="rus")
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.7, 1)
    qc.measure(0, flag[0])
    with qc.while_loop((flag[0], 1)):
        qc.reset([0, 1])
        qc.h(0)
        qc.cx(0, 1)
        qc.ry(0.7, 1)
        qc.measure(0, flag[0])
    qc.measure(1, out[0])
    return qc


def switch_on_two_bits() -> QuantumCircuit:
    c, out = ClassicalRegister(2, "c"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(3, "q"), c, out, name="switch2")
    qc.h(0)
    qc.ry(1.2, 1)
    qc.measure([0, 1], [0, 1])
    with qc.switch(c) as case:
        with case(0):
            qc.x(2)
        with case(1):
            qc.h(2)
        with case(2):
            qc.ry(0.5, 2)
        with case(case.DEFAULT):
            qc.ry(2.0, 2)
    qc.measure(2, out[0])
    return qc


def and_of_two_clbits() -> QuantumCircuit:
    c, out = ClassicalRegister(2, "c"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(3, "q"), c, out, name="and")
    qc.h(0)
    qc.ry(2.1, 1)
    qc.measure([0, 1], [0, 1])
    with qc.if_test(expr.logic_and(c[0], c[1])) as else_:
        qc.x(2)
    with else_:
        qc.ry(0.4, 2)
    qc.measure(2, out[0])
    return qc


def _teleport_start(name: str) -> tuple[QuantumCircuit, ClassicalRegister, ClassicalRegister]:
    m, out = ClassicalRegister(2, "m"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(3, "q"), m, out, name=name)
    qc.ry(1.1, 0)
    qc.rz(0.3, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure(0, m[0])
    qc.measure(1, m[1])
    return qc, m, out


def teleport_with_if() -> QuantumCircuit:
    qc, m, out = _teleport_start("teleport_if")
    with qc.if_test((m[1], 1)):
        qc.x(2)
    with qc.if_test((m[0], 1)):
        qc.z(2)
    qc.ry(-1.1, 2)  # undo the preparation: a perfect teleport reads 0
    qc.measure(2, out[0])
    return qc


def teleport_with_switch() -> QuantumCircuit:
    qc, m, out = _teleport_start("teleport_switch")
    with qc.switch(m) as case:
        with case(1):
            qc.z(2)
        with case(2):
            qc.x(2)
        with case(3):
            qc.x(2)
            qc.z(2)
    qc.ry(-1.1, 2)
    qc.measure(2, out[0])
    return qc


def bit_flip_code() -> QuantumCircuit:
    """Encode ry(0.8)|0> in three qubits, flip one, measure the syndrome, correct, decode."""
    syndrome, out = ClassicalRegister(2, "syndrome"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(5, "q"), syndrome, out, name="bit_flip")
    qc.ry(0.8, 0)
    qc.cx(0, 1)
    qc.cx(0, 2)
    qc.x(1)  # the error
    qc.cx(0, 3)
    qc.cx(1, 3)
    qc.cx(1, 4)
    qc.cx(2, 4)
    qc.measure(3, syndrome[0])
    qc.measure(4, syndrome[1])
    with qc.switch(syndrome) as case:
        with case(1):
            qc.x(0)
        with case(3):
            qc.x(1)
        with case(2):
            qc.x(2)
    qc.cx(0, 2)
    qc.cx(0, 1)
    qc.measure(0, out[0])
    return qc


# ------------------------------------------------------------------ payload circuits
def measure(qubit: int, clbit: int) -> dict[str, Any]:
    """A payload measure of ``qubit`` into ``clbit``."""
    return {"op": "measure", "qubits": [qubit], "clbits": [clbit]}


def repeat_until_success_payload() -> Circuit:
    """:func:`repeat_until_success` as the Qiskit adapter reads it: prepare and measure,
    then while the flag reads 1, reset and again."""
    prepare = [
        {"op": "h", "qubits": [0]},
        {"op": "cx", "qubits": [0, 1]},
        {"op": "ry", "qubits": [1], "params": [0.7]},
        measure(0, 0),
    ]
    resets = [{"op": "reset", "qubits": [0]}, {"op": "reset", "qubits": [1]}]
    return Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "flag", "size": 1}, {"name": "out", "size": 1}],
            "instructions": [
                *prepare,
                {
                    "op": "while",
                    "qubits": [],
                    "condition": {"clbit": 0, "value": 1},
                    "body": resets + prepare,
                },
                measure(1, 1),
            ],
        }
    )


def and_of_two_clbits_payload() -> Circuit:
    """:func:`and_of_two_clbits` as a payload: x on qubit 2 when both measured bits
    read 1, else ry(0.4) on it."""
    return Circuit.model_validate(
        {
            "num_qubits": 3,
            "registers": [{"name": "c", "size": 2}, {"name": "out", "size": 1}],
            "instructions": [
                {"op": "h", "qubits": [0]},
                {"op": "ry", "qubits": [1], "params": [2.1]},
                measure(0, 0),
                measure(1, 1),
                {
                    "op": "if",
                    "qubits": [],
                    "test": {"op": "logic_and", "args": [{"clbit": 0}, {"clbit": 1}]},
                    "body": [{"op": "x", "qubits": [2]}],
                    "else_body": [{"op": "ry", "qubits": [2], "params": [0.4]}],
                },
                measure(2, 2),
            ],
        }
    )
