"""The same dynamic programs written in Qiskit, OpenQASM 3 and Cirq give the same results.

Each is converted to the payload by its own reader and run on the Aer engine; the
probability that the program's ``out`` bit reads 1 agrees across the languages within
0.03 at 4,000 shots (about five standard deviations).
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import sympy
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.classical import expr

from qrelay.payload import Circuit
from qrelay_cirq.convert import from_cirq
from qrelay_qiskit.convert import from_qiskit
from qrelay_qiskit.engine import AerEngine

qrelay_qasm = pytest.importorskip("qrelay_qasm")

SHOTS = 4000


def _p_out(circuit: Circuit, seed: int) -> float:
    (readout,) = AerEngine().run(circuit, shots=SHOTS, seed=seed)
    return float(np.mean(readout.register("out").array()[:, 0]))


def _cirq_itself(circuit: cirq.Circuit, seed: int) -> float:
    """The same probability from Cirq's own simulator."""
    result = cirq.Simulator(seed=seed).run(circuit, repetitions=SHOTS)
    return float(np.mean(result.records["out"][:, -1, 0]))  # its last "out" record


def _qiskit_teleport() -> QuantumCircuit:
    m, out = ClassicalRegister(2, "m"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(3, "q"), m, out)
    qc.ry(1.1, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure(0, m[0])
    qc.measure(1, m[1])
    with qc.if_test((m[1], 1)):
        qc.x(2)
    with qc.if_test((m[0], 1)):
        qc.z(2)
    qc.ry(0.4, 2)
    qc.measure(2, out[0])
    return qc


QASM_TELEPORT = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[2] m;
bit[1] out;
ry(1.1) q[0];
h q[1];
cx q[1], q[2];
cx q[0], q[1];
h q[0];
m[0] = measure q[0];
m[1] = measure q[1];
if (m[1] == true) { x q[2]; }
if (m[0] == true) { z q[2]; }
ry(0.4) q[2];
out[0] = measure q[2];
"""


def _cirq_teleport() -> cirq.Circuit:
    a, b, c = cirq.LineQubit.range(3)
    return cirq.Circuit(
        cirq.ry(1.1).on(a),
        cirq.H(b),
        cirq.CNOT(b, c),
        cirq.CNOT(a, b),
        cirq.H(a),
        cirq.measure(a, key="m0"),
        cirq.measure(b, key="m1"),
        cirq.X(c).with_classical_controls("m1"),
        cirq.Z(c).with_classical_controls("m0"),
        cirq.ry(0.4).on(c),
        cirq.measure(c, key="out"),
    )


def _qiskit_rus() -> QuantumCircuit:
    flag, out = ClassicalRegister(1, "flag"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(2, "q"), flag, out)
    qc.h(0)
    qc.ry(0.3, 1)
    qc.measure(0, flag[0])
    with qc.while_loop((flag[0], 1)):
        qc.reset(0)
        qc.h(0)
        qc.ry(0.3, 1)
        qc.measure(0, flag[0])
    qc.measure(1, out[0])
    return qc


QASM_RUS = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[1] flag;
bit[1] out;
h q[0];
ry(0.3) q[1];
flag[0] = measure q[0];
while (flag[0] == true) { reset q[0]; h q[0]; ry(0.3) q[1]; flag[0] = measure q[0]; }
out[0] = measure q[1];
"""


def _cirq_rus() -> cirq.Circuit:
    """Cirq's loop runs its body, then again until its condition holds: the first turn
    of the others' programs is its first repetition."""
    a, b = cirq.LineQubit.range(2)
    turn = cirq.FrozenCircuit(
        cirq.reset(a), cirq.H(a), cirq.ry(0.3).on(b), cirq.measure(a, key="f")
    )
    done = cirq.SympyCondition(sympy.Eq(sympy.Symbol("f"), 0))
    return cirq.Circuit(
        cirq.CircuitOperation(turn, repeat_until=done, use_repetition_ids=False),
        cirq.measure(b, key="out"),
    )


def _qiskit_and() -> QuantumCircuit:
    c, out = ClassicalRegister(2, "c"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(3, "q"), c, out)
    qc.h(0)
    qc.ry(2.1, 1)
    qc.measure([0, 1], [0, 1])
    with qc.if_test(expr.logic_and(c[0], c[1])):
        qc.x(2)
    qc.measure(2, out[0])
    return qc


def _cirq_and() -> cirq.Circuit:
    a, b, c = cirq.LineQubit.range(3)
    both = cirq.SympyCondition(sympy.And(sympy.Symbol("c0") > 0, sympy.Symbol("c1") > 0))
    return cirq.Circuit(
        cirq.H(a),
        cirq.ry(2.1).on(b),
        cirq.measure(a, key="c0"),
        cirq.measure(b, key="c1"),
        cirq.X(c).with_classical_controls(both),
        cirq.measure(c, key="out"),
    )


def test_teleportation_agrees_in_three_languages() -> None:
    qiskit = _p_out(from_qiskit(_qiskit_teleport()), 1)
    qasm = _p_out(qrelay_qasm.from_qasm3(QASM_TELEPORT), 2)
    ours = _p_out(from_cirq(_cirq_teleport()), 3)
    expected = float(np.sin(0.75) ** 2)  # ry(1.1) then ry(0.4): ry(1.5)
    for value in (qiskit, qasm, ours):
        assert abs(value - expected) < 0.03


def test_repeat_until_success_agrees_in_three_languages() -> None:
    qiskit = _p_out(from_qiskit(_qiskit_rus()), 1)
    qasm = _p_out(qrelay_qasm.from_qasm3(QASM_RUS), 2)
    ours = _p_out(from_cirq(_cirq_rus()), 3)
    assert abs(qiskit - qasm) < 0.03
    assert abs(qiskit - ours) < 0.03
    assert abs(ours - _cirq_itself(_cirq_rus(), 4)) < 0.03


QASM_AND = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[2] c;
bit[1] out;
h q[0];
ry(2.1) q[1];
c[0] = measure q[0];
c[1] = measure q[1];
if (c[0] && c[1]) { x q[2]; }
out[0] = measure q[2];
"""


def test_an_and_of_two_bits_agrees_in_three_languages() -> None:
    qiskit = _p_out(from_qiskit(_qiskit_and()), 1)
    qasm = _p_out(qrelay_qasm.from_qasm3(QASM_AND), 4)
    ours = _p_out(from_cirq(_cirq_and()), 2)
    assert abs(ours - _cirq_itself(_cirq_and(), 3)) < 0.03
    expected = 0.5 * float(np.sin(1.05) ** 2)
    for value in (qiskit, qasm, ours):
        assert abs(value - expected) < 0.03


def test_teleportation_with_switch_agrees_with_if() -> None:
    """The OpenQASM 3 teleport with its corrections in a ``switch`` on both bits."""
    corrections = "if (m[1] == true) { x q[2]; }\nif (m[0] == true) { z q[2]; }\n"
    switch = "switch (m) { case 1 { z q[2]; } case 2 { x q[2]; } case 3 { x q[2]; z q[2]; } }\n"
    assert corrections in QASM_TELEPORT
    qasm = _p_out(qrelay_qasm.from_qasm3(QASM_TELEPORT.replace(corrections, switch)), 5)
    qiskit = _p_out(from_qiskit(_qiskit_teleport()), 1)
    assert abs(qasm - qiskit) < 0.03
    assert abs(qasm - float(np.sin(0.75) ** 2)) < 0.03
