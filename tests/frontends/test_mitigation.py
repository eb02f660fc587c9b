"""The circuit rewrites behind the estimator's mitigation are exact, and the fits are right."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import ECRGate
from qiskit.quantum_info import Operator, Pauli, Statevector
from qiskit.transpiler import generate_preset_pass_manager

from qrelay.errors import ValidationError
from qrelay_qiskit.mitigation import (
    basis_angles,
    basis_circuit,
    basis_names,
    decouple,
    extrapolate,
    fold_gates,
    twirl_gates,
)
from qrelay_qiskit.primitive_options import TwirlingOptions, randomizations


def _circuit() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.append(ECRGate(), [0, 1])
    qc.rz(0.3, 1)
    qc.cx(1, 2)
    qc.cz(0, 2)
    qc.ry(0.7, 2)
    return qc


def _two_qubit(qc: QuantumCircuit) -> int:
    return sum(1 for inst in qc.data if inst.operation.num_qubits == 2)


@pytest.mark.parametrize("factor", [1, 3, 5])
def test_folding_is_exact_and_scales_the_two_qubit_gates(factor: int) -> None:
    qc = _circuit()
    folded = fold_gates(qc, factor)
    assert Operator(folded).equiv(Operator(qc))
    assert _two_qubit(folded) == factor * _two_qubit(qc)
    names = {inst.operation.name for inst in folded.data if inst.operation.num_qubits == 2}
    assert names == {"ecr", "cx", "cz"}  # each fold is the same gate, its own inverse


def test_gate_twirls_are_exact_and_random() -> None:
    qc = _circuit()
    rng = np.random.default_rng(4)
    native = {"ecr", "cx", "cz", "x", "rz", "sx", "h", "ry"}
    seen = set()
    for _ in range(12):
        twirled = twirl_gates(qc, rng, native)
        assert Operator(twirled).equiv(Operator(qc))
        assert {i.operation.name for i in twirled.data} <= native
        seen.add(len(twirled.data))
    assert len(seen) > 1  # the Paulis differ from draw to draw


def test_basis_circuit_picks_each_basis_and_flip_by_its_row() -> None:
    """One circuit measures every basis: the angles of a row turn the Pauli's +1
    eigenstate to ``|0>`` (``|1>`` with the flip), checked on the state vector."""
    qc = QuantumCircuit(3)
    measured = basis_circuit(qc, [0, 2], [0, 1, 2])
    names = basis_names(2)
    assert sorted(p.name for p in measured.parameters) == sorted(names)
    assert [i.operation.name for i in measured.data].count("measure") == 2
    bare = measured.remove_final_measurements(inplace=False)
    for label in ("XIY", "ZIX", "YIZ"):
        basis = Pauli(label)
        for flip in (0, 1):
            angles = basis_angles(basis, [0, 2], np.array([[flip, flip]], dtype=np.uint8))[0]
            state = QuantumCircuit(3)
            for q in (0, 2):  # each measured qubit in its Pauli's +1 eigenstate
                pauli = label[::-1][q]
                if pauli == "X":
                    state.h(q)
                elif pauli == "Y":
                    state.h(q)
                    state.s(q)
            bound = bare.assign_parameters(dict(zip(names, angles, strict=True)), inplace=False)
            probs = Statevector(state.compose(bound)).probabilities([0, 2])
            assert probs[3 * flip] == pytest.approx(1.0), (label, flip)


def test_extrapolation_recovers_linear_and_exponential_decays() -> None:
    factors = [1, 3, 5]
    line = np.array([0.9, 0.7, 0.5])[:, None]
    stds = np.full_like(line, 0.01)
    value, std = extrapolate(factors, line, stds, "linear")
    assert value[0] == pytest.approx(1.0)
    assert 0.01 < std[0] < 0.05  # the intercept is less certain than each point
    decay = 0.8 * np.exp(-0.1 * np.array(factors, dtype=float))[:, None]
    value, _ = extrapolate(factors, decay, stds, "exponential")
    assert value[0] == pytest.approx(0.8)
    crossing = np.array([0.05, -0.02, -0.1])[:, None]  # no single sign: the line is used
    value, _ = extrapolate(factors, crossing, stds, "exponential")
    assert value[0] == pytest.approx(extrapolate(factors, crossing, stds, "linear")[0][0])


def test_dynamical_decoupling_fills_idle_windows_with_the_target_durations(
    qiskit_provider,  # type: ignore[no-untyped-def]
) -> None:
    backend = qiskit_provider.get_backend("heavyhex_qpu")
    qc = QuantumCircuit(3)
    qc.h(2)
    qc.barrier()
    for _ in range(6):  # qubit 2 idles meanwhile
        qc.cx(0, 1)
    qc.barrier()
    qc.h(2)
    qc.measure_all()
    compiled = generate_preset_pass_manager(optimization_level=0, target=backend.target).run(qc)
    decoupled = decouple(compiled, backend.target, "XX")
    added = sum(1 for i in decoupled.data if i.operation.name == "x") - sum(
        1 for i in compiled.data if i.operation.name == "x"
    )
    assert added >= 2
    assert added % 2 == 0  # XX pairs: the identity on each idle qubit
    assert any(i.operation.name == "delay" for i in decoupled.data)
    with pytest.raises(ValidationError, match="XY4"):
        decouple(compiled, backend.target, "XY4")  # y is not native on heavyhex_qpu


def test_randomizations_split_the_shots() -> None:
    assert randomizations(TwirlingOptions(), 1000) == (32, 32)
    assert randomizations(TwirlingOptions(num_randomizations=4), 1000) == (4, 250)
    assert randomizations(TwirlingOptions(shots_per_randomization=100), 1000) == (10, 100)
    assert randomizations(TwirlingOptions(), 10) == (10, 1)
