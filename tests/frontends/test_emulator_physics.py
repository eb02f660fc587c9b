"""The emulated QPUs behave like the calibration they advertise.

Aer runs their noise without crashing; ``AerSimulator.from_backend`` of a QPU backend
predicts what the device returns; readout error is the advertised one; ``delay`` and idle
time relax; and every capability flag of every target is true both ways.
"""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from tests.frontends.conftest import total_variation

pytest.importorskip("qiskit_aer")

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.circuit.random import random_circuit
from qiskit_aer import AerSimulator

from qrelay.qpu.fleet import FLEET_NAMES, fleet_device
from qrelay_qiskit.noise import noise_model_from_target, with_idle_delays

SHOTS = 20_000


def _p1(counts: dict[str, int], shots: int) -> float:
    return counts.get("1", 0) / shots


def test_aer_runs_the_device_noise_of_a_cz_without_crashing(qiskit_provider) -> None:
    """The program that made Aer fail with 'Kraus is empty' (and corrupt its heap) runs."""
    qpu = qiskit_provider.get_backend("square_qpu")
    qc = QuantumCircuit(16, 2)
    qc.cz(1, 5)
    qc.measure(1, 0)
    qc.measure(4, 1)
    for _ in range(3):
        counts = qpu.run(qc, shots=500, verbatim=True).result().get_counts()
        assert counts.get("00", 0) > 400
    # the same model in this process, in the method that crashed
    model = noise_model_from_target(fleet_device("square_qpu"))
    simulator = AerSimulator(method="statevector", noise_model=model)
    for seed in range(5):
        counts = simulator.run(qc, shots=500, seed_simulator=seed).result().get_counts()
        assert sum(counts.values()) == 500


@pytest.mark.parametrize("name", FLEET_NAMES)
def test_random_native_circuits_never_crash_and_match_from_backend(
    qiskit_provider, name: str
) -> None:
    """Random circuits transpiled at level 3, many seeds: Aer runs them all, and the device
    agrees with ``AerSimulator.from_backend`` of its backend."""
    qpu = qiskit_provider.get_backend(name)
    reference = AerSimulator.from_backend(qpu)
    shots = 2000
    for seed in range(6):
        qc = random_circuit(3, 3, max_operands=2, measure=True, seed=seed)
        native = transpile(qc, qpu, optimization_level=3, seed_transpiler=seed)
        device = qpu.run(native, shots=shots, verbatim=True).result().get_counts()
        predicted = reference.run(native, shots=shots, seed_simulator=seed).result().get_counts()
        assert sum(device.values()) == shots
        # 8 outcomes at 2,000 shots each side: sampling alone stays far below 0.1
        assert total_variation(device, predicted) < 0.1, (seed, device, predicted)


@pytest.mark.parametrize("name", ["square_qpu", "heavyhex_qpu"])
def test_from_backend_predicts_the_device_within_002(qiskit_provider, name: str) -> None:
    """GHZ and a random circuit at 20k shots: TVD to Aer's model of the backend <= 0.02.

    The circuits are scheduled (``scheduling_method="alap"``), so the idle time the device
    relaxes through is in the circuit as delays, which Aer's model relaxes too.
    """
    qpu = qiskit_provider.get_backend(name)
    reference = AerSimulator.from_backend(qpu)
    ghz = QuantumCircuit(4)
    ghz.h(0)
    for q in range(3):
        ghz.cx(q, q + 1)
    ghz.measure_all()
    for qc in (ghz, random_circuit(3, 4, max_operands=2, measure=True, seed=11)):
        native = transpile(
            qc, qpu, optimization_level=1, seed_transpiler=1, scheduling_method="alap"
        )
        device = qpu.run(native, shots=SHOTS, verbatim=True).result().get_counts()
        predicted = reference.run(native, shots=SHOTS, seed_simulator=5).result().get_counts()
        assert total_variation(device, predicted) <= 0.02, (qc.name, device, predicted)


def test_readout_error_is_the_advertised_one(qiskit_provider) -> None:
    """On heavyhex, reading a prepared 1 as 0 happens at the advertised measure error
    (plus the x gate's error), not at twice that from relaxation added on top."""
    qpu = qiskit_provider.get_backend("heavyhex_qpu")
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    counts = qpu.run(qc, shots=SHOTS, verbatim=True).result().get_counts()
    expected = qpu.target["measure"][(0,)].error + qpu.target["x"][(0,)].error
    observed = counts.get("0", 0) / SHOTS
    sigma = math.sqrt(expected * (1 - expected) / SHOTS)
    assert abs(observed - expected) < 5 * sigma + 0.002, (observed, expected)


def test_delay_relaxes_at_the_advertised_t1(qiskit_provider) -> None:
    """``x; delay(2 T1); measure`` reads 1 with probability e^-2 (with readout error)."""
    qpu = qiskit_provider.get_backend("square_qpu")
    t1 = qpu.target.qubit_properties[0].t1
    eps = qpu.target["measure"][(0,)].error
    qc = QuantumCircuit(1, 1)
    qc.rx(np.pi, 0)
    qc.delay(2 * t1, 0, unit="s")
    qc.measure(0, 0)
    counts = qpu.run(qc, shots=SHOTS, verbatim=True).result().get_counts()
    decayed = math.exp(-2)
    expected = decayed * (1 - eps) + (1 - decayed) * eps
    assert abs(_p1(counts, SHOTS) - expected) < 0.02, (counts, expected)


def test_idle_qubits_relax_while_others_work() -> None:
    """A qubit waiting for another's gates gets relaxation over exactly that wait."""
    from qiskit.quantum_info import Kraus

    from qrelay.qpu import native
    from qrelay_qiskit.convert import from_qiskit, to_qiskit

    device = fleet_device("square_qpu")
    qc = QuantumCircuit(2, 2)
    qc.rx(np.pi, 0)
    for _ in range(10):
        qc.rx(np.pi / 2, 1)
    qc.measure([0, 1], [0, 1])
    reduced = native.reduce_to_touched(from_qiskit(qc), device)
    scheduled = with_idle_delays(to_qiskit(reduced.circuit), reduced.target)
    relaxations = [inst for inst in scheduled.data if inst.operation.name in ("kraus", "unitary")]
    assert relaxations, scheduled
    idle = [scheduled.find_bit(inst.qubits[0]).index for inst in relaxations]
    assert 0 in idle  # qubit 0 waits while qubit 1 runs ten gates
    waited = 9 * next(g.duration_ns for g in reduced.target.gates if g.op == "rx") * 1e-9
    t1 = reduced.target.qubits[0].t1_us * 1e-6
    kraus = Kraus(relaxations[idle.index(0)].operation)
    stays = sum(abs(k[1, 1]) ** 2 for k in kraus.data)  # P(|1> stays |1>)
    assert stays == pytest.approx(math.exp(-waited / t1), rel=1e-6)


def test_a_backend_deep_copies_with_its_provider_and_pickles_by_settings(
    qiskit_provider,
) -> None:
    qpu = qiskit_provider.get_backend("aer_simulator")
    twin = copy.deepcopy(qpu)
    twin.set_options(shots=7)
    assert twin.provider is qiskit_provider
    assert qpu.options.shots == 1024
    assert twin.options.shots == 7
    again = pickle.loads(pickle.dumps(twin))
    assert again.name == "aer_simulator"
    assert again.options.shots == 7
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    assert again.run(qc).result().get_counts() == {"1": 7}


FLAGS = ("parameter_batch", "mid_circuit_measurement", "reset", "feed_forward", "iq_readout")


def _probe(backend, flag: str) -> bool:  # type: ignore[no-untyped-def]
    """Run what ``flag`` allows; True when the result is right."""
    if flag == "parameter_batch":
        t = Parameter("t")
        qc = QuantumCircuit(1, 1)
        qc.rx(t, 0)
        qc.measure(0, 0)
        result = backend.run(qc, shots=200, parameter_binds=[{t: [0.0, np.pi]}]).result()
        return bool(
            result.get_counts(0).get("0", 0) > 170 and result.get_counts(1).get("1", 0) > 170
        )
    qc = QuantumCircuit(2, 2)
    qc.rx(np.pi, 0)
    if flag == "mid_circuit_measurement":
        qc.measure(0, 0)
        qc.rx(np.pi, 0)
        qc.measure(0, 1)
        return backend.run(qc, shots=200).result().get_counts().get("01", 0) > 170
    if flag == "reset":
        qc.reset(0)
        qc.measure(0, 0)
        return backend.run(qc, shots=200).result().get_counts().get("00", 0) > 170
    if flag == "feed_forward":
        qc.measure(0, 0)
        with qc.if_test((qc.clbits[0], 1)):
            qc.rx(np.pi, 1)
        qc.measure(1, 1)
        return backend.run(qc, shots=200).result().get_counts().get("11", 0) > 170
    qc.measure(0, 0)
    memory = backend.run(qc, shots=20, meas_level=1).result().get_memory(0)
    return bool(np.iscomplexobj(np.asarray(memory)) and len(memory) == 20)


@pytest.mark.parametrize("flag", FLAGS)
def test_every_capability_flag_tells_the_truth(qiskit_provider, flag: str) -> None:
    """Each target runs what a flag allows, and refuses what it denies, by the flag's name."""
    from qiskit.exceptions import QiskitError

    from qrelay.errors import QRelayError

    for backend in qiskit_provider.backends():
        if getattr(backend.info.capabilities, flag):
            assert _probe(backend, flag), (backend.name, flag)
        else:
            with pytest.raises((QRelayError, QiskitError)) as refused:
                _probe(backend, flag)
            words = {"iq_readout": "IQ"}.get(flag, flag)
            assert words in str(refused.value) or "feed-forward" in str(refused.value), (
                backend.name,
                str(refused.value),
            )
