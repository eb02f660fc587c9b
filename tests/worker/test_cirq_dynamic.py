"""Dynamic circuits on the cirq driver: the same distributions as Aer, loop keys decoded,
and a loop that runs past the target's bound failing the run."""

from __future__ import annotations

from typing import Any

import cirq
import numpy as np
import pytest
from tests.dynamic_programs import and_of_two_clbits_payload as and_of_two_clbits
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
