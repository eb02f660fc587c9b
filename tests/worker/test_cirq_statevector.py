"""The cirq driver's final-state sampling path against Cirq's own simulator."""

from __future__ import annotations

import math
from typing import Any

import cirq
import numpy as np
import pytest

from qrelay.payload import Bindings, Circuit, TargetInfo
from qrelay.payload.ops import OPS, OpKind
from qrelay.plugins import TaskContext
from qrelay_cirq.convert import from_cirq, instruction_unitaries, register_arrays, to_cirq
from qrelay_cirq.driver import CirqDriver
from qrelay_cirq.statevector import (
    CLOSED_FORMS,
    final_probabilities,
    is_terminal,
    register_bits,
    sample_indices,
)

from ._circuits import task_for, total_variation, tv_bound

CIRQ = TargetInfo(name="cirq_simulator", driver="cirq", simulator=True, num_qubits=20)
SHOTS = 4000
#: Every gate of the payload with a fixed arity, so random circuits cover them all.
GATES = sorted(
    name
    for name, spec in OPS.items()
    if spec.kind is OpKind.GATE and spec.num_qubits is not None and spec.num_qubits <= 3
)


def _same_up_to_phase(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = a[k] / b[k]
    return bool(abs(abs(phase) - 1) < 1e-9 and np.allclose(a, phase * b, atol=1e-9))


@pytest.mark.parametrize("op", sorted(CLOSED_FORMS))
def test_closed_forms_match_cirq(op: str) -> None:
    spec = OPS[op]
    names = [f"a{j}" for j in range(spec.num_params)]
    n = spec.num_qubits or 1
    qubits = [n - 1 - j for j in range(n)] if n > 1 else [0]  # reversed: order matters
    circuit = Circuit(
        num_qubits=n,
        parameters=names,
        instructions=[{"op": op, "qubits": qubits, "params": names}],
    )
    values = np.random.default_rng(7).uniform(-2 * math.pi, 2 * math.pi, size=(5, len(names)))
    rows = [dict(zip(names, row, strict=True)) for row in values.tolist()]
    ours = CLOSED_FORMS[op]([values[:, j] for j in range(len(names))])
    theirs = instruction_unitaries(circuit, circuit.instructions[0], rows)
    for a, b in zip(ours, theirs, strict=True):
        assert _same_up_to_phase(a, b), op


def _random_circuit(rng: np.random.Generator, n: int, depth: int) -> Circuit:
    instructions: list[dict[str, Any]] = []
    parameters: list[str] = []
    for _ in range(depth):
        op = str(rng.choice(GATES))
        spec = OPS[op]
        arity = spec.num_qubits or 1
        if arity > n:
            continue
        qubits = [int(q) for q in rng.permutation(n)[:arity]]
        params: list[Any] = []
        for _ in spec.params:
            if rng.random() < 0.5:
                name = f"p{len(parameters)}"
                parameters.append(name)
                params.append(name)
            else:
                params.append(float(rng.uniform(-math.pi, math.pi)))
        inst: dict[str, Any] = {"op": op, "qubits": qubits}
        if params:
            inst["params"] = params
        instructions.append(inst)
    matrix = cirq.testing.random_unitary(4, random_state=int(rng.integers(1 << 30)))
    from qrelay.payload.circuit import matrix_to_wire

    instructions.append({"op": "unitary", "qubits": [0, n - 1], "matrix": matrix_to_wire(matrix)})
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(n)]
    return Circuit(
        num_qubits=n,
        parameters=parameters,
        registers=[{"name": "a", "size": 1}, {"name": "b", "size": n - 1}],
        instructions=instructions,
    )


@pytest.mark.parametrize("seed", range(6))
def test_final_states_match_cirq_on_random_circuits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    circuit = _random_circuit(rng, 4, 30)
    assert is_terminal(circuit)
    names = list(circuit.parameters)
    table = Bindings(names=names, values=rng.uniform(-3, 3, size=(3, len(names))).tolist())
    probs = final_probabilities(circuit, table)
    program = cirq.drop_terminal_measurements(to_cirq(circuit))
    qubits = cirq.LineQubit.range(circuit.num_qubits)
    for row, ours in zip(table.rows(), probs, strict=True):
        state = cirq.final_state_vector(
            cirq.resolve_parameters(program, row), qubit_order=qubits, dtype=np.complex128
        )
        np.testing.assert_allclose(ours, np.abs(state) ** 2, atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_driver_distributions_match_cirq_simulator(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    circuit = _random_circuit(rng, 3, 20)
    names = list(circuit.parameters)
    table = Bindings(names=names, values=rng.uniform(-3, 3, size=(2, len(names))).tolist())
    task = task_for(circuit, target="cirq_simulator", shots=SHOTS, bindings=table)
    ours = CirqDriver(CIRQ).execute(task, task.circuit, TaskContext(task=task))
    sweep = cirq.ListSweep(list(table.rows()))
    results = cirq.Simulator(seed=seed).run_sweep(to_cirq(circuit), sweep, repetitions=SHOTS)
    assert len(ours) == len(results) == 2
    for readout, result in zip(ours, results, strict=True):
        theirs = readout.from_arrays(register_arrays(circuit, result.records, SHOTS))
        assert total_variation(readout.counts(), theirs.counts()) < tv_bound(8, SHOTS)


def _keyed_circuit() -> cirq.Circuit:
    """Grid qubits, two keys, one key repeated, an inverted bit, deterministic outcomes."""
    q = [cirq.GridQubit(r, c) for r in range(2) for c in range(2)]
    return cirq.Circuit(
        cirq.X(q[0]),
        cirq.X(q[3]),
        cirq.CNOT(q[3], q[1]),
        cirq.measure(q[2], q[0], key="first", invert_mask=(False, True)),
        cirq.measure(q[1], key="again"),
        cirq.measure(q[3], q[2], key="b"),
        cirq.measure(q[1], key="again"),
    )


def test_bits_and_keys_are_those_of_the_cirq_path() -> None:
    circuit = from_cirq(_keyed_circuit())
    assert is_terminal(circuit)
    task = task_for(circuit, target="cirq_simulator", shots=16, options={"seed": 5})
    ours = CirqDriver(CIRQ).execute(task, task.circuit, TaskContext(task=task))
    result = cirq.Simulator(seed=5).run(to_cirq(circuit), repetitions=16)
    theirs = register_arrays(circuit, result.records, 16)
    assert len(ours) == 1
    arrays = ours[0].arrays()
    assert list(arrays) == [reg.name for reg in circuit.registers] == list(theirs)
    for name, bits in theirs.items():
        np.testing.assert_array_equal(arrays[name], bits, err_msg=name)
    assert len(set(ours[0].counts())) == 1  # deterministic, and the same bits every shot


def test_register_bits_write_in_program_order() -> None:
    circuit = Circuit(
        num_qubits=3,
        registers=[{"name": "c", "size": 2}, {"name": "d", "size": 1}],
        instructions=[
            {"op": "measure", "qubits": [0], "clbits": [1]},
            {"op": "measure", "qubits": [2], "clbits": [1]},  # overwrites c[1]
            {"op": "measure", "qubits": [1], "clbits": [2]},
        ],
    )
    indices = np.array([0b001, 0b100, 0b010])  # qubit 0 is the most significant bit
    arrays = register_bits(circuit, indices)
    np.testing.assert_array_equal(arrays["c"], [[0, 1], [0, 0], [0, 0]])
    np.testing.assert_array_equal(arrays["d"], [[0], [0], [1]])


def test_sampling_follows_the_probabilities() -> None:
    probs = np.array([[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 1.0]])
    indices = sample_indices(probs, 2000, np.random.default_rng(3))
    assert set(indices[0]) == {1}
    assert set(indices[1]) == {0, 3}
    assert abs((indices[1] == 3).mean() - 0.5) < 0.06
    assert set(indices[2]) == {3}


@pytest.mark.parametrize(
    "extra",
    [
        [{"op": "x", "qubits": [0]}],  # a gate after a measurement
        [{"op": "reset", "qubits": [1]}],
        [
            {
                "op": "if",
                "qubits": [],
                "condition": {"clbit": 0, "value": 1},
                "body": [{"op": "x", "qubits": [1]}],
            }
        ],
    ],
    ids=["mid-circuit", "reset", "if"],
)
def test_non_terminal_circuits_take_the_simulator_path(
    extra: list[dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    circuit = Circuit(
        num_qubits=2,
        registers=[{"name": "c", "size": 2}],
        instructions=[
            {"op": "x", "qubits": [0]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            *extra,
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    )
    assert not is_terminal(circuit)
    task = task_for(circuit, target="cirq_simulator", shots=50)
    (readout,) = CirqDriver(CIRQ).execute(task, task.circuit, TaskContext(task=task))
    case = request.node.callspec.id
    expected = {"mid-circuit": "01", "reset": "01", "if": "11"}[case]
    assert readout.counts() == {expected: 50}


def test_long_sweeps_keep_each_row_with_its_values() -> None:
    # 12 qubits evolve 64 rows at a time, so 150 rows cross two block boundaries
    n = 12
    circuit = Circuit(
        num_qubits=n,
        parameters=["t"],
        registers=[{"name": "c", "size": 2}],
        instructions=[
            {"op": "rx", "qubits": [0], "params": ["t"]},
            {"op": "x", "qubits": [n - 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [n - 1], "clbits": [1]},
        ],
    )
    flips = [(i * 7) % 3 == 0 for i in range(150)]
    table = Bindings(names=["t"], values=[[math.pi if f else 0.0] for f in flips])
    task = task_for(circuit, target="cirq_simulator", shots=20, bindings=table)
    readouts = CirqDriver(CIRQ).execute(task, task.circuit, TaskContext(task=task))
    assert [r.counts() for r in readouts] == [{"11" if f else "10": 20} for f in flips]


def test_a_seed_repeats_the_shots() -> None:
    rng = np.random.default_rng(9)
    circuit = _random_circuit(rng, 3, 12)
    names = list(circuit.parameters)
    table = Bindings(names=names, values=rng.uniform(-3, 3, size=(4, len(names))).tolist())
    runs = []
    for _ in range(2):
        task = task_for(
            circuit, target="cirq_simulator", shots=200, bindings=table, options={"seed": 11}
        )
        readouts = CirqDriver(CIRQ).execute(task, task.circuit, TaskContext(task=task))
        runs.append([r.counts() for r in readouts])
    assert runs[0] == runs[1]
    assert len(runs[0]) == 4
