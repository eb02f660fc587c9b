"""qiskit-experiments on an emulated QPU: T1, T2 (Hahn echo), StandardRB, QuantumVolume.

Each runs through the client's default ``exp.run(backend)`` path (which copies the
backend) and recovers what the target advertises: T1 and T2 within 10%, error per Clifford
within 30% of what the calibrated gate errors imply, and quantum volume's heavy-output
probability as Aer's model of the same backend predicts it.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import transpile

pytest.importorskip("qiskit_experiments", reason="qiskit-experiments is not installed")

from qiskit_experiments.library import T1, QuantumVolume, StandardRB, T2Hahn

QUBIT = 0


def _value(data, name: str) -> float:  # type: ignore[no-untyped-def]
    result = data.analysis_results(name, dataframe=True)
    return float(result.iloc[0]["value"].nominal_value)


def test_t1_recovers_the_advertised_t1(qiskit_provider) -> None:
    qpu = qiskit_provider.get_backend("square_qpu")
    t1 = qpu.target.qubit_properties[QUBIT].t1
    exp = T1((QUBIT,), delays=np.linspace(0, 4 * t1, 14), backend=qpu)
    # the emulated QPU seeds its shot and readout noise with the job's seed: the same fit
    # on every run
    exp.set_run_options(shots=3000, seed_simulator=7)
    data = exp.run().block_for_results()
    assert _value(data, "T1") == pytest.approx(t1, rel=0.10)


def test_t2_hahn_recovers_the_advertised_t2(qiskit_provider) -> None:
    qpu = qiskit_provider.get_backend("square_qpu")
    t2 = qpu.target.qubit_properties[QUBIT].t2
    exp = T2Hahn((QUBIT,), delays=np.linspace(0, 3 * t2, 14), backend=qpu)
    exp.set_run_options(shots=3000, seed_simulator=7)
    data = exp.run().block_for_results()
    assert _value(data, "T2") == pytest.approx(t2, rel=0.10)


def test_standard_rb_recovers_the_calibrated_error_per_clifford(qiskit_provider) -> None:
    qpu = qiskit_provider.get_backend("square_qpu")
    exp = StandardRB((QUBIT,), lengths=[1, 400, 800, 1200], num_samples=12, seed=3, backend=qpu)
    # the sequences are made native below (as the experiment does): run them as they are,
    # with a fixed simulator seed so the fit is the same on every run
    exp.set_run_options(shots=200, verbatim=True, seed_simulator=11)
    # what the advertised errors imply: the calibrated errors of each sequence's gates,
    # per Clifford, averaged over the sequences
    implied = []
    native = transpile(exp.circuits(), qpu, initial_layout=[QUBIT], optimization_level=1)
    for circuit in native:
        total = 0.0
        for inst in circuit.data:
            name = inst.operation.name
            if name in ("measure", "barrier", "delay"):
                continue
            qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
            props = qpu.target[name].get(qubits)
            total += (props.error or 0.0) if props is not None else 0.0
        implied.append(total / (circuit.metadata["xval"] + 1))
    expected = float(np.mean(implied))
    data = exp.run().block_for_results()
    assert _value(data, "EPC") == pytest.approx(expected, rel=0.30)


@pytest.mark.filterwarnings("ignore:Must use at least 100 trials:UserWarning")
def test_quantum_volume_heavy_outputs_match_aers_model(qiskit_provider) -> None:
    from qiskit_aer import AerSimulator

    qpu = qiskit_provider.get_backend("square_qpu")
    physical = (0, 1)

    def hop(backend) -> float:  # type: ignore[no-untyped-def]
        exp = QuantumVolume(physical, backend=backend, trials=12, seed=5)
        exp.set_run_options(shots=400, seed_simulator=5)
        return _value(exp.run().block_for_results(), "mean_HOP")

    device = hop(qpu)
    predicted = hop(AerSimulator.from_backend(qpu))
    assert device > 2 / 3  # a 2-qubit device this good passes QV 4
    assert device == pytest.approx(predicted, abs=0.04)
