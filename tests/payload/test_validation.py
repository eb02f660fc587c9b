"""Every validation rule of payload.v1: feed the bad input, check the message names it.

Inputs go through :func:`qrelay.payload.parse`, the one way in for untrusted data, so the
messages checked here are what the service and the runtime show.
"""

from __future__ import annotations

import base64
import copy
import json
import math
from typing import Any

import numpy as np
import pydantic
import pytest

from qrelay import payload as p
from qrelay.errors import PayloadError, QRelayError, ValidationError
from qrelay.payload.circuit import MAX_BINDING_ROWS, MAX_INSTRUCTIONS

H = {"op": "h", "qubits": [0]}


def circuit(instructions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "num_qubits": 3,
        "registers": [{"name": "c", "size": 2}, {"name": "flag", "size": 1}],
        "instructions": instructions,
    }
    data.update(fields)
    return data


def refused(
    model: type[Any], data: Any, pattern: str, *, check_unchanged: bool = True
) -> PayloadError:
    """Assert ``data`` is refused with a PayloadError whose message matches ``pattern``."""
    before = copy.deepcopy(data) if check_unchanged else None
    with pytest.raises(PayloadError, match=pattern) as info:
        p.parse(model, data)
    if check_unchanged:
        assert data == before, "a refused input must not be changed"
    return info.value


def test_payload_error_is_in_the_tree() -> None:
    err = refused(p.Circuit, circuit([{"op": "x", "qubits": [7]}]), "qubit 7")
    assert isinstance(err, ValidationError)
    assert isinstance(err, QRelayError)
    assert isinstance(err, ValueError)


# ------------------------------------------------------------------ qubits and arity
def test_qubit_out_of_range() -> None:
    refused(
        p.Circuit,
        circuit([H, {"op": "cx", "qubits": [0, 3]}]),
        r"^instruction 1 \(cx\): qubit 3 is out of range for 3 qubits$",
    )


def test_negative_qubit() -> None:
    refused(p.Circuit, circuit([{"op": "x", "qubits": [-1]}]), r"instruction 0 \(x\): qubit -1")


def test_qubit_out_of_range_in_if_body() -> None:
    inst = {
        "op": "if",
        "qubits": [],
        "condition": {"register": "c", "value": 1},
        "body": [H, {"op": "z", "qubits": [9]}],
    }
    refused(p.Circuit, circuit([H, inst]), r"instruction 1\.body\.1 \(z\): qubit 9 is out of range")


def test_repeated_qubit() -> None:
    refused(
        p.Circuit,
        circuit([{"op": "cz", "qubits": [1, 1]}]),
        r"instruction 0 \(cz\): a qubit is repeated in \[1, 1\]",
    )


def test_repeated_qubit_three_qubit_gate() -> None:
    refused(
        p.Circuit, circuit([{"op": "ccx", "qubits": [0, 2, 0]}]), r"\(ccx\): a qubit is repeated"
    )


@pytest.mark.parametrize(
    ("inst", "pattern"),
    [
        ({"op": "cx", "qubits": [0]}, r"instruction 0 \(cx\): takes 2 qubit\(s\), got 1"),
        ({"op": "h", "qubits": [0, 1]}, r"instruction 0 \(h\): takes 1 qubit\(s\), got 2"),
        ({"op": "ccx", "qubits": [0, 1]}, r"\(ccx\): takes 3 qubit\(s\), got 2"),
        ({"op": "measure", "qubits": [], "clbits": [0]}, r"\(measure\): takes 1 qubit"),
    ],
)
def test_wrong_arity(inst: dict[str, Any], pattern: str) -> None:
    refused(p.Circuit, circuit([inst]), pattern)


@pytest.mark.parametrize(
    ("inst", "pattern"),
    [
        ({"op": "rx", "qubits": [0]}, r"\(rx\): takes 1 parameter\(s\) \['theta'\], got 0"),
        ({"op": "h", "qubits": [0], "params": [0.5]}, r"\(h\): takes 0 parameter\(s\) \[\], got 1"),
        ({"op": "u", "qubits": [0], "params": [1.0, 2.0]}, r"\(u\): takes 3 parameter\(s\)"),
        ({"op": "delay", "qubits": [0]}, r"\(delay\): takes 1 parameter\(s\) \['duration'\]"),
    ],
)
def test_wrong_parameter_count(inst: dict[str, Any], pattern: str) -> None:
    refused(p.Circuit, circuit([inst]), pattern)


def test_unknown_op() -> None:
    refused(
        p.Circuit,
        circuit([{"op": "frobnicate", "qubits": [0]}]),
        r"instruction 0: unknown op 'frobnicate'",
    )


def test_unknown_instruction_field() -> None:
    err = refused(
        p.Circuit, circuit([{"op": "h", "qubits": [0], "qbits": [1]}]), r"instructions\.0\.qbits"
    )
    assert err.location == ("instructions", 0, "qbits")


@pytest.mark.parametrize(
    ("inst", "pattern", "location"),
    [
        ({"op": "h", "qubits": [0], "qbits": [1]}, r"instructions\.1\.qbits", (1, "qbits")),
        ({"op": "h", "qubits": "0"}, r"instructions\.1\.qubits: .*valid list", (1, "qubits")),
        ({"op": "cx", "qubits": [0, 1.5]}, r"instructions\.1\.qubits\.1: ", (1, "qubits", 1)),
        ({"op": "rx", "qubits": [0], "params": "a"}, r"instructions\.1\.params: ", (1, "params")),
        ("h", r"instructions\.1: .*valid dictionary", (1,)),
        (
            {"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 1}, "body": [{"op": 1}]},
            r"instructions\.1\.body\.0\.op: ",
            (1, "body", 0, "op"),
        ),
    ],
)
def test_wrong_types_are_named_alike_from_json_and_from_python(
    inst: Any, pattern: str, location: tuple[Any, ...]
) -> None:
    """From JSON the checker types the instructions itself; its refusals match pydantic's."""
    data = circuit([H, inst])
    from_python = refused(p.Circuit, data, pattern)
    from_json = refused(p.Circuit, json.dumps(data), pattern, check_unchanged=False)
    assert str(from_json) == str(from_python)
    assert from_json.location == from_python.location == ("instructions", *location)


def test_json_numbers_are_typed_as_from_python() -> None:
    """A JSON integer parameter is a float, as pydantic makes it from Python, at any depth."""
    body = [{"op": "rz", "qubits": [1], "params": [2]}]
    insts = [
        {"op": "rx", "qubits": [0], "params": [1]},
        {"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 1}, "body": body},
    ]
    data = circuit(insts)
    from_json = p.parse(p.Circuit, json.dumps(data))
    assert from_json == p.parse(p.Circuit, data)
    assert type(from_json.instructions[0]["params"][0]) is float
    assert type(from_json.instructions[1]["body"][0]["params"][0]) is float


def test_instructions_must_be_a_list_from_json() -> None:
    refused(
        p.Circuit, json.dumps(circuit({"op": "h"})), r"^instructions: must be a list, not dict$"
    )


@pytest.mark.parametrize(
    ("inst", "pattern"),
    [
        ({"op": "h", "qubits": [0], "unit": "ns"}, r"\(h\): field 'unit' does not belong"),
        ({"op": "measure", "qubits": [0], "clbits": [0], "matrix": []}, r"field 'matrix'"),
        ({"op": "h", "qubits": [0], "clbits": [0]}, r"\(h\): only measure writes clbits"),
        ({"op": "measure", "qubits": [0]}, r"\(measure\): measure needs exactly one clbit"),
        ({"op": "barrier", "qubits": []}, r"\(barrier\): barrier needs at least one qubit"),
        ({"op": "unitary", "qubits": [0]}, r"\(unitary\): unitary needs a matrix"),
        ({"op": "if", "qubits": [], "body": [H]}, r"\(if\): 'if' needs a condition"),
        (
            {"op": "if", "qubits": [0], "condition": {"register": "c", "value": 0}, "body": []},
            r"'if' takes no qubits of its own",
        ),
    ],
)
def test_fields_that_do_not_belong(inst: dict[str, Any], pattern: str) -> None:
    refused(p.Circuit, circuit([inst]), pattern)


def test_delay_unit_and_sign() -> None:
    refused(
        p.Circuit,
        circuit([{"op": "delay", "qubits": [0], "params": [10.0], "unit": "fortnight"}]),
        r"\(delay\): unit 'fortnight' is not one of",
    )
    refused(
        p.Circuit,
        circuit([{"op": "delay", "qubits": [0], "params": [-1.0], "unit": "ns"}]),
        r"\(delay\): duration -1.0 is negative",
    )


# ------------------------------------------------------------------ registers and bits
def test_measure_into_unknown_bit() -> None:
    refused(
        p.Circuit,
        circuit([{"op": "measure", "qubits": [0], "clbits": [3]}]),
        r"instruction 0 \(measure\): clbit 3 is out of range; the registers hold 3 bit\(s\)",
    )


def test_condition_on_unknown_register() -> None:
    inst = {"op": "if", "qubits": [], "condition": {"register": "nope", "value": 1}, "body": [H]}
    refused(
        p.Circuit, circuit([inst]), r"instruction 0 \(if\): condition reads unknown register 'nope'"
    )


def test_condition_on_unknown_bit() -> None:
    inst = {"op": "if", "qubits": [], "condition": {"clbit": 5, "value": 1}, "body": [H]}
    refused(p.Circuit, circuit([inst]), r"\(if\): clbit 5 is out of range")


def test_condition_value_does_not_fit() -> None:
    inst = {"op": "if", "qubits": [], "condition": {"register": "c", "value": 4}, "body": [H]}
    refused(p.Circuit, circuit([inst]), r"value 4 does not fit register 'c' of 2 bit\(s\)")
    inst = {"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 2}, "body": [H]}
    refused(p.Circuit, circuit([inst]), r"a clbit condition compares with 0 or 1")


def test_condition_names_exactly_one_target() -> None:
    inst = {
        "op": "if",
        "qubits": [],
        "condition": {"register": "c", "clbit": 0, "value": 1},
        "body": [H],
    }
    refused(p.Circuit, circuit([inst]), r"exactly one of 'register' or 'clbit'")


def test_layout_names_unknown_register() -> None:
    refused(
        p.Circuit,
        circuit([H], layout=[{"register_name": "m", "key": "m"}]),
        r"layout: unknown register 'm'",
    )


def test_duplicate_register_and_bad_names() -> None:
    refused(
        p.Circuit,
        circuit([H], registers=[{"name": "c", "size": 1}, {"name": "c", "size": 2}]),
        r"registers: a register name is used twice",
    )
    refused(p.Circuit, circuit([H], registers=[{"name": "2c", "size": 1}]), r"registers\.0\.name")


def test_qubit_labels_and_registers_must_match() -> None:
    refused(p.Circuit, circuit([H], qubit_labels=["a"]), r"qubit_labels: 1 labels for 3 qubits")
    refused(
        p.Circuit,
        circuit([H], qubit_registers=[{"name": "q", "size": 2}]),
        r"qubit_registers: sizes add up to 2, not num_qubits=3",
    )


# ------------------------------------------------------------------ symbols and expressions
def test_undeclared_symbol() -> None:
    refused(
        p.Circuit,
        circuit([{"op": "rx", "qubits": [0], "params": ["theta"]}]),
        r"instruction 0 \(rx\): symbol 'theta' is not declared in the circuit's parameters",
    )


def test_undeclared_symbol_inside_expression() -> None:
    expr = {"fn": "add", "args": [1.0, {"fn": "mul", "args": [2.0, "beta"]}]}
    refused(
        p.Circuit,
        circuit([{"op": "rz", "qubits": [1], "params": [expr]}], parameters=["alpha"]),
        r"instruction 0 \(rz\): symbol 'beta' is not declared",
    )


def test_undeclared_symbol_in_global_phase() -> None:
    refused(p.Circuit, circuit([H], global_phase="gamma"), r"global_phase: symbol 'gamma'")


def test_symbol_declared_twice() -> None:
    refused(
        p.Circuit, circuit([H], parameters=["a", "a"]), r"parameters: a symbol is declared twice"
    )


@pytest.mark.parametrize(
    ("expr", "pattern"),
    [
        ({"fn": "eval", "args": ["a"]}, r"\(rz\): unknown function 'eval'"),
        ({"fn": "add", "args": ["a"]}, r"\(rz\): add takes 2 argument\(s\), got 1"),
        ({"fn": "neg", "args": [1.0, 2.0]}, r"neg takes 1 argument\(s\), got 2"),
    ],
)
def test_bad_expression(expr: dict[str, Any], pattern: str) -> None:
    refused(
        p.Circuit,
        circuit([{"op": "rz", "qubits": [0], "params": [expr]}], parameters=["a"]),
        pattern,
    )


def test_expression_too_deep() -> None:
    expr: Any = "a"
    for _ in range(70):
        expr = {"fn": "neg", "args": [expr]}
    refused(
        p.Circuit,
        circuit([{"op": "rz", "qubits": [0], "params": [expr]}], parameters=["a"]),
        r"expression is nested deeper than 64",
    )


def test_evaluate_never_uses_eval() -> None:
    expr = {"fn": "add", "args": [{"fn": "cos", "args": ["a"]}, {"fn": "pow", "args": ["b", 2.0]}]}
    assert p.evaluate(expr, {"a": 0.0, "b": 3.0}) == pytest.approx(10.0)
    with pytest.raises(PayloadError, match="no value bound for symbol 'b'"):
        p.evaluate(expr, {"a": 0.0})


# ------------------------------------------------------------------ bindings
def job(circuits: list[dict[str, Any]], bindings: Any = None, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"target": "aer_simulator", "circuits": circuits, **fields}
    if bindings is not None:
        data["bindings"] = bindings
    return data


PARAM_CIRCUIT = circuit(
    [{"op": "rx", "qubits": [0], "params": ["a"]}, {"op": "ry", "qubits": [1], "params": ["b"]}],
    parameters=["a", "b"],
)


def test_bindings_not_rectangular() -> None:
    table = {"names": ["a", "b"], "values": [[0.1, 0.2], [0.3]]}
    refused(
        p.NewJob,
        job([PARAM_CIRCUIT], [table]),
        r"^bindings\.0: bindings\.values\[1\]: has 1 values for 2 names \(the table must be rectangular\)$",
    )


def test_bindings_miss_a_symbol() -> None:
    table = {"names": ["a"], "values": [[0.1]]}
    refused(
        p.NewJob, job([PARAM_CIRCUIT], [table]), r"bindings\[0\]: no column for symbol\(s\) \['b'\]"
    )


def test_bindings_name_an_undeclared_symbol() -> None:
    table = {"names": ["a", "b", "z"], "values": [[0.1, 0.2, 0.3]]}
    refused(
        p.NewJob,
        job([PARAM_CIRCUIT], [table]),
        r"bindings\[0\]\.names: \['z'\] are not parameters of circuit 0",
    )


def test_symbols_without_bindings() -> None:
    refused(
        p.NewJob,
        job([circuit([H]), PARAM_CIRCUIT]),
        r"bindings\[1\]: circuit 1 reads symbols \['a', 'b'\] but has no bindings table",
    )


def test_one_table_per_circuit() -> None:
    table = {"names": ["a", "b"], "values": [[0.1, 0.2]]}
    refused(
        p.NewJob,
        job([PARAM_CIRCUIT, PARAM_CIRCUIT], [table]),
        r"bindings: 1 tables for 2 circuit\(s\)",
    )


def test_bindings_empty_table_and_duplicate_names() -> None:
    refused(
        p.NewJob,
        job([PARAM_CIRCUIT], [{"names": ["a", "b"], "values": []}]),
        r"bindings\[0\]\.values: the table has no rows",
    )
    refused(
        p.Bindings, {"names": ["a", "a"], "values": []}, r"bindings\.names: a symbol is named twice"
    )


def test_bindings_accepts_a_valid_table() -> None:
    table = {"names": ["b", "a"], "values": [[0.1, 0.2], [0.3, 0.4]]}
    new = p.parse(p.NewJob, job([PARAM_CIRCUIT], [table]))
    assert new.binding_count(0) == 2
    assert new.bindings is not None
    assert new.bindings[0] is not None
    assert list(new.bindings[0].rows()) == [{"b": 0.1, "a": 0.2}, {"b": 0.3, "a": 0.4}]


# ------------------------------------------------------------------ NaN and infinities
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameter(bad: float) -> None:
    refused(
        p.Circuit,
        circuit([H, {"op": "rz", "qubits": [0], "params": [bad]}]),
        r"instruction 1 \(rz\): parameter value -?(nan|inf) is not finite",
    )


def test_non_finite_parameter_in_json_and_expressions() -> None:
    text = '{"num_qubits": 1, "instructions": [{"op": "rz", "qubits": [0], "params": [NaN]}]}'
    refused(p.Circuit, text, r"instruction 0 \(rz\): parameter value nan is not finite")
    expr = {"fn": "mul", "args": [math.inf, "a"]}
    refused(
        p.Circuit,
        circuit([{"op": "rz", "qubits": [0], "params": [expr]}], parameters=["a"]),
        r"\(rz\): parameter value inf is not finite",
    )
    refused(p.Circuit, circuit([H], global_phase=math.nan), r"global_phase: parameter value nan")


def test_non_finite_binding() -> None:
    table = {"names": ["a", "b"], "values": [[0.1, 0.2], [0.3, math.inf]]}
    refused(
        p.NewJob,
        job([PARAM_CIRCUIT], [table]),
        r"bindings\.values\[1\]\[1\] \(b\): value is not finite",
    )


def test_non_finite_matrix() -> None:
    matrix = [[(math.nan, 0.0), (0.0, 0.0)], [(0.0, 0.0), (1.0, 0.0)]]
    refused(
        p.Circuit,
        circuit([{"op": "unitary", "qubits": [0], "matrix": matrix}]),
        r"\(unitary\): matrix has a value that is not finite",
    )


def test_non_finite_numbers_elsewhere() -> None:
    info = {"name": "t", "driver": "aer", "num_qubits": 1, "qubits": [{"frequency_ghz": math.inf}]}
    err = refused(p.TargetInfo, info, r"qubits\.0\.frequency_ghz: Input should be a finite number")
    assert err.location == ("qubits", 0, "frequency_ghz")
    refused(p.BalanceResponse, '{"balance": NaN}', r"balance: Input should be a finite number")


# ------------------------------------------------------------------ unitary matrices
def test_non_unitary_matrix() -> None:
    matrix = p.matrix_to_wire(np.array([[1.0, 1.0], [0.0, 1.0]]))
    refused(
        p.Circuit,
        circuit([H, {"op": "unitary", "qubits": [2], "matrix": matrix}]),
        r"instruction 1 \(unitary\): matrix is not unitary \(max \|U†U - I\| = 1\.00e\+00\)",
    )


def test_matrix_of_wrong_size() -> None:
    refused(
        p.Circuit,
        circuit([{"op": "unitary", "qubits": [0, 1], "matrix": p.matrix_to_wire(np.eye(2))}]),
        r"\(unitary\): matrix must be 4x4 for 2 qubit\(s\)",
    )


def test_unitary_matrix_accepted_and_round_trips() -> None:
    swap = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)
    c = p.parse(
        p.Circuit,
        circuit([{"op": "unitary", "qubits": [0, 2], "matrix": p.matrix_to_wire(swap * 1j)}]),
    )
    np.testing.assert_array_equal(p.matrix_from_wire(c.instructions[0]["matrix"]), swap * 1j)


# ------------------------------------------------------------------ limits
@pytest.mark.parametrize(
    ("model", "data", "pattern"),
    [
        (
            p.Circuit,
            {"num_qubits": 10_001},
            r"num_qubits: Input should be less than or equal to 10000",
        ),
        (p.Circuit, {"num_qubits": -1}, r"num_qubits: Input should be greater than or equal to 0"),
        (
            p.Circuit,
            {"num_qubits": 1, "registers": [{"name": "c", "size": 100_001}]},
            r"registers\.0\.size: Input should be less than or equal to 100000",
        ),
        (
            p.NewJob,
            {"target": "t", "circuits": [{"num_qubits": 1}], "shots": 10_000_001},
            r"shots: Input should be less than or equal to 10000000",
        ),
        (
            p.NewJob,
            {"target": "t", "circuits": [{"num_qubits": 1}], "shots": 0},
            r"shots: Input should be greater than or equal to 1",
        ),
        (
            p.NewJob,
            {"target": "t", "circuits": [{"num_qubits": 1}], "priority": 11},
            r"priority: Input should be less than or equal to 10",
        ),
        (
            p.NewJob,
            {"target": "t", "circuits": [{"num_qubits": 1}], "tags": ["x"] * 51},
            r"tags: List should have at most 50 items",
        ),
        (
            p.NewJob,
            {"target": "", "circuits": [{"num_qubits": 1}]},
            r"target: String should have at least 1 character",
        ),
    ],
)
def test_limits(model: type[Any], data: dict[str, Any], pattern: str) -> None:
    refused(model, data, pattern)


def test_too_many_circuits() -> None:
    data = {"target": "t", "circuit_type": "qasm3", "qasm": ["OPENQASM 3.0;"] * 10_001}
    refused(p.NewJob, data, r"qasm: List should have at most 10000 items")


def test_too_many_instructions() -> None:
    data = {"num_qubits": 1, "instructions": [H] * (MAX_INSTRUCTIONS + 1)}
    refused(
        p.Circuit,
        data,
        r"instructions: List should have at most 1000000 items",
        check_unchanged=False,
    )


def test_too_many_binding_rows() -> None:
    data = {"names": [], "values": [[]] * (MAX_BINDING_ROWS + 1)}
    refused(
        p.Bindings, data, r"values: List should have at most 1000000 items", check_unchanged=False
    )


# ------------------------------------------------------------------ jobs
def test_job_shapes() -> None:
    refused(p.NewJob, job([]), r"circuits: a job needs at least one circuit")
    refused(
        p.NewJob,
        job([circuit([H])], version="payload.v0"),
        r"version: 'payload\.v0' is not a payload version this reader knows",
    )
    refused(
        p.NewJob,
        job([circuit([H])], qasm=["OPENQASM 3.0;"]),
        r"qasm: given, but circuit_type is 'payload'",
    )
    refused(
        p.NewJob,
        {"target": "t", "circuit_type": "qasm2"},
        r"qasm: a job needs at least one OpenQASM program",
    )
    refused(p.NewJob, job([circuit([H])], shot=10), r"shot: Extra inputs are not permitted")


def test_nested_circuit_error_names_the_circuit() -> None:
    err = refused(
        p.NewJob,
        job([circuit([H]), circuit([H, {"op": "cx", "qubits": [0, 0]}])]),
        r"^circuits\.1: instruction 1 \(cx\): a qubit is repeated in \[0, 0\]$",
    )
    assert err.location == ("circuits", 1)


def test_invalid_json_text() -> None:
    refused(p.NewJob, '{"target": ', r"invalid NewJob: \(root\): Invalid JSON")


@pytest.mark.parametrize(
    "text",
    [
        '{"target": ',  # not JSON
        "[1, 2]",  # not an object
        json.dumps(circuit([H], registers=[[1]])),  # "an object", not "a dictionary"
        json.dumps(circuit([H], registers=5)),  # "an array", not "a list"
        json.dumps(circuit([{"op": "h", "qubits": [7]}])),  # our own checker's error
    ],
)
def test_validate_json_refuses_as_pydantic_json_mode_does(text: str) -> None:
    """``validate_json`` reads in Python mode, but its errors are worded for JSON."""
    with pytest.raises(pydantic.ValidationError) as ours:
        p.validate_json(p.Circuit, text)
    with pytest.raises(pydantic.ValidationError) as pydantics:
        p.Circuit.model_validate_json(text)
    options: Any = {"include_url": False, "include_context": False}  # ctx holds exceptions
    assert ours.value.errors(**options) == pydantics.value.errors(**options)


def test_validate_json_keeps_the_parsed_instructions_and_checks_their_types() -> None:
    text = json.dumps(circuit([H, {"op": "rx", "qubits": [0], "params": [1]}]))
    c = p.validate_json(p.Circuit, text)
    assert c == p.Circuit.model_validate_json(text) == p.parse(p.Circuit, json.loads(text))
    assert type(c.instructions[1]["params"][0]) is float
    with pytest.raises(pydantic.ValidationError, match=r"instructions\.1\.qubits\.0"):
        p.validate_json(p.Circuit, text.replace('[0], "params"', '[0.5], "params"'))


# ------------------------------------------------------------------ readout
def test_readout_shapes() -> None:
    good = p.Readout.from_arrays({"c": np.zeros((4, 10), dtype=np.uint8)}).model_dump(mode="json")
    wrong = dict(good, successful_shots=5)
    refused(
        p.Readout,
        wrong,
        r"readout register 'c': 8 bytes of bits, expected 10 \(5 shots x 2 byte\(s\)\)",
    )
    twice = dict(good, registers=good["registers"] * 2)
    refused(p.Readout, twice, r"readout: register 'c' appears twice")
    iq = dict(good, registers=[dict(good["registers"][0], iq="AAAA")])
    refused(p.Readout, iq, r"readout register 'c': IQ data does not match 4 shots x 10 points")


def test_readout_histogram_form_shapes() -> None:
    """The histogram form: one row of bits per outcome, counts summing to the shots."""

    def b64(raw: bytes) -> str:  # bytes travel as URL-safe base64 in JSON
        return base64.urlsafe_b64encode(raw).decode()

    rows = p.Readout.from_arrays({"c": np.array([[0, 1], [1, 1]], dtype=np.uint8)})
    counts = np.array([3, 5], dtype="<u4").tobytes()
    good = {"successful_shots": 8, "registers": rows.model_dump(mode="json")["registers"]}
    histogram = p.parse(p.Readout, {**good, "outcome_counts": b64(counts)})
    assert histogram.counts() == {"10": 3, "11": 5}
    assert histogram.arrays()["c"].shape == (8, 2)
    wrong_sum = {**good, "successful_shots": 9, "outcome_counts": b64(counts)}
    refused(p.Readout, wrong_sum, r"outcome_counts: they sum to 8, not the 9 successful shots")
    odd = {**good, "outcome_counts": b64(counts[:5])}
    refused(p.Readout, odd, r"outcome_counts: 5 bytes is not a whole number of uint32 counts")
    three = b64(np.array([3, 4, 1], dtype="<u4").tobytes())
    refused(
        p.Readout,
        {**good, "outcome_counts": three},
        r"register 'c': 2 bytes of bits, expected 3 \(3 outcomes x 1 byte\(s\)\)",
    )
    iq = [dict(good["registers"][0], iq=b64(bytes(64)))]
    refused(
        p.Readout,
        {**good, "registers": iq, "outcome_counts": b64(counts)},
        r"register 'c': IQ points need one row per shot",
    )


def test_readout_from_arrays_refuses_mismatched_shots() -> None:
    with pytest.raises(PayloadError, match=r"readout register 'm': 3 shots, others have 2"):
        p.Readout.from_arrays({"c": np.zeros((2, 1)), "m": np.zeros((3, 1))})
    with pytest.raises(PayloadError, match=r"readout register 'c': expected a 2-D"):
        p.Readout.from_arrays({"c": np.zeros(3)})


def test_readout_frame_errors() -> None:
    frame = p.encode_readouts([p.Readout.from_arrays({"c": np.ones((3, 3))})])
    with pytest.raises(PayloadError, match="bad magic"):
        p.decode_readouts(b"XXXX" + frame)
    with pytest.raises(PayloadError, match=r"1 trailing byte\(s\)"):
        p.decode_readouts(frame + b"\0")


def test_worker_results_rules() -> None:
    base = {"lease_id": "l", "status": "completed"}
    refused(p.WorkerTaskResults, base, r"status 'completed' needs successful_shots and results")
    refused(
        p.WorkerTaskResults,
        {**base, "successful_shots": 3, "measurements": {"01": [0, 1], "1": [2]}},
        r"measurements: keys are bitstrings of different lengths",
    )
    refused(
        p.WorkerTaskResults,
        {**base, "successful_shots": 2, "measurements": {"0x": [0, 1]}},
        r"measurements: key '0x' is not a bitstring",
    )
    refused(
        p.WorkerTaskResults,
        {**base, "successful_shots": 3, "measurements": {"01": [0, 1], "11": [1]}},
        r"shot indices must be exactly range\(successful_shots\) = range\(3\)",
    )
    refused(
        p.WorkerTaskResults,
        {"lease_id": "l", "status": "failed", "successful_shots": 1},
        r"results given with status 'failed'",
    )
    readout = json.loads(p.Readout.from_arrays({"c": np.zeros((2, 1))}).model_dump_json())
    refused(
        p.WorkerTaskResults,
        {**base, "successful_shots": 3, "readouts": [readout]},
        r"readouts\[0\]: 2 shots, but successful_shots is 3",
    )


def test_parse_returns_the_model_and_accepts_text_and_bytes() -> None:
    data = circuit([H, {"op": "cx", "qubits": [0, 1]}])
    c = p.parse(p.Circuit, data)
    assert isinstance(c, p.Circuit)
    assert p.parse(p.Circuit, json.dumps(data)) == c
    assert p.parse(p.Circuit, json.dumps(data).encode()) == c


@pytest.mark.parametrize(
    ("expr", "pattern"),
    [
        ({"fn": "div", "args": [1.0, 0.0]}, r"div\(1\.0, 0\.0\): no real value"),
        ({"fn": "log", "args": [-1.0]}, r"log\(-1\.0,\): no real value"),
        (
            {"fn": "pow", "args": [-8.0, 0.5]},
            r"pow\(-8\.0, 0\.5\): no real value \(the result is complex\)",
        ),
        ({"fn": "exp", "args": [1000.0]}, r"exp\(1000\.0,\): no real value"),
        (
            {"fn": "mul", "args": [1e308, 10.0]},
            r"mul\(1e\+308, 10\.0\): the value inf is not finite",
        ),
    ],
)
def test_evaluate_refuses_values_that_are_not_finite_reals(expr: Any, pattern: str) -> None:
    with pytest.raises(PayloadError, match=pattern):
        p.evaluate(expr, {})


# ------------------------------------------------------------------ a target's limits
def small_target(**limits: Any) -> p.TargetInfo:
    return p.TargetInfo(
        name="tiny_qpu", driver="qpu-grpc", num_qubits=3, limits=p.TargetLimits(**limits)
    )


def test_target_limits() -> None:
    c = p.parse(p.Circuit, circuit([H, {"op": "cx", "qubits": [0, 1]}]))
    ok = p.NewJob(target="tiny_qpu", circuits=[c], shots=100)
    p.check_target_limits(ok, small_target())
    with pytest.raises(
        PayloadError, match=r"shots: 1000 exceeds the limit of 500 on target 'tiny_qpu'"
    ):
        p.check_target_limits(ok.model_copy(update={"shots": 1000}), small_target(max_shots=500))
    with pytest.raises(PayloadError, match=r"circuits: 2 circuits exceed the limit of 1"):
        p.check_target_limits(p.NewJob(target="t", circuits=[c, c]), small_target(max_circuits=1))
    wide = p.parse(p.Circuit, {"num_qubits": 5, "instructions": [H]})
    with pytest.raises(
        PayloadError, match=r"circuits\[1\]\.num_qubits: 5 qubits exceed the 3 of target"
    ):
        p.check_target_limits(p.NewJob(target="t", circuits=[c, wide]), small_target())
    with pytest.raises(PayloadError, match=r"circuits\[0\]\.num_qubits: 3 qubits exceed the 2"):
        p.check_target_limits(ok, small_target(max_qubits=2))
    with pytest.raises(
        PayloadError, match=r"circuits\[0\]\.instructions: 2 instructions exceed the limit of 1"
    ):
        p.check_target_limits(ok, small_target(max_instructions=1))
    table = p.Bindings(names=["a", "b"], values=[[0.0, 0.0]] * 3)
    swept = p.NewJob(target="t", circuits=[p.parse(p.Circuit, PARAM_CIRCUIT)], bindings=[table])
    with pytest.raises(PayloadError, match=r"bindings\[0\]: 3 rows exceed the limit of 2") as info:
        p.check_target_limits(swept, small_target(max_bindings=2))
    assert info.value.location == ("bindings", 0)


def test_bitstring_keys_of_several_registers() -> None:
    from qrelay.payload.readout import bitstrings

    values = np.array([0b1_01, 0b0_10, 0], dtype=np.uint64)  # register a: 2 bits, b: 1 bit
    assert bitstrings(values, [2, 1]) == ["01 1", "10 0", "00 0"]
    assert bitstrings(values, [2, 0, 1]) == ["01  1", "10  0", "00  0"]
    assert bitstrings(values[:1], [0]) == [""]
    assert bitstrings(values[:0], [2]) == []


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"seed": True}, r"options\.seed: "),
        ({"seed": -1}, r"options\.seed: .*greater than or equal to 0"),
        ({"seed": "7"}, r"options\.seed: "),
        ({"noise": {"readout_error": 2}}, r"options\.noise\.readout_error: "),
        ({"noise": {"amplitude": 0.1}}, r"options\.noise: unknown key\(s\) \['amplitude'\]"),
        ({"noise": 0.1}, r"options\.noise: expected an object"),
        ({"optimization_level": 7}, r"options\.optimization_level: "),
        ({"histogram": "yes"}, r"options\.histogram: "),
    ],
)
def test_run_options_are_checked_at_submission(options: dict[str, Any], pattern: str) -> None:
    """The driver options every driver reads are refused when the job is submitted."""
    data = job([circuit([H])])
    data["options"] = options
    refused(p.NewJob, data, pattern)


def test_run_options_read_a_job_as_its_fields_say() -> None:
    data = job([circuit([H])])
    data.update(
        shots=77,
        memory=True,
        options={"seed": 5, "noise": {"readout_error": 0.1}, "histogram": True},
    )
    run = p.RunOptions.of(p.parse(p.NewJob, data))
    assert (run.shots, run.memory, run.seed, run.optimization_level) == (77, True, 5, None)
    assert run.histogram
    assert run.noise == p.NoiseSpec(readout_error=0.1)
    again = p.parse(p.NewJob, job([circuit([H])]) | run.job_fields())
    assert p.RunOptions.of(again) == run


def test_each_circuit_of_a_seeded_job_draws_with_its_own_seed() -> None:
    def task(index: int, seed: Any) -> p.WorkerTask:
        return p.WorkerTask(
            task_id="t",
            job_id="j",
            circuit_index=index,
            target="aer_simulator",
            job_type=p.JobType.SUBMIT,
            shots=1,
            circuit=p.Circuit(num_qubits=1),
            lease_id="l",
            lease_expires_at="2026-01-01T00:00:00Z",
            attempt=1,
            options={} if seed is None else {"seed": seed},
        )

    assert task(0, 7).seed() == 7
    assert task(3, 7).seed() == 10
    assert task(3, None).seed() is None
    for bad in (-1, 1.5, True, "7"):
        with pytest.raises(PayloadError, match=r"options\.seed"):
            task(0, bad).seed()


def test_a_checked_model_placed_in_another_is_kept_as_it_is_and_new_input_still_checked() -> None:
    """A circuit, bindings table or readout already made is taken as it is into a job or
    a result (it was checked when made); the same content as new input is checked there."""
    made = p.parse(
        p.Circuit, circuit([{"op": "rx", "qubits": [0], "params": ["t"]}], parameters=["t"])
    )
    table = p.parse(p.Bindings, {"names": ["t"], "values": [[0.1], [0.2]]})
    job = p.parse(p.NewJob, {"target": "aer_simulator", "circuits": [made], "bindings": [table]})
    assert job.circuits[0] is made
    assert job.bindings is not None
    assert job.bindings[0] is table
    readout = p.Readout.from_arrays({"c": np.zeros((4, 2), np.uint8), "flag": np.zeros((4, 1))})
    results = p.TaskResults(
        task_id="t1",
        lease_id="l",
        status=p.CircuitStatus.COMPLETED,
        successful_shots=4,
        readouts=[readout],
    )
    batch = p.WorkerResultsBatch(results=[results])
    assert batch.results[0] is results
    assert batch.results[0].readouts is not None
    assert batch.results[0].readouts[0] is readout
    bad = circuit([{"op": "h", "qubits": [7]}])
    with pytest.raises(PayloadError, match=r"circuits\.0: instruction 0 \(h\): qubit 7"):
        p.parse(p.NewJob, {"target": "aer_simulator", "circuits": [bad]})
    wire = readout.model_dump(mode="json") | {"successful_shots": 5}
    with pytest.raises(PayloadError, match="readout register 'c'"):
        p.parse(p.Readout, wire)
    with pytest.raises(PayloadError, match="needs successful_shots"):
        p.parse(
            p.WorkerTaskResults,
            {"lease_id": "l", "status": "completed", "readouts": [readout.model_dump(mode="json")]},
        )
    with pytest.raises(PayloadError, match="rectangular"):
        p.parse(p.Bindings, {"names": ["t"], "values": [[0.1], [0.2, 0.3]]})
