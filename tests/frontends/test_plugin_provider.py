"""A third-party provider's targets appear as Qiskit backends and Cirq samplers.

The toy provider (tests/plugins/qrelay_testprovider) is installed for real by the
``third_party_provider`` fixture and found through the ``qrelay.providers`` entry points;
nothing in qrelay or the front ends names it.
"""

from __future__ import annotations

import cirq
import pytest
from qiskit import QuantumCircuit

from qrelay_cirq import QRelayService
from qrelay_qiskit import QRelayBackend, QRelayProvider


def _bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def test_plugin_targets_are_qiskit_backends(third_party_provider: str) -> None:
    provider = QRelayProvider(provider=third_party_provider, seed=5)
    backends = provider.backends()
    assert {b.name for b in backends} == {"toy_line", "toy_full"}
    assert all(isinstance(b, QRelayBackend) for b in backends)
    assert [b.name for b in provider.backends(min_num_qubits=5)] == ["toy_full"]
    backend = provider.get_backend("toy_line")
    assert backend.num_qubits == 4
    assert backend.target.build_coupling_map().get_edges()  # the line's couplings

    job = backend.run(_bell(), shots=300)
    counts = job.result().get_counts()
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 300
    again = provider.retrieve_job(job.job_id())
    assert again.result().get_counts() == counts


def test_plugin_targets_are_cirq_samplers(third_party_provider: str) -> None:
    service = QRelayService(provider=third_party_provider, seed=5)
    assert {t.target_name for t in service.targets()} == {"toy_line", "toy_full"}
    sampler = service.sampler("toy_full")
    assert isinstance(sampler, cirq.Sampler)
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m"))
    result = sampler.run(circuit, repetitions=200)
    assert isinstance(result, cirq.ResultDict)
    assert result.measurements["m"].shape == (200, 2)
    assert set(result.histogram(key="m")) <= {0, 3}
    device = service.device("toy_line")
    device.validate_operation(cirq.CNOT(cirq.LineQubit(1), cirq.LineQubit(2)))
    with pytest.raises(ValueError, match="not coupled"):
        device.validate_operation(cirq.CNOT(cirq.LineQubit(0), cirq.LineQubit(3)))
