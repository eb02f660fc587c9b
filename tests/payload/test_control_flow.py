"""payload.v2 control flow: the blocks, classical expressions, versions and counting.

Golden files of a payload.v2 circuit and job live in ``tests/golden/payload_v2``
(regenerate with ``QRELAY_REGEN_GOLDEN=1`` like ``test_golden.py``); the payload.v1 ones
in ``tests/golden/payload`` stay as they were, so old jobs keep reading.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from qrelay import payload as p
from qrelay.errors import PayloadError
from qrelay.payload import control
from qrelay.payload.limits import InstructionBudget, check_circuit, instruction_count

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "payload_v2"
REGEN = os.environ.get("QRELAY_REGEN_GOLDEN") == "1"

H0 = {"op": "h", "qubits": [0]}
M00 = {"op": "measure", "qubits": [0], "clbits": [0]}


def dynamic_circuit() -> dict[str, Any]:
    """Every payload.v2 block once: while with break, for, switch, store, if on an expression."""
    return {
        "name": "dynamic",
        "num_qubits": 2,
        "registers": [{"name": "c", "size": 2}],
        "variables": [
            {"name": "turns", "type": "uint", "width": 4},
            {"name": "both", "type": "bool"},
        ],
        "instructions": [
            H0,
            M00,
            {
                "op": "while",
                "qubits": [],
                "test": {"clbit": 0},
                "body": [
                    {"op": "reset", "qubits": [0]},
                    H0,
                    M00,
                    {
                        "op": "if",
                        "qubits": [],
                        "test": {"op": "equal", "args": [{"var": "turns"}, {"lit": 3, "width": 4}]},
                        "body": [{"op": "break", "qubits": []}],
                        "else_body": [{"op": "continue", "qubits": []}],
                    },
                ],
            },
            {
                "op": "for",
                "qubits": [],
                "loop_range": [0, 4, 1],
                "loop_parameter": "i",
                "body": [
                    {"op": "rx", "qubits": [1], "params": [{"fn": "mul", "args": [0.5, "i"]}]}
                ],
            },
            {
                "op": "for",
                "qubits": [],
                "loop_values": [1, 3],
                "body": [{"op": "x", "qubits": [1]}],
            },
            {
                "op": "switch",
                "qubits": [],
                "test": {"register": "c"},
                "cases": [{"values": [0, 1], "body": [{"op": "x", "qubits": [1]}]}],
                "default": [{"op": "z", "qubits": [1]}],
            },
            {
                "op": "store",
                "qubits": [],
                "lvalue": {"var": "both"},
                "rvalue": {"op": "logic_and", "args": [{"clbit": 0}, {"clbit": 1}]},
            },
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    }


def _render(model: p.WireModel) -> str:
    return json.dumps(json.loads(model.model_dump_json()), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", ["Circuit", "NewJob"])
def test_golden_v2_wire(name: str) -> None:
    circuit = p.Circuit.model_validate(dynamic_circuit())
    model: p.WireModel = (
        circuit if name == "Circuit" else p.NewJob(target="aer_simulator", circuits=[circuit])
    )
    path = GOLDEN_DIR / f"{name}.json"
    text = _render(model)
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"the wire form of {name} changed"
    assert p.parse(type(model), text) == model


def test_version_is_the_oldest_that_reads_the_job() -> None:
    dynamic = p.Circuit.model_validate(dynamic_circuit())
    plain = p.Circuit(num_qubits=1, instructions=[H0])
    assert p.NewJob(target="t", circuits=[plain]).version == "payload.v1"
    assert p.NewJob(target="t", circuits=[plain, dynamic]).version == "payload.v2"
    assert p.NewJob(target="t", circuits=[plain], version="payload.v2").version == "payload.v2"
    # a job read back keeps its version
    job = p.NewJob(target="t", circuits=[dynamic])
    assert p.parse(p.NewJob, job.model_dump_json()).version == "payload.v2"


def test_a_v1_job_with_v2_blocks_is_refused_by_name() -> None:
    data = {"target": "t", "version": "payload.v1", "circuits": [dynamic_circuit()]}
    with pytest.raises(PayloadError, match=r"version: the job says 'payload\.v1', but "):
        p.parse(p.NewJob, data)
    plain = {
        "num_qubits": 1,
        "instructions": [{"op": "while", "qubits": [], "test": {"lit": False}, "body": []}],
    }
    data = {"target": "t", "version": "payload.v1", "circuits": [plain]}
    with pytest.raises(PayloadError, match=r"circuits\[0\]: op 'while' needs 'payload\.v2'"):
        p.parse(p.NewJob, data)


def test_unknown_version_is_refused() -> None:
    data = {"target": "t", "version": "payload.v3", "circuits": [dynamic_circuit()]}
    with pytest.raises(PayloadError, match=r"'payload\.v3' is not a payload version this reader"):
        p.parse(p.NewJob, data)


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    data = dynamic_circuit()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


_WHILE = ["instructions", 2]
_SWITCH = ["instructions", 5]


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (
            _with(["instructions", 0], {"op": "break", "qubits": []}),
            r"instruction 0 \(break\): 'break' is outside every loop",
        ),
        (
            _with([*_WHILE, "test"], {"var": "nope"}),
            r"instruction 2 \(while\) test: .*undeclared variable 'nope'",
        ),
        (_with([*_WHILE, "test"], {"clbit": 9}), r"clbit 9 is out of range"),
        (
            _with([*_WHILE, "test"], {"op": "nand", "args": []}),
            r"unknown classical operation 'nand'",
        ),
        (
            _with([*_WHILE, "test"], {"op": "less", "args": [{"clbit": 0}, {"clbit": 1}]}),
            r"'less' orders unsigned integers, not bool",
        ),
        (_with([*_WHILE, "test"], {"lit": 9, "width": 3}), r"literal 9 does not fit uint\[3\]"),
        (_with([*_WHILE, "test"], {"clbit": 0, "var": "turns"}), r"exactly one of"),
        (_with([*_WHILE, "qubits"], [0]), r"'while' takes no qubits of its own"),
        (_with([*_WHILE, "loop_range"], [0, 1, 1]), r"field 'loop_range' does not belong"),
        (
            _with(["instructions", 3, "loop_values"], [1]),
            r"exactly one of 'loop_range' or 'loop_values'",
        ),
        (_with(["instructions", 3, "loop_range"], [0, 4, 0]), r"loop_range step is zero"),
        (_with(["instructions", 3, "loop_range"], [0, 10**7, 1]), r"loop values exceed the limit"),
        (_with(["instructions", 3, "loop_parameter"], "i"), r""),  # unchanged: accepted below
        (_with([*_SWITCH, "cases", 0, "values"], [0, 4]), r"case 0 value 4 does not fit uint\[2\]"),
        (
            _with([*_SWITCH, "cases"], [{"values": [1], "body": []}, {"values": [1], "body": []}]),
            r"case value 1 is given twice",
        ),
        (_with([*_SWITCH, "test"], {"var": "missing"}), r"undeclared variable 'missing'"),
        (
            _with(["instructions", 6, "rvalue"], {"register": "c"}),
            r"stores a uint\[2\] into a bool; cast it",
        ),
        (
            _with(["instructions", 6, "lvalue"], {"lit": True}),
            r"lvalue must be one clbit, register or variable",
        ),
        (
            _with(["variables"], [{"name": "x", "type": "uint"}]),
            r"'x' of type 'uint' needs a width",
        ),
        (
            _with(
                ["variables"],
                [{"name": "turns", "type": "bool"}, {"name": "turns", "type": "bool"}],
            ),
            r"a variable name is used twice",
        ),
    ],
)
def test_refusals_name_the_fault(data: dict[str, Any], pattern: str) -> None:
    if not pattern:
        p.parse(p.Circuit, data)
        return
    before = copy.deepcopy(data)
    with pytest.raises(PayloadError, match=pattern):
        p.parse(p.Circuit, data)
    assert data == before


def test_loop_parameter_may_not_shadow_a_symbol() -> None:
    data = dynamic_circuit()
    data["parameters"] = ["i"]
    with pytest.raises(PayloadError, match=r"loop_parameter 'i' is already a symbol"):
        p.parse(p.Circuit, data)


def test_loop_parameter_is_not_a_free_symbol() -> None:
    circuit = p.Circuit.model_validate(dynamic_circuit())
    assert circuit.free_symbols() == set()
    outside = _with(["instructions", 0], {"op": "rx", "qubits": [0], "params": ["i"]})
    with pytest.raises(PayloadError, match=r"symbol 'i'"):
        p.parse(p.Circuit, outside)


def test_walkers_see_every_body() -> None:
    circuit = p.Circuit.model_validate(dynamic_circuit())
    ops = [inst["op"] for inst in circuit.iter_instructions()]
    assert ops.count("break") == 1
    assert ops.count("continue") == 1
    assert ops.count("z") == 1
    assert ops.count("rx") == 1
    paths = [name for name, _ in control.blocks(circuit.instructions[5])]
    assert paths == ["cases.0.body", "default"]


def test_instruction_count_weighs_for_bodies() -> None:
    circuit = p.Circuit.model_validate(dynamic_circuit())
    # 8 top level; while body 4 (+ if bodies 2); for 4 x 1; for 2 x 1; switch 1 + 1
    assert instruction_count(circuit) == 8 + 6 + 4 + 2 + 2
    target = p.TargetInfo(
        name="small", driver="aer", num_qubits=2, limits=p.TargetLimits(max_instructions=21)
    )
    with pytest.raises(PayloadError, match=r"22 instructions exceed the limit of 21"):
        check_circuit(circuit, target, 0)
    budget = InstructionBudget(10)
    budget.spend_block(2, iterations=5)
    with pytest.raises(PayloadError, match="past the limit of 10"):
        budget.spend_block(1)
