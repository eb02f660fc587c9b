"""QRelaySamplerV2 with IBM's twirling and dynamical_decoupling options, in one job."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter

from qrelay.errors import ValidationError
from qrelay_qiskit import QRelaySamplerV2


def test_twirled_copies_read_as_one_untwirled_run(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("aer_simulator")
    sampler = QRelaySamplerV2(
        backend,
        seed=2,
        options={
            "twirling": {"enable_gates": True, "enable_measure": True},
            "twirling.num_randomizations": 4,
        },
    )
    a = Parameter("a")
    q = QuantumRegister(3, "q")
    low, high = ClassicalRegister(1, "low"), ClassicalRegister(2, "high")
    qc = QuantumCircuit(q, low, high)
    qc.rx(a, 0)
    qc.cx(0, 1)
    qc.x(2)
    qc.measure(0, low[0])
    qc.measure(1, high[0])
    qc.measure(2, high[1])
    job = sampler.run([(qc, [[0.0], [np.pi]])], shots=40)
    assert "," not in job.job_id()  # every randomization in the one service job
    result = job.result()[0]
    assert result.metadata["num_randomizations"] == 4
    assert result.data.low.num_shots == 40  # 4 randomizations x 10 shots
    # the flips before the measurements are undone: deterministic outcomes stay exact
    assert result.data.low[0].get_counts() == {"0": 40}
    assert result.data.high[0].get_counts() == {"10": 40}
    assert result.data.low[1].get_counts() == {"1": 40}
    assert result.data.high[1].get_counts() == {"11": 40}


def test_dynamical_decoupling_on_a_device(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("heavyhex_qpu")
    sampler = QRelaySamplerV2(backend, options={"dynamical_decoupling.enable": True})
    assert sampler.options.dynamical_decoupling.sequence_type == "XX"
    qc = QuantumCircuit(3, 3)
    qc.x(2)
    qc.barrier()
    for _ in range(4):
        qc.cx(0, 1)
    qc.barrier()
    qc.measure([0, 1, 2], [0, 1, 2])
    counts = sampler.run([qc], shots=200).result()[0].data.c.get_counts()
    assert max(counts, key=counts.__getitem__) == "100"


def test_refusals(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("aer_simulator")
    with pytest.raises(ValidationError, match="enable_gate"):
        QRelaySamplerV2(backend, options={"twirling": {"enable_gate": True}})
    with pytest.raises(ValidationError, match="sequence_type"):
        QRelaySamplerV2(backend, options={"dynamical_decoupling.sequence_type": "X"})
    sampler = QRelaySamplerV2(backend, options={"twirling.enable_measure": True})
    qc = QuantumCircuit(1, 2)
    qc.measure(0, 0)
    qc.x(0)
    qc.measure(0, 1)
    with pytest.raises(ValidationError, match=r"pub 0: twirling\.enable_measure"):
        sampler.run([qc])
