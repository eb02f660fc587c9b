"""Cirq's conditions and repeat_until loops read into payload.v2, run on Aer as in Cirq."""

from __future__ import annotations

import cirq
import pytest
import sympy

from qrelay.errors import ConversionError
from qrelay_cirq.convert import from_cirq, to_cirq
from qrelay_qiskit.engine import AerEngine

SHOTS = 4000
A, B, C = cirq.LineQubit.range(3)


def _and_of_two_keys(condition: cirq.Condition) -> cirq.Circuit:
    return cirq.Circuit(
        cirq.H(A),
        cirq.H(B),
        cirq.measure(A, key="m0"),
        cirq.measure(B, key="m1"),
        cirq.X(C).with_classical_controls(condition),
        cirq.measure(C, key="out"),
    )


@pytest.mark.parametrize(
    "expression",
    [
        sympy.And(sympy.Symbol("m0") > 0, sympy.Eq(sympy.Symbol("m1"), 1)),
        sympy.And(sympy.Symbol("m0"), sympy.Symbol("m1")),
        sympy.Not(sympy.Or(sympy.Eq(sympy.Symbol("m0"), 0), sympy.Ne(sympy.Symbol("m1"), 1))),
    ],
)
def test_sympy_conditions_run_as_in_cirq(expression: sympy.Basic) -> None:
    circuit = _and_of_two_keys(cirq.SympyCondition(expression))
    payload = from_cirq(circuit)
    assert "test" in payload.instructions[4]
    (readout,) = AerEngine().run(payload, shots=SHOTS, seed=1)
    m0, m1, out = (readout.register(k).array()[:, 0] for k in ("m0", "m1", "out"))
    assert (out == (m0 & m1)).all()  # x exactly when both read 1
    back = cirq.Simulator(seed=1).run(to_cirq(payload), repetitions=500)
    m0, m1, out = (back.measurements[k][:, 0] for k in ("m0", "m1", "out"))
    assert (out == (m0 & m1)).all()  # and written back to Cirq, the same holds


def test_a_multi_bit_key_compares_in_cirq_bit_order_with_its_invert_mask() -> None:
    circuit = cirq.Circuit(
        cirq.H(A),
        cirq.H(B),
        cirq.measure(A, B, key="k", invert_mask=(False, True)),
        cirq.X(C).with_classical_controls(cirq.SympyCondition(sympy.Eq(sympy.Symbol("k"), 2))),
        cirq.measure(C, key="out"),
    )
    (readout,) = AerEngine().run(from_cirq(circuit), shots=SHOTS, seed=2)
    raw = readout.register("k").array()
    value = 2 * raw[:, 0] + (1 - raw[:, 1])  # Cirq's value: A first, B's bit inverted
    out = readout.register("out").array()[:, 0]
    assert (out == (value == 2)).all()
    expected = cirq.Simulator(seed=2).run(circuit, repetitions=SHOTS)
    assert (expected.measurements["out"][:, 0] == (expected.data["k"] == 2)).all()


def test_repeat_until_reads_as_a_while_loop() -> None:
    body = cirq.FrozenCircuit(cirq.reset(A), cirq.H(A), cirq.measure(A, key="flag"))
    until = cirq.KeyCondition(cirq.MeasurementKey("flag"))
    circuit = cirq.Circuit(
        cirq.CircuitOperation(body, repeat_until=until, use_repetition_ids=False),
        cirq.measure(B, key="other"),
    )
    payload = from_cirq(circuit)
    ops = [inst["op"] for inst in payload.instructions]
    assert ops == ["reset", "h", "measure", "while", "measure"]
    assert [reg.name for reg in payload.registers] == ["flag", "other"]
    (readout,) = AerEngine().run(payload, shots=500, seed=3)
    assert readout.register("flag").array().all()  # repeated until flag read 1


def test_an_unsupported_condition_is_refused_by_name() -> None:
    circuit = _and_of_two_keys(cirq.SympyCondition(sympy.Symbol("m0") < 1))
    with pytest.raises(ConversionError, match="has no payload form"):
        from_cirq(circuit)
