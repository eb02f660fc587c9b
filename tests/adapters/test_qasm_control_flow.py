"""OpenQASM 3 control flow: what the importer reads, how loops are bounded, what is written."""

from __future__ import annotations

import pytest

from qrelay.errors import ConversionError, PayloadError
from qrelay.payload import InstructionBudget
from qrelay.payload.limits import instruction_count

qrelay_qasm = pytest.importorskip("qrelay_qasm")

LOOPS = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
for int i in [0:9] { rx(0.1) q[0]; x q[1]; }
for int i in {1, 4, 6} { x q[0]; }
c[0] = measure q[0];
"""

BRANCHES = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
c[0] = measure q[0];
while (c[0] == true) { reset q[0]; h q[0]; c[0] = measure q[0]; }
if (c[0]) { x q[1]; } else { h q[1]; }
c[1] = measure q[1];
"""


def test_for_bodies_count_once_per_value() -> None:
    circuit = qrelay_qasm.from_qasm3(LOOPS)
    assert [inst["op"] for inst in circuit.instructions] == ["for", "for", "measure"]
    assert circuit.instructions[0]["loop_range"] == (0, 10, 1)
    assert circuit.instructions[1]["loop_values"] == [1, 4, 6]
    assert instruction_count(circuit) == 3 + 10 * 2 + 3
    budget = InstructionBudget(26)
    qrelay_qasm.from_qasm3(LOOPS, budget=budget)
    assert budget.count == 26
    with pytest.raises(PayloadError, match="past the limit of 25"):
        qrelay_qasm.from_qasm3(LOOPS, budget=InstructionBudget(25))


def test_loops_whose_parameter_nothing_reads_run_on_aer() -> None:
    from qrelay_qiskit.engine import AerEngine

    circuit = qrelay_qasm.from_qasm3(LOOPS)
    assert circuit.instructions[0]["loop_parameter"]
    (readout,) = AerEngine().run(circuit, shots=1000, seed=1)
    # rx(0.1) ten times on qubit 0, then x three times: |1> with probability cos^2(0.5)
    ones = readout.register("c").array()[:, 0].mean()
    assert abs(ones - 0.7702) < 0.07


def test_a_loop_over_a_value_not_known_before_import_is_refused() -> None:
    text = LOOPS.replace("bit[2] c;", "bit[2] c;\nint n = 3;").replace("[0:9]", "[0:n]")
    with pytest.raises(ConversionError, match=r"line 6, column 1: a for loop runs over integer"):
        qrelay_qasm.from_qasm3(text)


def test_while_and_if_else_are_read() -> None:
    circuit = qrelay_qasm.from_qasm3(BRANCHES)
    ops = [inst["op"] for inst in circuit.iter_instructions()]
    assert ops.count("while") == 1
    assert ops.count("if") == 1
    written = qrelay_qasm.to_qasm3(circuit)
    assert "while" in written
    assert qrelay_qasm.from_qasm3(written).instructions == circuit.instructions


def test_switch_and_expressions_are_written() -> None:
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit.classical import expr

    from qrelay_qiskit.convert import from_qiskit

    c = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(2, "q"), c)
    qc.measure([0, 1], [0, 1])
    with qc.switch(c) as case, case(1, 2):
        qc.x(0)
    with qc.if_test(expr.logic_and(c[0], c[1])):
        qc.x(1)
    written = qrelay_qasm.to_qasm3(from_qiskit(qc))
    assert "switch" in written
    assert "&&" in written
    # the switch is written on an int variable (int switch_dummy), which is read back
    circuit = qrelay_qasm.from_qasm3(written)
    assert [var.name for var in circuit.variables] == ["switch_dummy"]
    (switch,) = [inst for inst in circuit.instructions if inst["op"] == "switch"]
    assert switch["test"] == {"var": "switch_dummy"}
    (branch,) = [inst for inst in circuit.instructions if inst["op"] == "if"]
    assert branch["test"]["op"] == "logic_and"


def test_a_loop_that_breaks_or_continues_is_read_and_counted() -> None:
    """break and continue are control ops without blocks of their own: the instruction
    count that bounds the import reads past them."""
    text = """OPENQASM 3.0;
include "stdgates.inc";
qubit[1] q;
bit[1] c;
c[0] = measure q[0];
while (c[0] == false) { h q[0]; c[0] = measure q[0]; break; }
for int i in [0:2] { x q[0]; continue; }
"""
    circuit = qrelay_qasm.from_qasm3(text)
    ops = [inst["op"] for inst in circuit.instructions]
    assert ops == ["measure", "while", "for"]
    assert [inst["op"] for inst in circuit.instructions[1]["body"]] == ["h", "measure", "break"]
    assert [inst["op"] for inst in circuit.instructions[2]["body"]] == ["x", "continue"]
