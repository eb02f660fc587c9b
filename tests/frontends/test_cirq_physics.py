"""Cirq programs on the emulated QPUs: verbatim sequences and timed waits.

``QRelaySampler(verbatim=True)`` runs a sequence exactly as given, so a long identity
sequence decays as a benchmark needs instead of being compiled away; a ``cirq.wait``
whose duration is a symbol runs at each sweep point's duration, and relaxes.
"""

from __future__ import annotations

import math

import cirq
import numpy as np
import pytest
import sympy


def test_verbatim_keeps_an_identity_sequence_that_compiling_removes(cirq_service) -> None:
    device = cirq_service.device("square_qpu")
    q = device.qubits[0]
    identity = cirq.Circuit([cirq.rx(np.pi / 2).on(q)] * 400, cirq.measure(q, key="m"))
    device.validate_circuit(identity)
    compiled = cirq_service.sampler("square_qpu", seed=1).run(identity, repetitions=2000)
    verbatim = cirq_service.sampler("square_qpu", seed=1, verbatim=True)
    assert verbatim.verbatim
    kept = verbatim.run(identity, repetitions=2000)
    p_compiled = compiled.histogram(key="m")[1] / 2000
    p_kept = kept.histogram(key="m")[1] / 2000
    # 400 gates at the advertised error leave a visible depolarised share; compiled, the
    # sequence is gone and only readout error flips the bit
    assert p_kept > p_compiled + 0.03, (p_kept, p_compiled)


def test_verbatim_refuses_a_non_native_gate_by_name(cirq_service) -> None:
    from qrelay.errors import JobFailedError

    q = cirq_service.device("square_qpu").qubits[0]
    sampler = cirq_service.sampler("square_qpu", verbatim=True)
    with pytest.raises(JobFailedError, match="'h' is not a native op"):
        sampler.run(cirq.Circuit(cirq.H(q), cirq.measure(q, key="m")), repetitions=10)


def test_a_symbolic_wait_runs_at_each_points_duration(cirq_service) -> None:
    info = cirq_service.target_info("square_qpu")
    q = cirq_service.device("square_qpu").qubits[0]
    t1_ns = info.qubits[0].t1_us * 1000
    delay = sympy.Symbol("delay_ns")
    circuit = cirq.Circuit(cirq.X(q), cirq.wait(q, nanos=delay), cirq.measure(q, key="m"))
    points = [0.0, 2 * t1_ns]
    results = cirq_service.sampler("square_qpu", seed=3).run_sweep(
        circuit, cirq.Points("delay_ns", points), repetitions=4000
    )
    assert [r.params.value_of("delay_ns") for r in results] == points
    p1 = [r.histogram(key="m")[1] / 4000 for r in results]
    assert p1[0] > 0.9
    assert abs(p1[1] - math.exp(-2)) < 0.05, p1
