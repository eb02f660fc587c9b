"""cirq.experiments through ``QRelaySampler``: RB, XEB and ``t1_decay``.

References: the advertised calibration (T1), ``cirq.Simulator`` for XEB's ideal
amplitudes, and a decay that must be visible for RB (which needs ``verbatim=True``: a
compiled sequence of Cliffords collapses to the identity).
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest
from scipy.optimize import curve_fit


def test_single_qubit_rb_decays_at_the_calibrated_rate(cirq_service) -> None:
    device = cirq_service.device("square_qpu")
    q = device.qubits[0]
    sampler = cirq_service.sampler("square_qpu", verbatim=True, seed=2)
    result = cirq.experiments.single_qubit_randomized_benchmarking(
        sampler,
        q,
        use_xy_basis=False,
        num_clifford_range=[1, 200, 500, 800],
        num_circuits=3,
        repetitions=200,
    )
    survival = dict(result.data)
    assert survival[1] > 0.9
    assert survival[800] < survival[1] - 0.1  # it decays: the sequences were not merged
    rx = next(g.error for g in device.info.gates if g.op == "rx" and g.qubits == [0])
    # Cirq's Pauli error is 1.5x the average infidelity per Clifford; each Clifford here
    # is about one rx pulse at the calibrated error: the same order of magnitude
    assert rx / 3 < result.pauli_error() < 3 * 1.5 * rx, (result.pauli_error(), rx)


def test_t1_decay_recovers_the_advertised_t1(cirq_service) -> None:
    info = cirq_service.target_info("square_qpu")
    q = cirq_service.device("square_qpu").qubits[0]
    t1_us = info.qubits[0].t1_us
    result = cirq.experiments.t1_decay(
        cirq_service.sampler("square_qpu", seed=4),
        qubit=q,
        num_points=14,
        max_delay=cirq.Duration(micros=4 * t1_us),
        repetitions=3000,
    )
    data = result.data
    delays = data["delay_ns"].to_numpy(dtype=float)
    p1 = data["true_count"].to_numpy() / (data["true_count"] + data["false_count"]).to_numpy()

    def decay(t: np.ndarray, a: float, t1: float, b: float) -> np.ndarray:
        return a * np.exp(-t / t1) + b

    assert len(p1) >= 8, data
    assert p1[0] > 0.8, data
    assert p1[-1] < 0.3, data
    (_, fitted, _), _ = curve_fit(decay, delays, p1, p0=[1.0, t1_us * 1000, 0.0])
    assert fitted / 1000 == pytest.approx(t1_us, rel=0.10)


def test_xeb_fidelity_on_square_qpu_is_what_the_errors_allow(cirq_service) -> None:
    """Two-qubit XEB with ``cirq.Simulator`` amplitudes: high but below 1 on the device,
    about 1 on the ideal simulator."""
    from cirq.experiments import random_quantum_circuit_generation as rqcg
    from cirq.experiments.xeb_fitting import benchmark_2q_xeb_fidelities
    from cirq.experiments.xeb_sampling import sample_2q_xeb_circuits

    device = cirq_service.device("square_qpu")
    a, b = device.qubits[0], device.qubits[1]
    circuits = rqcg.generate_library_of_2q_circuits(
        n_library_circuits=4, two_qubit_gate=cirq.CZ, q0=a, q1=b, random_state=7
    )
    depths = [1, 5, 10]

    def fidelity(sampler) -> float:  # type: ignore[no-untyped-def]
        sampled = sample_2q_xeb_circuits(
            sampler=sampler,
            circuits=circuits,
            cycle_depths=depths,
            repetitions=1000,
            progress_bar=None,
        )
        table = benchmark_2q_xeb_fidelities(sampled, circuits, depths)
        return float(table[table["cycle_depth"] == 10]["fidelity"].mean())

    device_fidelity = fidelity(cirq_service.sampler("square_qpu", seed=1))
    ideal = fidelity(cirq.Simulator(seed=1))
    assert ideal == pytest.approx(1.0, abs=0.1)
    assert 0.5 < device_fidelity < ideal
