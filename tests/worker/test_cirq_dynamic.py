"""Dynamic circuits on the cirq driver: the same distributions as Aer, loop keys decoded,
and a loop that runs past the target's bound failing the run."""

from __future__ import annotations

from typing import Any

import cirq
import numpy as np
import pytest
from tests.dynamic_programs import and_of_two_clbits_payload as and_of_two_clbits
from tests.dynamic_programs import measure
from tests.dynamic_programs import repeat_until_success_payload as repeat_until_success

from qrelay.errors import DeviceError
from qrelay.payload import Circuit, TargetInfo
from qrelay.payload.targets import TargetLimits
from qrelay.plugins import TaskContext
from qrelay_cirq.convert import from_cirq, loop_ends, register_arrays, to_cirq
from qrelay_cirq.driver import CirqDriver
from qrelay_cirq.result import result_dicts
from qrelay_qiskit.engine import AerEngine

from ._circuits import task_for, total_variation

SHOTS = 4000


def _cirq_target(**limits: Any) -> TargetInfo:
    return TargetInfo(
        name="cirq_simulator",
        driver="cirq",
        simulator=True,
        num_qubits=8,
        limits=TargetLimits(**limits),
    )


def _run_cirq(circuit: Circuit, target: TargetInfo, seed: int) -> Any:
    task = task_for(circuit, target=target.name, shots=SHOTS, options={"seed": seed})
    (readout,) = CirqDriver(target).execute(task, task.circuit, TaskContext(task=task))
    return readout


@pytest.mark.parametrize("program", [repeat_until_success, and_of_two_clbits])
def test_cirq_simulator_matches_aer(program: Any) -> None:
    circuit = program()
    ours = _run_cirq(circuit, _cirq_target(), seed=11).counts()
    (aer,) = AerEngine().run(circuit, shots=SHOTS, seed=12)
    assert sum(ours.values()) == SHOTS
    assert total_variation(ours, aer.counts()) < 0.03


def test_repeat_until_success_ends_on_a_flag_of_zero() -> None:
    readout = _run_cirq(repeat_until_success(), _cirq_target(), seed=13)
    assert not readout.register("flag").array().any()
    out = readout.register("out").array()[:, 0]
    assert 0 < out.sum() < SHOTS  # both outcomes of the other qubit occur


def test_a_key_measured_in_a_loop_decodes_its_last_instance_per_shot() -> None:
    circuit = repeat_until_success()
    program = to_cirq(circuit)
    result = cirq.Simulator(seed=14).run(program, repetitions=SHOTS)
    records = result.records["flag"]
    turns = records.shape[1]
    assert records.shape == (SHOTS, turns, 1)
    assert turns > 3
    ends = loop_ends(program, result.records)
    last = ends["flag"]
    assert last.shape == (SHOTS,)
    # every turn before the last read 1 (the loop went on); the last read 0
    before = np.arange(turns)[None, :] < last[:, None]
    assert records[:, :, 0][before].all()
    assert not records[np.arange(SHOTS), last, 0].any()
    # a turn takes place with probability 1/2, so about half the shots stop at once
    assert abs((last == 0).mean() - 0.5) < 5 * (0.25 / SHOTS) ** 0.5
    arrays = register_arrays(circuit, result.records, SHOTS, ends)
    assert not arrays["flag"].any()


def test_a_loop_past_the_target_bound_fails_the_run() -> None:
    with pytest.raises(DeviceError, match=r"ran \d+ iterations; 'cirq_simulator' allows at most 2"):
        _run_cirq(repeat_until_success(), _cirq_target(max_loop_iterations=2), seed=15)


def test_keys_measured_in_loops_decode_to_cirq_records() -> None:
    a, b = cirq.LineQubit.range(2)
    repeated = cirq.FrozenCircuit(cirq.X(a), cirq.measure(a, key="m"))
    until = cirq.FrozenCircuit(cirq.reset(b), cirq.H(b), cirq.measure(b, key="flag"))
    circuit = cirq.Circuit(
        cirq.CircuitOperation(repeated, repetitions=3, use_repetition_ids=False),
        cirq.CircuitOperation(
            until,
            repeat_until=cirq.KeyCondition(cirq.MeasurementKey("flag")),
            use_repetition_ids=False,
        ),
    )
    payload = from_cirq(circuit)
    (readout,) = AerEngine().run(payload, shots=200, seed=16)
    (ours,) = result_dicts(payload, [readout], [cirq.ParamResolver()])
    theirs = cirq.Simulator(seed=17).run(circuit, repetitions=200)
    # a fixed number of turns: every instance, as Cirq records them
    assert ours.records["m"].shape == theirs.records["m"].shape == (200, 3, 1)
    np.testing.assert_array_equal(ours.records["m"][0, :, 0], [1, 0, 1])
    np.testing.assert_array_equal(ours.records["m"], theirs.records["m"])
    # repeat_until: a payload register keeps the last turn, the one that ended the loop
    assert ours.records["flag"].shape == (200, 1, 1)
    assert ours.records["flag"].all()


def switch_on_two_bits(order: str = "forward") -> Circuit:
    """A switch on a 2-bit register with asymmetric cases: value 1 (bit 0 set) flips
    qubit 2, value 2 (bit 1 set) or 0 rotates it by 2.2, 3 (the default) by 0.6.

    The two bits come from ry(1.0) and ry(2.0), so the four values have distinct
    probabilities and a swapped bit order would move weight between the cases.
    ``order``: ``forward`` measures bit 0 then bit 1 (one Cirq key whose first, most
    significant qubit is bit 0), ``backward`` bit 1 then bit 0 (one key in Cirq's own
    order), ``split`` each bit on its own (two keys).
    """
    first, second = measure(0, 0), measure(1, 1)
    measures: list[Any] = {
        "forward": [first, second],
        "backward": [second, first],
        "split": [first, {"op": "barrier", "qubits": [0, 1]}, second],
    }[order]
    return Circuit.model_validate(
        {
            "num_qubits": 3,
            "registers": [{"name": "c", "size": 2}, {"name": "out", "size": 1}],
            "instructions": [
                {"op": "ry", "qubits": [0], "params": [1.0]},
                {"op": "ry", "qubits": [1], "params": [2.0]},
                *measures,
                {
                    "op": "switch",
                    "qubits": [],
                    "test": {"register": "c"},
                    "cases": [
                        {"values": [1], "body": [{"op": "x", "qubits": [2]}]},
                        {"values": [2, 0], "body": [{"op": "ry", "qubits": [2], "params": [2.2]}]},
                    ],
                    "default": [{"op": "ry", "qubits": [2], "params": [0.6]}],
                },
                measure(2, 2),
            ],
        }
    )


def switch_on_a_clbit() -> Circuit:
    """A switch on one clbit: case 0 leaves qubit 1 alone, case 1 flips it."""
    return Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "c", "size": 1}, {"name": "out", "size": 1}],
            "instructions": [
                {"op": "ry", "qubits": [0], "params": [0.9]},
                measure(0, 0),
                {
                    "op": "switch",
                    "qubits": [],
                    "test": {"clbit": 0},
                    "cases": [{"values": [1], "body": [{"op": "x", "qubits": [1]}]}],
                },
                measure(1, 1),
            ],
        }
    )


@pytest.mark.parametrize(
    "program",
    [
        switch_on_two_bits,
        lambda: switch_on_two_bits("backward"),
        lambda: switch_on_two_bits("split"),
        switch_on_a_clbit,
    ],
    ids=["one-key", "one-key-cirq-order", "two-keys", "clbit"],
)
def test_cirq_simulator_runs_switch_as_aer_does(program: Any) -> None:
    circuit = program()
    ours = _run_cirq(circuit, _cirq_target(), seed=21).counts()
    (aer,) = AerEngine().run(circuit, shots=SHOTS, seed=22)
    assert total_variation(ours, aer.counts()) < 0.03
    # the case of value 1 (the clbit reading 1) flips the output qubit on every shot
    one = "1 " if circuit.registers[0].size == 1 else "01 "  # keys read "c out"
    taken = {key: n for key, n in ours.items() if key.startswith(one)}
    assert taken
    assert all(key.endswith("1") for key in taken)


def test_the_switch_cases_see_the_register_value_not_cirq_key_value() -> None:
    """Value 2 of the register is Cirq key value 1 when bit 0 is measured first: the
    case of 2 must still run on it (and the key's value 2, register value 1, must not)."""
    circuit = switch_on_two_bits()
    program = to_cirq(circuit)
    assert sorted(cirq.measurement_key_names(program)) == ["c", "out"]
    result = cirq.Simulator(seed=25).run(program, repetitions=400)
    arrays = register_arrays(circuit, result.records, 400)
    value = arrays["c"][:, 0] + 2 * arrays["c"][:, 1]
    out = arrays["out"][:, 0]
    assert out[value == 1].all()  # x: always 1
    assert (value == 2).any()
    assert out[value == 2].mean() > 0.6
    assert out[value == 0].mean() > 0.6
    assert out[value == 3].mean() < 0.3  # the default, ry(0.6): P(1) = 0.09


def test_a_switch_reads_back_from_cirq_as_conditions() -> None:
    circuit = switch_on_two_bits()
    program = to_cirq(circuit)
    controlled = [
        op for op in program.all_operations() if isinstance(op, cirq.ClassicallyControlledOperation)
    ]
    assert len(controlled) == 3  # one per case and one for the default
    back = from_cirq(program)
    ops = [inst["op"] for inst in back.instructions]
    assert "switch" not in ops
    assert ops.count("if") == 3
    (before,) = AerEngine().run(circuit, shots=SHOTS, seed=23)
    (after,) = AerEngine().run(back, shots=SHOTS, seed=24)
    assert total_variation(before.counts(), after.counts()) < 0.03


def _looped_keys() -> cirq.Circuit:
    """Until the flag qubit reads 1: flip a coin into ``flag`` and measure qubit ``a``
    (after an x, with an invert mask, so it records 0 on every real turn) into ``m``."""
    a, b = cirq.LineQubit.range(2)
    body = cirq.FrozenCircuit(
        cirq.reset(b),
        cirq.H(b),
        cirq.measure(b, key="flag"),
        cirq.X(a),
        cirq.measure(a, key="m", invert_mask=(True,)),
        cirq.reset(a),
    )
    return cirq.Circuit(
        cirq.X(a),
        cirq.measure(a, key="before"),
        cirq.reset(a),
        cirq.CircuitOperation(
            body,
            repeat_until=cirq.KeyCondition(cirq.MeasurementKey("flag")),
            use_repetition_ids=False,
        ),
    )


def test_cirq_simulator_readout_carries_every_turn_of_a_loop_key() -> None:
    payload = from_cirq(_looped_keys())
    seed = 31
    task = task_for(payload, target="cirq_simulator", shots=500, options={"seed": seed})
    (readout,) = CirqDriver(_cirq_target()).execute(task, task.circuit, TaskContext(task=task))
    assert readout.turns is not None
    (ours,) = result_dicts(payload, [readout], [cirq.ParamResolver()])
    theirs = cirq.Simulator(seed=seed).run(to_cirq(payload), repetitions=500)
    for key in ("flag", "m", "before"):
        np.testing.assert_array_equal(ours.records[key], theirs.records[key], err_msg=key)
    flag = ours.records["flag"][:, :, 0]
    assert flag.shape[1] > 3  # per-turn records: shots x turns x qubits
    assert payload.layout is not None
    name = next(e.register_name for e in payload.layout if e.key == "flag")
    (turns,) = [t for t in readout.turns if t.name == name]
    # a shot's last turn is the one that read 1, and the register keeps it
    last = turns.counts_array().astype(np.intp) - 1
    assert flag[np.arange(500), last].all()
    assert readout.register(name).array()[:, 0].all()
    # the key measured with an invert mask records 0 on real turns and Cirq's padding after
    m = ours.records["m"][:, :, 0]
    assert not m.any()


def test_a_readout_with_turns_survives_the_wire() -> None:
    from qrelay.payload import Readout, decode_readouts, encode_readouts

    payload = from_cirq(_looped_keys())
    task = task_for(payload, target="cirq_simulator", shots=50, options={"seed": 5})
    (readout,) = CirqDriver(_cirq_target()).execute(task, task.circuit, TaskContext(task=task))
    (framed,) = decode_readouts(encode_readouts([readout]))
    assert framed == readout
    assert Readout.model_validate_json(readout.model_dump_json()) == readout


def test_a_switch_inside_an_if_runs_under_both_conditions() -> None:
    switch = {
        "op": "switch",
        "qubits": [],
        "test": {"clbit": 1},
        "cases": [{"values": [1], "body": [{"op": "x", "qubits": [2]}]}],
        "default": [{"op": "x", "qubits": [3]}],
    }
    circuit = Circuit.model_validate(
        {
            "num_qubits": 4,
            "registers": [{"name": "c", "size": 2}, {"name": "out", "size": 2}],
            "instructions": [
                {"op": "x", "qubits": [0]},
                {"op": "h", "qubits": [1]},
                measure(0, 0),
                measure(1, 1),
                {
                    "op": "if",
                    "qubits": [],
                    "condition": {"clbit": 0, "value": 1},
                    "body": [switch],
                },
                measure(2, 2),
                measure(3, 3),
            ],
        }
    )
    task = task_for(circuit, target="cirq_simulator", shots=200, options={"seed": 3})
    (readout,) = CirqDriver(_cirq_target()).execute(task, task.circuit, TaskContext(task=task))
    c, out = readout.register("c").array(), readout.register("out").array()
    np.testing.assert_array_equal(out[:, 0], c[:, 1])  # the case: x when c[1] reads 1
    np.testing.assert_array_equal(out[:, 1], 1 - c[:, 1])  # the default otherwise
    assert 0 < c[:, 1].sum() < 200
