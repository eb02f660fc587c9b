"""Property tests: random valid payloads round-trip through JSON unchanged, and readout
counts equal a direct count of the same shots.

The strategies build only valid payloads (distinct in-range qubits, declared symbols,
unitary matrices, bits inside the registers), so any refusal here is a bug.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections import Counter
from typing import Any

import numpy as np
import pydantic
import pydantic_core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrelay import payload as p
from qrelay.errors import PayloadError
from qrelay.payload.ops import OPS, OpKind

SETTINGS = settings(
    max_examples=int(os.environ.get("QRELAY_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

GATES = sorted(
    name for name, spec in OPS.items() if spec.kind is OpKind.GATE and spec.num_qubits is not None
)
SYMBOLS = ["a", "b", "theta_1", "phi"]
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-5, 5).map(float)


def expressions(declared: list[str]) -> st.SearchStrategy[Any]:
    leaves: st.SearchStrategy[Any] = FINITE
    if declared:
        leaves = leaves | st.sampled_from(declared)

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        unary = st.sampled_from(["neg", "sin", "cos", "exp", "abs"])
        binary = st.sampled_from(["add", "sub", "mul", "div", "pow"])
        return st.builds(lambda fn, a: {"fn": fn, "args": [a]}, unary, children) | st.builds(
            lambda fn, a, b: {"fn": fn, "args": [a, b]}, binary, children, children
        )

    return st.recursive(leaves, extend, max_leaves=6)


def _u_matrix(theta: float, phi: float, lam: float) -> list[list[tuple[float, float]]]:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    u = np.array(
        [
            [c, -np.exp(1j * lam) * s],
            [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c],
        ]
    )
    return p.matrix_to_wire(u)


@st.composite
def instructions(
    draw: st.DrawFn, num_qubits: int, num_clbits: int, declared: list[str], depth: int = 0
) -> dict[str, Any]:
    kinds = ["gate", "gate", "gate", "barrier", "delay", "reset", "unitary"]
    if num_clbits:
        kinds += ["measure", "if"] if depth == 0 else ["measure"]
    kind = draw(st.sampled_from(kinds))
    qubit = st.integers(0, num_qubits - 1)
    if kind == "gate":
        op = draw(st.sampled_from([g for g in GATES if OPS[g].num_qubits <= num_qubits]))  # type: ignore[operator]
        spec = OPS[op]
        qubits = draw(st.permutations(range(num_qubits)))[: spec.num_qubits]
        inst: dict[str, Any] = {"op": op, "qubits": list(qubits)}
        if spec.num_params or draw(st.booleans()):
            inst["params"] = [draw(expressions(declared)) for _ in range(spec.num_params)]
        if draw(st.integers(0, 9)) == 0:
            inst["label"] = draw(st.text(max_size=5))
        return inst
    if kind == "barrier":
        qubits = draw(st.permutations(range(num_qubits)))
        return {"op": "barrier", "qubits": list(qubits[: draw(st.integers(1, num_qubits))])}
    if kind == "delay":
        duration = draw(
            st.floats(0, 1e6) | (st.sampled_from(declared) if declared else st.just(1.0))
        )
        unit = draw(st.sampled_from(["dt", "ns", "us", "s"]))
        return {"op": "delay", "qubits": [draw(qubit)], "params": [duration], "unit": unit}
    if kind == "reset":
        return {"op": "reset", "qubits": [draw(qubit)]}
    if kind == "unitary":
        angles = [draw(st.floats(-6.3, 6.3)) for _ in range(3)]
        return {"op": "unitary", "qubits": [draw(qubit)], "matrix": _u_matrix(*angles)}
    if kind == "measure":
        return {
            "op": "measure",
            "qubits": [draw(qubit)],
            "clbits": [draw(st.integers(0, num_clbits - 1))],
        }
    body = draw(st.lists(instructions(num_qubits, num_clbits, declared, depth + 1), max_size=3))
    inst = {
        "op": "if",
        "qubits": [],
        "condition": {
            "clbit": draw(st.integers(0, num_clbits - 1)),
            "value": draw(st.integers(0, 1)),
        },
        "body": body,
    }
    if draw(st.booleans()):
        inst["else_body"] = draw(
            st.lists(instructions(num_qubits, num_clbits, declared, depth + 1), max_size=2)
        )
    return inst


@st.composite
def circuits(draw: st.DrawFn) -> p.Circuit:
    num_qubits = draw(st.integers(1, 6))
    sizes = draw(st.lists(st.integers(0, 4), max_size=3))
    registers = [{"name": f"r{i}", "size": size} for i, size in enumerate(sizes)]
    num_clbits = sum(sizes)
    declared = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=4))
    body = draw(st.lists(instructions(num_qubits, num_clbits, declared), max_size=12))
    data: dict[str, Any] = {
        "num_qubits": num_qubits,
        "registers": registers,
        "parameters": declared,
        "instructions": body,
        "global_phase": draw(expressions(declared)),
    }
    if draw(st.booleans()):
        data["name"] = draw(st.text(max_size=8))
        data["metadata"] = draw(
            st.dictionaries(
                st.text(max_size=4), st.integers() | st.text(max_size=4) | st.none(), max_size=3
            )
        )
        data["qubit_labels"] = [f"line:{i}" for i in range(num_qubits)]
        data["layout"] = [{"register_name": reg["name"], "key": reg["name"]} for reg in registers]
    return p.Circuit.model_validate(data)


@st.composite
def readouts(draw: st.DrawFn, max_total_width: int = 40) -> p.Readout:
    shots = draw(st.integers(0, 40))
    widths = draw(
        st.lists(st.integers(0, 24), max_size=3).filter(lambda w: sum(w) <= max_total_width)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    arrays = {
        f"m{i}": rng.integers(0, 2, size=(shots, w), dtype=np.uint8) for i, w in enumerate(widths)
    }
    iq = None
    if widths and draw(st.booleans()):
        iq = {
            "m0": (
                rng.normal(size=(shots, widths[0])) + 1j * rng.normal(size=(shots, widths[0]))
            ).astype(np.complex64)
        }
    memory = draw(
        st.none() | st.dictionaries(st.sampled_from(["ro", "x"]), st.lists(FINITE, max_size=3))
    )
    if not arrays:
        return p.Readout(successful_shots=shots, memory=memory)
    return p.Readout.from_arrays(
        arrays, iq=iq, memory=memory, execution_duration_us=draw(st.none() | st.integers(0, 10**9))
    )


@SETTINGS
@given(circuits())
def test_circuit_json_round_trip(circuit: p.Circuit) -> None:
    text = circuit.model_dump_json()
    again = p.parse(p.Circuit, text)
    assert again == circuit
    assert again.model_dump_json() == text
    assert p.Circuit.model_validate_json(text) == circuit  # pydantic's own JSON mode


@SETTINGS
@given(circuits(), st.data())
def test_new_job_with_bindings_round_trip(circuit: p.Circuit, data: st.DataObject) -> None:
    names = list(circuit.parameters)
    table = None
    if names or data.draw(st.booleans()):
        rows = data.draw(
            st.lists(
                st.lists(FINITE, min_size=len(names), max_size=len(names)), min_size=1, max_size=4
            )
        )
        table = p.Bindings(names=names, values=rows)
    job = p.NewJob(
        target="aer_simulator",
        circuits=[circuit],
        bindings=[table],
        shots=data.draw(st.integers(1, 10**6)),
        tags=data.draw(
            st.lists(
                # Tags hold no control characters (category Cc): qrelay.payload.bounds.
                st.text(st.characters(exclude_categories=("Cc",)), min_size=1, max_size=5),
                max_size=3,
            )
        ),
    )
    assert p.parse(p.NewJob, job.model_dump_json()) == job
    assert job.binding_count(0) == (len(table) if table is not None else 1)


def direct_counts(arrays: dict[str, np.ndarray[Any, Any]], shots: int) -> Counter[str]:
    """Count shots the slow, obvious way: one string per shot, highest bit first."""
    counter: Counter[str] = Counter()
    for shot in range(shots):
        parts = ["".join(str(int(bit)) for bit in reversed(bits[shot])) for bits in arrays.values()]
        counter[" ".join(parts)] += 1
    return counter


@SETTINGS
@given(readouts())
def test_readout_counts_equal_a_direct_count(readout: p.Readout) -> None:
    arrays = readout.arrays()
    counts = readout.counts()
    assert counts == dict(direct_counts(arrays, readout.successful_shots))
    assert sum(counts.values()) == readout.successful_shots
    values, tallies = readout.value_counts()
    assert int(tallies.sum()) == readout.successful_shots
    assert list(values) == sorted(values)


@SETTINGS
@given(readouts())
def test_readout_arrays_bit_order(readout: p.Readout) -> None:
    """Column j is bit j: the packed value of a shot is sum(bit_j << j)."""
    arrays = readout.arrays()
    for reg in readout.registers:
        bits = arrays[reg.name]
        assert bits.shape == (readout.successful_shots, reg.width)
        if reg.width == 0:
            continue  # no bits: a register alone cannot tell its shots
        np.testing.assert_array_equal(reg.array(), bits)
        expected = [sum(int(b) << j for j, b in enumerate(row)) for row in bits]
        assert reg.values().tolist() == expected


@SETTINGS
@given(readouts(), st.data())
def test_readout_value_counts_of_a_subset(readout: p.Readout, data: st.DataObject) -> None:
    names = [reg.name for reg in readout.registers]
    chosen = data.draw(st.permutations(names))[: data.draw(st.integers(0, len(names)))]
    values, tallies = readout.value_counts(chosen)
    assert int(tallies.sum()) == readout.successful_shots
    joint = Counter()
    for shot in range(readout.successful_shots):
        value, shift = 0, 0
        for name in chosen:
            reg = readout.register(name)
            if reg.width == 0:
                continue
            value |= int(reg.values()[shot]) << shift
            shift += reg.width
        joint[value] += 1
    assert dict(zip(values.tolist(), tallies.tolist(), strict=True)) == dict(joint)


@SETTINGS
@given(st.lists(readouts(), max_size=4))
def test_readouts_round_trip_json_and_frame(items: list[p.Readout]) -> None:
    for readout in items:
        assert p.parse(p.Readout, readout.model_dump_json()) == readout
    decoded = p.decode_readouts(p.encode_readouts(items))
    assert decoded == items
    for before, after in zip(items, decoded, strict=True):
        for reg in before.registers:
            np.testing.assert_array_equal(after.register(reg.name).array(), reg.array())
            iq = reg.iq_array()
            if iq is not None:
                np.testing.assert_array_equal(after.register(reg.name).iq_array(), iq)


def _as_histogram(readout: p.Readout) -> p.Readout:
    """The same shots in histogram form: each distinct joint outcome once, with its count."""
    arrays = readout.arrays()
    widths = [reg.width for reg in readout.registers]
    joint = np.concatenate([arrays[reg.name] for reg in readout.registers], axis=1)
    distinct, counts = np.unique(joint, axis=0, return_counts=True)
    starts = np.cumsum([0, *widths])
    parts = {
        reg.name: distinct[:, starts[i] : starts[i + 1]] for i, reg in enumerate(readout.registers)
    }
    packed = p.Readout.from_arrays(parts)
    return p.Readout(
        successful_shots=readout.successful_shots,
        registers=packed.registers,
        outcome_counts=counts.astype("<u4").tobytes(),
    )


@SETTINGS
@given(readouts(), st.data())
def test_histogram_form_reads_as_the_same_shots(readout: p.Readout, data: st.DataObject) -> None:
    """A readout in histogram form gives the counts, value counts and (shot order aside)
    the arrays of the per-shot readout it summarises, and round-trips JSON and frames."""
    if not readout.registers:
        return
    histogram = _as_histogram(readout)
    assert len(histogram.weights()) <= readout.successful_shots
    assert int(histogram.weights().sum()) == readout.successful_shots
    assert histogram.counts() == readout.counts()
    names = [reg.name for reg in readout.registers]
    chosen = data.draw(st.permutations(names))[: data.draw(st.integers(0, len(names)))]
    for got, expected in zip(
        histogram.value_counts(chosen), readout.value_counts(chosen), strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    before, after = readout.arrays(), histogram.arrays()
    for name in names:
        assert after[name].shape == before[name].shape
        np.testing.assert_array_equal(
            np.sort(readout.register(name).values() if before[name].shape[1] else before[name]),
            np.sort(histogram.joint_values([name]) if before[name].shape[1] else after[name]),
        )
    assert p.parse(p.Readout, histogram.model_dump_json()) == histogram
    assert p.decode_readouts(p.encode_readouts([histogram, readout])) == [histogram, readout]


@SETTINGS
@given(circuits())
def test_expressions_evaluate_with_every_symbol_bound(circuit: p.Circuit) -> None:
    """Every parameter of a valid circuit evaluates once its symbols are bound (no eval)."""
    values = dict.fromkeys(circuit.parameters, 0.5)
    for inst in circuit.iter_instructions():
        for param in inst.get("params", []):
            try:
                result = p.evaluate(param, values)
            except PayloadError as exc:
                message = str(exc)
                assert "no real value" in message or "not finite" in message
                continue  # arithmetic faults of random trees (exp overflow, 1/0, ...)
            assert isinstance(result, float)
            assert math.isfinite(result)


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-3, 12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4)
    | st.sampled_from(["h", "cx", "measure", "if", "a", "c"])
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["op", "qubits", "params", "clbits", "unit", "matrix", "condition", "body", "label", "zzz"]


@SETTINGS
@given(circuits(), st.data())
def test_damaged_circuits_are_refused_with_a_payload_error(
    circuit: p.Circuit, data: st.DataObject
) -> None:
    """Any damage to a valid circuit is either still valid or a PayloadError: never a crash."""
    raw = circuit.model_dump(mode="json")
    target = data.draw(st.sampled_from(["instruction", "top"]))
    if target == "instruction" and raw["instructions"]:
        index = data.draw(st.integers(0, len(raw["instructions"]) - 1))
        raw["instructions"][index][data.draw(st.sampled_from(FIELDS))] = data.draw(JSON_VALUES)
    else:
        key = data.draw(
            st.sampled_from(["num_qubits", "registers", "parameters", "global_phase", "layout"])
        )
        raw[key] = data.draw(JSON_VALUES)
    from_python = _parsed(raw)
    # From JSON the instructions are typed by the checker rather than by pydantic: the
    # verdict must be the same.
    text = json.dumps(raw)
    from_json = _parsed(text)
    if isinstance(from_python, p.Circuit):
        assert from_json == from_python
    else:
        assert isinstance(from_json, str)
        assert from_python
    _assert_modes_agree(p.Circuit, text)


JOB_KEYS = [
    "version",
    "job_type",
    "target",
    "circuit_type",
    "circuits",
    "qasm",
    "bindings",
    "shots",
    "sim_method",
    "priority",
    "tags",
    "metadata",
    "dry_run",
    "meas_level",
    "options",
]


@SETTINGS
@given(circuits(), st.data())
def test_damaged_jobs_read_alike_in_python_and_json_mode(
    circuit: p.Circuit, data: st.DataObject
) -> None:
    names = list(circuit.parameters)
    table = p.Bindings(names=names, values=[[0.5] * len(names)]) if names else None
    job = p.NewJob(target="aer_simulator", circuits=[circuit], bindings=[table], shots=10)
    raw = job.model_dump(mode="json")
    raw[data.draw(st.sampled_from(JOB_KEYS))] = data.draw(JSON_VALUES)
    _assert_modes_agree(p.NewJob, json.dumps(raw))


def _assert_modes_agree(model: type[pydantic.BaseModel], text: str) -> None:
    """``validate_json``'s Python-mode read of ``text`` accepts what JSON mode accepts, alike.

    (Where Python mode refuses, ``validate_json`` answers with JSON mode's error.)
    """
    from qrelay.payload.parsing import _PARSED_JSON_CONTEXT

    try:
        in_json_mode: pydantic.BaseModel | None = model.model_validate_json(text)
    except pydantic.ValidationError:
        in_json_mode = None
    try:
        parsed = pydantic_core.from_json(text)
        in_python_mode: pydantic.BaseModel | None = model.model_validate(
            parsed, context=_PARSED_JSON_CONTEXT
        )
    except pydantic.ValidationError:
        in_python_mode = None
    assert in_python_mode == in_json_mode
    if in_json_mode is not None:
        assert p.validate_json(model, text) == in_json_mode


def _parsed(raw: Any) -> p.Circuit | str:
    """The circuit ``raw`` parses to, or the message it is refused with."""
    try:
        return p.parse(p.Circuit, raw)
    except PayloadError as exc:
        return str(exc)


PARAMS = st.floats(width=64) | st.sampled_from(
    ["a", "undeclared", {"fn": "neg", "args": ["a"]}, 1, True, None, [0.5]]
)
#: Qubit and clbit indices, and values of other types that JSON can hold in their place.
INDICES = st.integers(-1, 4) | st.sampled_from([1.0, 1.5, True, "1", None, [1]])


@st.composite
def gate_instructions(draw: st.DrawFn) -> dict[str, Any]:
    """Gates and measurements as the schema leaves them, right or wrong in every checked way."""
    inst: dict[str, Any] = {
        "op": draw(st.sampled_from([*GATES, "measure"])),
        "qubits": draw(st.lists(INDICES, max_size=5) | st.sampled_from(["01", 1])),
    }
    if draw(st.booleans()):
        inst["params"] = draw(st.lists(PARAMS, max_size=4) | st.just("a"))
    if draw(st.booleans()):
        inst["clbits"] = draw(st.lists(INDICES, max_size=2))
    if draw(st.booleans()):
        inst[draw(st.sampled_from(["label", "unit"]))] = "x"
    return inst


@SETTINGS
@given(gate_instructions())
def test_the_checkers_fast_path_accepts_only_what_the_full_check_accepts(
    inst: dict[str, Any],
) -> None:
    """What the fast path lets through must pass the full check of the same instruction.

    The instruction is taken as parsed from JSON (``typed=False``), where the fast path
    also stands in for pydantic's type checks, so wrong types are drawn too.
    """
    from qrelay.payload.checking import CircuitChecker

    circuit = p.Circuit.model_construct(
        num_qubits=4, registers=[p.Register(name="c", size=1)], parameters=["a"], instructions=[]
    )
    full = _refusal(lambda: CircuitChecker(circuit).one(copy.deepcopy(inst), "", 0, False))
    fast = _refusal(lambda: CircuitChecker(circuit).block([copy.deepcopy(inst)], "", False))
    assert fast == full
    # What is accepted is typed: the same instruction parsed from JSON and from Python.
    if full is None:
        raw = {"num_qubits": 4, "registers": [{"name": "c", "size": 1}], "parameters": ["a"]}
        raw["instructions"] = [inst]
        assert p.parse(p.Circuit, json.dumps(raw)) == p.parse(p.Circuit, raw)


def _refusal(check: Any) -> str | None:
    """The message ``check()`` refuses with, or ``None`` when it accepts."""
    try:
        check()
    except PayloadError as exc:
        return str(exc)
    return None
