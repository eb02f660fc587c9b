"""QRelaySampler.sample_expectation_values: qubit-wise commuting bases in one job."""

from __future__ import annotations

import uuid

import cirq
import numpy as np
import sympy

TARGET = "cirq_simulator"


def _problem() -> tuple[cirq.Circuit, list[cirq.PauliSum], cirq.Sweep]:
    q = cirq.LineQubit.range(2)
    t = sympy.Symbol("t")
    circuit = cirq.Circuit(cirq.ry(t)(q[0]), cirq.CNOT(q[0], q[1]), cirq.rx(0.4)(q[1]))
    observables = [
        cirq.Z(q[0]) * cirq.Z(q[1]) + 0.5 * cirq.X(q[0]),
        cirq.PauliSum.wrap(cirq.X(q[0]) * cirq.X(q[1])),
        cirq.Y(q[1]) - 0.2,
    ]
    return circuit, observables, cirq.Linspace(t, -1.0, 2.5, 7)


def _exact(
    circuit: cirq.Circuit, observables: list[cirq.PauliSum], sweep: cirq.Sweep
) -> np.ndarray:
    simulator = cirq.Simulator()
    rows = []
    for resolver in cirq.to_resolvers(sweep):
        state = simulator.simulate(cirq.resolve_parameters(circuit, resolver)).final_state_vector
        qubits = sorted(circuit.all_qubits())
        index = {q: i for i, q in enumerate(qubits)}
        rows.append([o.expectation_from_state_vector(state, index).real for o in observables])
    return np.array(rows)


def test_values_agree_with_the_state_vector_in_one_job(cirq_service) -> None:  # type: ignore[no-untyped-def]
    tag = f"expect-{uuid.uuid4().hex[:8]}"
    sampler = cirq_service.sampler(TARGET, tags=[tag])
    circuit, observables, sweep = _problem()
    samples = 2000
    got = np.array(
        sampler.sample_expectation_values(circuit, observables, num_samples=samples, params=sweep)
    )
    assert got.shape == (7, 3)
    # each term's standard error is at most 1/sqrt(n); five of them, summed with |c|
    bound = 5 * np.array([1.5, 1.0, 1.0]) / np.sqrt(samples)
    assert np.all(np.abs(got - _exact(circuit, observables, sweep)) <= bound)
    jobs = cirq_service.runtime.client.jobs(tag=tag)
    assert len(jobs) == 1  # {ZZ, ZI... }, {XX, XI}, {IY}: three bases, one job


def test_readout_mitigation_undoes_a_known_readout_error(cirq_service) -> None:  # type: ignore[no-untyped-def]
    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.X(q[0]))
    observable = cirq.Z(q[0]) * cirq.Z(q[1])  # ideal -1
    # on Aer: its noisy path takes the flip exponents the twirl binds
    noisy = cirq_service.sampler(
        "aer_simulator", sim_method="noise-sim", noise={"readout_error": 0.1}
    )
    raw = noisy.sample_expectation_values(circuit, observable, num_samples=4000)[0][0]
    mitigated = noisy.sample_expectation_values(
        circuit, observable, num_samples=4000, readout_mitigation=True
    )[0][0]
    assert abs(raw - (-0.64)) < 0.08  # (1 - 2 * 0.1) ** 2 of the ideal
    assert abs(mitigated - (-1.0)) < 0.08
