"""Dynamic circuits through the real stack: distributions against Aer, bounds, refusals.

Each program runs on ``aer_simulator`` through ``backend.run`` (service, worker, the Aer
engine) and directly on ``AerSimulator``; the two distributions stay within TVD 0.03 at
4,000 shots (seeded on both sides).
"""

from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit.classical import expr, types
from qiskit_aer import AerSimulator
from tests.dynamic_programs import (
    and_of_two_clbits,
    bit_flip_code,
    repeat_until_success,
    switch_on_two_bits,
    teleport_with_if,
    teleport_with_switch,
)

from qrelay.errors import JobFailedError
from qrelay_qiskit import QRelayBackend

from .conftest import total_variation

SHOTS = 4000
TVD = 0.03


@pytest.fixture(scope="module")
def aer_backend(qiskit_provider) -> QRelayBackend:  # type: ignore[no-untyped-def]
    return qiskit_provider.get_backend("aer_simulator")


PROGRAMS = [
    repeat_until_success,
    switch_on_two_bits,
    and_of_two_clbits,
    teleport_with_if,
    teleport_with_switch,
    bit_flip_code,
]


@pytest.mark.parametrize("make", PROGRAMS, ids=lambda make: make.__name__)
def test_distribution_matches_aer(aer_backend: QRelayBackend, make) -> None:  # type: ignore[no-untyped-def]
    qc = make()
    ours = aer_backend.run(qc, shots=SHOTS, seed_simulator=11).result().get_counts()
    reference = AerSimulator().run(qc, shots=SHOTS, seed_simulator=12).result().get_counts()
    assert sum(ours.values()) == SHOTS
    assert total_variation(ours, reference) < TVD


def test_teleportation_and_the_code_do_their_job(aer_backend: QRelayBackend) -> None:
    """Beyond agreeing with Aer: the teleported state undone reads 0, the corrected
    logical qubit reads 1 with probability sin^2(0.4)."""
    for make in (teleport_with_if, teleport_with_switch):
        counts = aer_backend.run(make(), shots=SHOTS, seed_simulator=3).result().get_counts()
        ones = sum(n for key, n in counts.items() if key.split()[0] == "1")
        assert ones / SHOTS < 0.02
    counts = aer_backend.run(bit_flip_code(), shots=SHOTS, seed_simulator=3).result()
    outs = counts.get_counts()
    assert set(outs) == {"0 11", "1 11"}  # the syndrome names qubit 1 every shot
    assert abs(outs["1 11"] / SHOTS - 0.1516) < 0.03


def test_variables_and_stores_run(aer_backend: QRelayBackend) -> None:
    """A typed variable counts loop turns; Aer itself cannot run the variable, the
    engine's lowering can."""
    flag, out = ClassicalRegister(1, "flag"), ClassicalRegister(2, "turns")
    qc = QuantumCircuit(QuantumRegister(1, "q"), flag, out, name="counted")
    turns = qc.add_var("n", expr.lift(0, types.Uint(2)))
    qc.h(0)
    qc.measure(0, flag[0])
    with qc.while_loop((flag[0], 1)):
        qc.store(turns, expr.bit_xor(turns, 1))
        qc.reset(0)
        qc.h(0)
        qc.measure(0, flag[0])
    qc.store(out, turns)
    counts = aer_backend.run(qc, shots=SHOTS, seed_simulator=5).result().get_counts()
    odd = sum(n for key, n in counts.items() if key.split()[0] == "01")
    # turns is odd with probability 1/2 * (1/2 + 1/8 + ...) = 1/3
    assert abs(odd / SHOTS - 1 / 3) < 0.04


def test_a_shot_at_the_while_bound_fails_the_run(aer_backend: QRelayBackend) -> None:
    qc = QuantumCircuit(1, 1, name="forever")
    qc.x(0)
    qc.measure(0, 0)
    with qc.while_loop((qc.clbits[0], 1)):
        qc.x(0)
        qc.x(0)
        qc.measure(0, 0)
    job = aer_backend.run(qc, shots=10)
    with pytest.raises(JobFailedError, match=r"reached the bound of 1000 iterations"):
        job.result(timeout=300)


def test_heavyhex_runs_the_bit_flip_code_within_its_noise(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    """The emulated device runs the feed-forward (readout error and all) as Aer does with
    the device's calibrated noise (``noise-sim``), and the code still finds the error."""
    backend = qiskit_provider.get_backend("heavyhex_qpu")
    assert {"if_else", "while_loop", "for_loop", "switch_case"} <= set(backend.operation_names)
    qc = transpile(bit_flip_code(), backend, optimization_level=1, seed_transpiler=1)
    assert "switch_case" in qc.count_ops()
    device = backend.run(qc, shots=SHOTS, seed_simulator=3).result().get_counts()
    noisy = backend.run(qc, shots=SHOTS, seed_simulator=4, sim_method="noise-sim")
    reference = noisy.result().get_counts()
    assert total_variation(device, reference) < 0.05
    found = sum(n for key, n in device.items() if key.endswith("11")) / SHOTS
    assert found > 0.75  # the syndrome names qubit 1 on most shots despite the noise


def test_heavyhex_runs_a_variable_read_from_openqasm_3_within_its_noise(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    """The bit-flip code as ``qasm3.dumps`` writes it (the switch on an ``int`` variable),
    read back, runs on the device (its compile carries the variable) as the device's
    noisy simulation runs it."""
    from qiskit import qasm3

    from qrelay_qasm import from_qasm3
    from qrelay_qiskit.convert import to_qiskit

    backend = qiskit_provider.get_backend("heavyhex_qpu")
    qc = to_qiskit(from_qasm3(qasm3.dumps(bit_flip_code())))
    assert [var.name for var in qc.iter_declared_vars()] == ["switch_dummy"]
    device = backend.run(qc, shots=SHOTS, seed_simulator=3).result().get_counts()
    noisy = backend.run(qc, shots=SHOTS, seed_simulator=4, sim_method="noise-sim")
    assert total_variation(device, noisy.result().get_counts()) < 0.05
    assert sum(n for key, n in device.items() if key.endswith("11")) / SHOTS > 0.75


def test_heavyhex_runs_a_while_loop(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("heavyhex_qpu")
    qc = transpile(repeat_until_success(), backend, optimization_level=1, seed_transpiler=1)
    counts = backend.run(qc, shots=1000, seed_simulator=3).result().get_counts()
    # the loop ends on a flag read as 0, and the register keeps what was read
    assert {key.split()[1] for key in counts} == {"0"}


@pytest.mark.parametrize("target", ["square_qpu", "ion_qpu"])
def test_targets_without_loops_refuse_them_by_name(qiskit_provider, target: str) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend(target)
    with pytest.raises(Exception, match=rf"{target}.*while|while.*{target}"):
        backend.run(repeat_until_success(), shots=10).result(timeout=300)
