"""payload.v2 control flow written to Cirq: expression conditions, repeat_until, repetitions."""

from __future__ import annotations

from typing import Any

import cirq
import numpy as np
import pytest
from tests.dynamic_programs import measure as _measure
from tests.dynamic_programs import repeat_until_success_payload as repeat_until_success

from qrelay.errors import ConversionError
from qrelay.payload import Circuit
from qrelay.payload.classical import ClassicalExpr
from qrelay_cirq.convert import from_cirq, to_cirq
from qrelay_qiskit.engine import AerEngine

SHOTS = 600


def _conditioned(test: ClassicalExpr, *, else_body: bool = False) -> Circuit:
    """Three random bits (one register ``c``), then x on qubit 3 when ``test`` holds."""
    branch: dict[str, Any] = {"op": "if", "qubits": [], "test": test}
    branch["body"] = [{"op": "x", "qubits": [3]}]
    if else_body:
        branch["body"] = []
        branch["else_body"] = [{"op": "x", "qubits": [3]}]
    return Circuit.model_validate(
        {
            "num_qubits": 4,
            "registers": [{"name": "c", "size": 3}, {"name": "out", "size": 1}],
            "instructions": [
                {"op": "h", "qubits": [0]},
                {"op": "h", "qubits": [1]},
                {"op": "h", "qubits": [2]},
                _measure(0, 0),
                _measure(1, 1),
                _measure(2, 2),
                branch,
                _measure(3, 3),
            ],
        }
    )


def _bits(c: np.ndarray[Any, Any]) -> tuple[Any, Any, Any, Any]:
    b0, b1, b2 = (c[:, j].astype(bool) for j in range(3))
    value = c[:, 0] + 2 * c[:, 1] + 4 * c[:, 2]
    return b0, b1, b2, value


#: (test, what it means for the register's bits b0, b1, b2 and its value); the Cirq
#: reader reads back all but the order comparison of a register
CASES: list[tuple[ClassicalExpr, Any]] = [
    (
        {"op": "logic_and", "args": [{"clbit": 0}, {"clbit": 2}]},
        lambda b0, b1, b2, v: b0 & b2,
    ),
    (
        {"op": "logic_or", "args": [{"op": "logic_not", "args": [{"clbit": 1}]}, {"clbit": 0}]},
        lambda b0, b1, b2, v: ~b1 | b0,
    ),
    (
        {"op": "bit_xor", "args": [{"clbit": 0}, {"clbit": 1}]},
        lambda b0, b1, b2, v: b0 ^ b1,
    ),
    (
        {"op": "equal", "args": [{"register": "c"}, {"lit": 6, "width": 3}]},
        lambda b0, b1, b2, v: v == 6,
    ),
    (
        {"op": "greater_equal", "args": [{"register": "c"}, {"lit": 5, "width": 3}]},
        lambda b0, b1, b2, v: v >= 5,
    ),
    (
        {"op": "not_equal", "args": [{"clbit": 2}, {"lit": True}]},
        lambda b0, b1, b2, v: ~b2,
    ),
    ({"register": "c"}, lambda b0, b1, b2, v: v != 0),
]


@pytest.mark.parametrize(("test", "meaning"), CASES)
@pytest.mark.parametrize("else_body", [False, True])
def test_expression_conditions_run_in_cirq_as_they_read(
    test: ClassicalExpr, meaning: Any, else_body: bool
) -> None:
    payload = _conditioned(test, else_body=else_body)
    program = to_cirq(payload)
    result = cirq.Simulator(seed=4).run(program, repetitions=SHOTS)
    # Cirq's key "c" lists the qubits first to last: register bit j is column j
    c = result.measurements["c"]
    b0, b1, b2, value = _bits(c)
    holds = np.asarray(meaning(b0, b1, b2, value), dtype=bool)
    out = result.measurements["out"][:, 0].astype(bool)
    assert 0 < holds.sum() < SHOTS
    assert (out == (~holds if else_body else holds)).all()
    if test.get("op") == "greater_equal":
        with pytest.raises(ConversionError, match="has no payload form"):
            from_cirq(program)
        return
    # read back from Cirq, the condition means the same on Aer
    (readout,) = AerEngine().run(from_cirq(program), shots=SHOTS, seed=5)
    b0, b1, b2, value = _bits(readout.register("c").array())
    holds = np.asarray(meaning(b0, b1, b2, value), dtype=bool)
    out = readout.register("out").array()[:, 0].astype(bool)
    assert (out == (~holds if else_body else holds)).all()


def test_a_whole_register_condition_reads_back_as_a_comparison_of_its_key() -> None:
    payload = _conditioned({"op": "equal", "args": [{"register": "c"}, {"lit": 6, "width": 3}]})
    back = from_cirq(to_cirq(payload))
    assert back.instructions[6]["test"] == {
        "op": "equal",
        "args": [{"register": "c"}, {"lit": 6, "width": 3}],
    }


def test_a_while_after_its_body_becomes_repeat_until_and_reads_back() -> None:
    program = to_cirq(repeat_until_success())
    (loop,) = [op for op in program.all_operations() if isinstance(op, cirq.CircuitOperation)]
    assert loop.repeat_until is not None
    assert {str(k) for k in loop.repeat_until.keys} == {"flag"}
    assert len(list(loop.circuit.all_operations())) == 6  # the resets of fresh qubits kept
    result = cirq.Simulator(seed=6).run(program, repetitions=SHOTS)
    records = result.records["flag"]
    assert records.shape[0] == SHOTS
    assert records.shape[2] == 1
    assert records.shape[1] > 3  # some shots took several turns
    back = from_cirq(program)
    ops = [inst["op"] for inst in back.instructions]
    assert ops == ["reset", "reset", "h", "cx", "ry", "measure", "while", "measure"]
    (readout,) = AerEngine().run(back, shots=SHOTS, seed=7)
    assert not readout.register("flag").array().any()  # repeated until the flag read 0


def test_cirq_repeat_until_survives_a_round_trip() -> None:
    a, b = cirq.LineQubit.range(2)
    body = cirq.FrozenCircuit(cirq.reset(a), cirq.H(a), cirq.measure(a, key="flag"))
    until = cirq.KeyCondition(cirq.MeasurementKey("flag"))
    circuit = cirq.Circuit(
        cirq.CircuitOperation(body, repeat_until=until, use_repetition_ids=False),
        cirq.measure(b, key="other"),
    )
    again = to_cirq(from_cirq(circuit))
    (loop,) = [op for op in again.all_operations() if isinstance(op, cirq.CircuitOperation)]
    assert loop.repeat_until == until
    assert loop.circuit == body
    assert not loop.use_repetition_ids


def test_a_for_over_a_range_becomes_repetitions() -> None:
    payload = Circuit.model_validate(
        {
            "num_qubits": 1,
            "instructions": [
                {
                    "op": "for",
                    "qubits": [],
                    "loop_range": [0, 3, 1],
                    "loop_parameter": "i",
                    "body": [{"op": "rx", "qubits": [0], "params": [0.3]}],
                }
            ],
        }
    )
    program = to_cirq(payload)
    (loop,) = list(program.all_operations())
    assert isinstance(loop, cirq.CircuitOperation)
    assert loop.repetitions == 3
    np.testing.assert_allclose(cirq.unitary(program), cirq.unitary(cirq.rx(0.9)), atol=1e-9)
    back = from_cirq(program)
    assert [inst["op"] for inst in back.instructions] == ["rx", "rx", "rx"]


def _refused(instructions: list[dict[str, Any]], **extra: Any) -> Circuit:
    return Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [{"op": "h", "qubits": [0]}, _measure(0, 0), *instructions],
            **extra,
        }
    )


X1 = {"op": "x", "qubits": [1]}


@pytest.mark.parametrize(
    ("instructions", "extra", "pattern"),
    [
        (
            [{"op": "while", "qubits": [], "condition": {"clbit": 0, "value": 1}, "body": [X1]}],
            {},
            r"instruction 2 \(while\): Cirq's repeat_until runs its body at least once",
        ),
        (
            [
                {"op": "x", "qubits": [1]},
                _measure(1, 1),
                {
                    "op": "while",
                    "qubits": [],
                    "condition": {"clbit": 0, "value": 1},
                    "body": [{"op": "x", "qubits": [1]}, _measure(1, 1)],
                },
            ],
            {},
            r"instruction 4 \(while\): the test reads \['c\[0\]'\], which the loop body does",
        ),
        (
            [{"op": "if", "qubits": [], "test": {"var": "v"}, "body": [X1]}],
            {"variables": [{"name": "v", "type": "bool"}]},
            r"instruction 2 \(if\): variable 'v': Cirq conditions read keys only",
        ),
        (
            [
                _measure(1, 1),
                {
                    "op": "if",
                    "qubits": [],
                    "test": {
                        "op": "equal",
                        "args": [
                            {"op": "bit_and", "args": [{"register": "c"}, {"lit": 1, "width": 2}]},
                            {"lit": 1, "width": 2},
                        ],
                    },
                    "body": [X1],
                },
            ],
            {},
            r"instruction 3 \(if\): operation 'bit_and' on integers has no Cirq condition",
        ),
        (
            [
                {
                    "op": "for",
                    "qubits": [],
                    "loop_range": [0, 2, 1],
                    "loop_parameter": "i",
                    "body": [{"op": "rx", "qubits": [1], "params": ["i"]}],
                }
            ],
            {},
            r"instruction 2 \(for\): the body reads loop parameter 'i'",
        ),
        (
            [{"op": "for", "qubits": [], "loop_values": [1, 4], "body": [X1]}],
            {},
            r"instruction 2 \(for\): only a loop over a range",
        ),
        (
            [{"op": "for", "qubits": [], "loop_range": [0, 2, 1], "body": [_measure(1, 1)]}],
            {},
            r"instruction 2 \(for\): a body with 'measure'",
        ),
        (
            [
                {
                    "op": "switch",
                    "qubits": [],
                    "test": {"clbit": 0},
                    "cases": [{"values": [1], "body": [_measure(1, 1)]}],
                }
            ],
            {},
            r"instruction 2.cases.0.body.0 \(measure\): a measurement inside 'if' or 'switch'",
        ),
        (
            [{"op": "store", "qubits": [], "lvalue": {"clbit": 1}, "rvalue": {"clbit": 0}}],
            {},
            r"instruction 2 \(store\): no Cirq equivalent",
        ),
    ],
)
def test_what_cirq_cannot_hold_is_refused_by_name(
    instructions: list[dict[str, Any]], extra: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(ConversionError, match=pattern):
        to_cirq(_refused(instructions, **extra))


def test_a_loop_body_measurement_that_joins_a_key_before_the_loop_is_refused() -> None:
    loop = {
        "op": "while",
        "qubits": [],
        "condition": {"clbit": 0, "value": 1},
        "body": [_measure(0, 0)],
    }
    circuit = Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [{"op": "h", "qubits": [0]}, _measure(1, 1), _measure(0, 0), loop],
        }
    )
    # c is one Cirq key measured at instruction 1, the copy of the body included
    with pytest.raises(ConversionError, match=r"instruction 3 \(while\): a measurement of"):
        to_cirq(circuit)
