"""Dynamic circuits in the worker: the engine's lowering, the while bound and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from qrelay.errors import DeviceError, PayloadError
from qrelay.payload import Circuit
from qrelay.payload.capabilities import check_capabilities
from qrelay.payload.lowering import HIDDEN_PREFIX, lower, needs_lowering
from qrelay.qpu.fleet import fleet_targets
from qrelay.qpu.native import check_native
from qrelay.service.catalog import simulator_targets
from qrelay_qiskit.engine import AerEngine

SHOTS = 4000
H0 = {"op": "h", "qubits": [0]}
M00 = {"op": "measure", "qubits": [0], "clbits": [0]}


def counted_loop() -> Circuit:
    """Flip a coin until it reads 0, counting the turns mod 2 in a variable."""
    return Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "flag", "size": 1}, {"name": "odd", "size": 1}],
            "variables": [{"name": "parity", "type": "bool"}],
            "instructions": [
                H0,
                M00,
                {
                    "op": "while",
                    "qubits": [],
                    "test": {"clbit": 0},
                    "body": [
                        {
                            "op": "store",
                            "qubits": [],
                            "lvalue": {"var": "parity"},
                            "rvalue": {"op": "logic_not", "args": [{"var": "parity"}]},
                        },
                        {"op": "reset", "qubits": [0]},
                        H0,
                        M00,
                    ],
                },
                {"op": "store", "qubits": [], "lvalue": {"clbit": 1}, "rvalue": {"var": "parity"}},
            ],
        }
    )


@pytest.fixture(scope="module")
def engine() -> AerEngine:
    return AerEngine()


def _target(name: str) -> Any:
    return next(t for t in [*simulator_targets(), *fleet_targets()] if t.name == name)


def test_lowering_hides_variables_and_bounds_loops() -> None:
    circuit = counted_loop()
    assert needs_lowering(circuit)
    lowered = lower(circuit, 7)
    names = [reg.name for reg in lowered.circuit.registers]
    assert names[:2] == ["flag", "odd"]
    assert all(name.startswith(HIDDEN_PREFIX) for name in names[2:])
    assert lowered.circuit.variables == []
    ops = [inst["op"] for inst in lowered.circuit.instructions]
    assert "for" not in ops  # Aer would unroll it into 7 copies
    loop = next(i for i in lowered.circuit.instructions if i["op"] == "while")
    # the loop's own test as written; the turn's first step leaves at the bound (its
    # counter: 3 bits hold 7), setting the loop's one-bit ``overran`` register
    assert loop["test"] == {"clbit": 0}
    stop = loop["body"][0]
    assert stop["op"] == "if"
    assert stop["test"] == {
        "op": "equal",
        "args": [{"register": names[-1]}, {"lit": 7, "width": 3}],
    }
    assert [inst["op"] for inst in stop["body"]] == ["barrier", "store", "break"]
    assert [reg.size for reg in lowered.circuit.registers[-2:]] == [1, 3]
    assert not needs_lowering(Circuit(num_qubits=1, instructions=[H0]))


def test_hiding_variables_changes_nothing_else() -> None:
    """For a compiler: the variable becomes a hidden clbit, the loop stays a loop, and
    the engine still lowers the result (and drops the hidden register)."""
    from qrelay.payload.lowering import hide_variables

    circuit = counted_loop()
    hidden = hide_variables(circuit)
    assert hidden.variables == []
    assert [reg.name for reg in hidden.registers] == ["flag", "odd", f"{HIDDEN_PREFIX}var_parity"]
    assert [inst["op"] for inst in hidden.instructions] == ["h", "measure", "while", "store"]
    assert hidden.instructions[-1]["rvalue"] == {"clbit": 2}
    assert needs_lowering(hidden)
    assert hide_variables(hidden) is hidden


def test_engine_runs_variables_and_drops_hidden_registers(engine: AerEngine) -> None:
    (readout,) = engine.run(counted_loop(), shots=SHOTS, seed=3)
    assert [reg.name for reg in readout.registers] == ["flag", "odd"]
    odd = readout.register("odd").array()[:, 0].mean()
    # an odd number of turns: 1/2 * (1/2 + 1/8 + ...) = 1/3
    assert abs(odd - 1 / 3) < 0.04
    assert readout.register("flag").array().sum() == 0


def test_a_shot_at_the_bound_fails_the_run_naming_the_loop(engine: AerEngine) -> None:
    with pytest.raises(
        DeviceError, match=r"instruction 2 \(while\): \d+ shot\(s\) reached the bound of 2"
    ):
        engine.run(counted_loop(), shots=200, seed=3, max_loop_iterations=2)


def exact_turns(turns: int) -> Circuit:
    """A loop that ends after exactly ``turns`` turns on every shot: turn ``i`` flips
    qubit ``i`` and reads it into ``c[i]``, and the loop runs while ``c`` is not all ones."""
    chain: list[dict[str, Any]] = []
    for bit in reversed(range(turns)):
        step: dict[str, Any] = {
            "op": "if",
            "qubits": [],
            "test": {"op": "logic_not", "args": [{"clbit": bit}]},
            "body": [
                {"op": "x", "qubits": [bit]},
                {"op": "measure", "qubits": [bit], "clbits": [bit]},
            ],
        }
        if chain:
            step["else_body"] = chain
        chain = [step]
    done = {"lit": 2**turns - 1, "width": turns}
    return Circuit.model_validate(
        {
            "num_qubits": turns,
            "registers": [{"name": "c", "size": turns}],
            "instructions": [
                {
                    "op": "while",
                    "qubits": [],
                    "test": {"op": "not_equal", "args": [{"register": "c"}, done]},
                    "body": chain,
                }
            ],
        }
    )


@pytest.mark.parametrize("turns", [5, 8])
def test_the_bound_counts_every_turn(engine: AerEngine, turns: int) -> None:
    """The loop's counter (added one bit at a time) lets exactly ``bound`` turns run:
    a loop of ``turns`` turns passes at that bound and fails one below it (8 turns: the
    counter's width grows from 3 bits to 4)."""
    (readout,) = engine.run(exact_turns(turns), shots=20, seed=1, max_loop_iterations=turns)
    assert readout.counts() == {"1" * turns: 20}
    with pytest.raises(DeviceError, match=rf"20 shot\(s\) reached the bound of {turns - 1}"):
        engine.run(exact_turns(turns), shots=20, seed=1, max_loop_iterations=turns - 1)


def test_a_loop_test_at_the_depth_limit_is_lowered_as_written(engine: AerEngine) -> None:
    """The lowering adds no nesting to the user's test: a test at the payload's depth
    limit (an even number of ``not`` around the flag) passes the lowered circuit's own
    check and runs."""
    from qrelay.payload.classical import MAX_DEPTH

    test: dict[str, Any] = {"clbit": 0}
    for _ in range(MAX_DEPTH):
        test = {"op": "logic_not", "args": [test]}
    deep = counted_loop().model_dump()
    deep["instructions"][2]["test"] = test
    circuit = Circuit.model_validate(deep)
    lowered = lower(circuit, 1000)
    loop = next(i for i in lowered.circuit.instructions if i["op"] == "while")
    assert loop["test"] == test
    (readout,) = engine.run(circuit, shots=200, seed=3)
    assert readout.register("flag").array().sum() == 0


def test_a_store_in_a_body_without_qubits_follows_its_condition(engine: AerEngine) -> None:
    circuit = Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [
                {"op": "x", "qubits": [0]},
                M00,
                {
                    "op": "if",
                    "qubits": [],
                    "condition": {"clbit": 0, "value": 0},
                    "body": [
                        {
                            "op": "store",
                            "qubits": [],
                            "lvalue": {"clbit": 1},
                            "rvalue": {"lit": True},
                        }
                    ],
                },
            ],
        }
    )
    (readout,) = engine.run(circuit, shots=50, seed=1)
    bits = readout.register("c").array()
    assert bits[:, 0].sum() == 50  # the condition is false on every shot
    assert bits[:, 1].sum() == 0  # so the store never ran


def test_a_switch_on_a_computed_expression_runs(engine: AerEngine) -> None:
    """Aer switches on registers only: the lowering stores ``c ^ 1`` (and a bool test)
    in hidden registers first. c reads 01, so ``c ^ 1`` is 0 and ``c[0]`` true."""
    xor = {"op": "bit_xor", "args": [{"register": "c"}, {"lit": 1, "width": 2}]}
    circuit = Circuit.model_validate(
        {
            "num_qubits": 3,
            "registers": [{"name": "c", "size": 2}, {"name": "out", "size": 2}],
            "instructions": [
                {"op": "x", "qubits": [0]},
                M00,
                {
                    "op": "switch",
                    "qubits": [],
                    "test": xor,
                    "cases": [{"values": [0], "body": [{"op": "x", "qubits": [1]}]}],
                    "default": [{"op": "h", "qubits": [1]}],
                },
                {
                    "op": "switch",
                    "qubits": [],
                    "test": {"op": "logic_not", "args": [{"clbit": 0}]},
                    "cases": [{"values": [0], "body": [{"op": "x", "qubits": [2]}]}],
                },
                {"op": "measure", "qubits": [1], "clbits": [2]},
                {"op": "measure", "qubits": [2], "clbits": [3]},
            ],
        }
    )
    assert needs_lowering(circuit)
    lowered = lower(circuit, 10)
    stores = [inst for inst in lowered.circuit.instructions if inst["op"] == "store"]
    assert [store["rvalue"] for store in stores] == [
        xor,
        {"op": "cast", "args": [{"op": "logic_not", "args": [{"clbit": 0}]}], "width": 1},
    ]
    (readout,) = engine.run(circuit, shots=50, seed=1)
    assert [reg.name for reg in readout.registers] == ["c", "out"]
    assert readout.counts() == {"01 11": 50}


@pytest.mark.parametrize(
    ("target", "pattern"),
    [
        (
            "square_qpu",
            r"'square_qpu' does not run classical feed-forward or control flow \('while'",
        ),
        (
            "cirq_simulator",
            (
                r"\(store\): 'cirq_simulator' does not run 'store' "
                r"\(capabilities.control_flow: if, while, for, switch, expressions\)"
            ),
        ),
    ],
)
def test_targets_refuse_what_they_do_not_run(target: str, pattern: str) -> None:
    with pytest.raises(PayloadError, match=pattern):
        check_capabilities(counted_loop(), _target(target))
    check_capabilities(counted_loop(), _target("aer_simulator"))


def test_cirq_simulator_runs_expressions_and_switch_but_refuses_break() -> None:
    test = {"op": "logic_and", "args": [{"clbit": 0}, {"clbit": 1}]}
    circuit = Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [
                M00,
                {"op": "if", "qubits": [], "test": test, "body": [H0]},
                {
                    "op": "switch",
                    "qubits": [],
                    "test": {"register": "c"},
                    "cases": [{"values": [1], "body": [H0]}],
                },
                {
                    "op": "for",
                    "qubits": [],
                    "loop_range": [0, 2, 1],
                    "body": [H0, {"op": "break", "qubits": []}],
                },
            ],
        }
    )
    with pytest.raises(
        PayloadError, match=r"instruction 3.body.1 \(break\): 'cirq_simulator' does not run"
    ):
        check_capabilities(circuit, _target("cirq_simulator"))
    del circuit.instructions[3]
    check_capabilities(circuit, _target("cirq_simulator"))


def test_qpu_native_check_names_control_flow() -> None:
    square = _target("square_qpu")
    circuit = Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "c", "size": 1}],
            "instructions": [
                M00,
                {
                    "op": "for",
                    "qubits": [],
                    "loop_values": [1],
                    "body": [{"op": "x", "qubits": [0]}],
                },
            ],
        }
    )
    with pytest.raises(PayloadError, match=r"instruction 1 \(for\): square_qpu does not run"):
        check_native(circuit, square)
    check_native(circuit.model_copy(update={"instructions": circuit.instructions[:1]}), square)
    check_native(circuit, _target("heavyhex_qpu"))  # feed-forward, its body native
