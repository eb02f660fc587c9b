"""Qiskit control flow both ways: every op, classical expressions, variables and stores."""

from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.classical import expr, types

from qrelay.errors import ConversionError, PayloadError
from qrelay.payload.limits import InstructionBudget
from qrelay_qiskit.convert import from_qiskit, to_qiskit
from qrelay_qiskit.convert_reader import expanded_count


def _base() -> tuple[QuantumCircuit, ClassicalRegister]:
    cr = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(2, "q"), cr)
    qc.h(0)
    qc.measure(0, 0)
    return qc, cr


def _round_trip(qc: QuantumCircuit) -> list[str]:
    payload = from_qiskit(qc)
    again = from_qiskit(to_qiskit(payload))
    assert again.instructions == payload.instructions
    assert again.variables == payload.variables
    return [inst["op"] for inst in payload.iter_instructions()]


def test_while_with_break_and_continue() -> None:
    qc, cr = _base()
    with qc.while_loop((cr[0], 1)):
        qc.reset(0)
        qc.h(0)
        qc.measure(0, 0)
        with qc.if_test((cr[1], 1)) as else_:
            qc.break_loop()
        with else_:
            qc.continue_loop()
    ops = _round_trip(qc)
    assert ops.count("while") == 1
    assert "break" in ops
    assert "continue" in ops


def test_for_over_range_and_values_with_a_parameter() -> None:
    qc, _ = _base()
    with qc.for_loop(range(1, 7, 2)) as i:
        qc.rx(i * 0.25, 1)
    with qc.for_loop([3, 1]):
        qc.x(1)
    payload = from_qiskit(qc)
    first, second = payload.instructions[2], payload.instructions[3]
    assert first["loop_range"] == (1, 7, 2)
    assert second["loop_values"] == [3, 1]
    assert payload.free_symbols() == set()
    _round_trip(qc)


def test_switch_on_a_register_an_expression_and_a_clbit() -> None:
    qc, cr = _base()
    with qc.switch(cr) as case:
        with case(0, 1):
            qc.x(1)
        with case(case.DEFAULT):
            qc.z(1)
    with qc.switch(expr.bit_and(cr, 1)) as case, case(1):
        qc.x(0)
    with qc.switch(cr[0]) as case, case(True):
        qc.x(0)
    payload = from_qiskit(qc)
    assert payload.instructions[2]["test"] == {"register": "c"}
    assert payload.instructions[2]["default"] == [{"op": "z", "qubits": [1]}]
    assert payload.instructions[4]["test"] == {"clbit": 0}
    _round_trip(qc)


def test_expressions_variables_and_stores() -> None:
    qc, cr = _base()
    count = qc.add_var("count", expr.lift(0, types.Uint(3)))
    seen = qc.add_var("seen", False)
    with qc.if_test(expr.logic_and(cr[0], expr.logic_not(cr[1]))):
        qc.store(seen, True)
        qc.store(count, expr.bit_or(count, 4))
    with qc.if_test(expr.greater_equal(count, 4)):
        qc.store(cr[1], expr.logic_or(seen, cr[0]))
    with qc.while_loop(expr.not_equal(expr.cast(cr, types.Uint(4)), 0)):
        qc.store(cr, 0)
    payload = from_qiskit(qc)
    assert [v.name for v in payload.variables] == ["count", "seen"]
    test = payload.instructions[4]["test"]
    assert test == {
        "op": "logic_and",
        "args": [{"clbit": 0}, {"op": "logic_not", "args": [{"clbit": 1}]}],
    }
    _round_trip(qc)


def test_plain_if_stays_payload_v1() -> None:
    qc, cr = _base()
    with qc.if_test((cr, 1)):
        qc.x(1)
    payload = from_qiskit(qc)
    assert "condition" in payload.instructions[2]
    assert "test" not in payload.instructions[2]


def test_input_variables_are_refused_by_name() -> None:
    flag = expr.Var.new("flag", types.Bool())
    qc = QuantumCircuit(1, inputs=[flag])
    with qc.if_test(flag):
        qc.x(0)
    with pytest.raises(ConversionError, match="input variables have no payload form"):
        from_qiskit(qc)


def test_loop_bodies_count_against_the_budget() -> None:
    qc, _ = _base()
    with qc.for_loop(range(100)):
        qc.x(1)
        qc.x(1)
    assert expanded_count(qc, 10**6) == 3 + 200
    from_qiskit(qc, budget=InstructionBudget(203))
    with pytest.raises(PayloadError, match="past the limit of 202"):
        from_qiskit(qc, budget=InstructionBudget(202))
