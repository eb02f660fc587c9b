"""QRelaySamplerV2: PUBs with parameter arrays as one job, one BitArray per register."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.primitives import BaseSamplerV2, PrimitiveResult, SamplerPubResult
from qiskit.primitives.containers import BitArray

from qrelay.errors import ValidationError
from qrelay_qiskit import QRelaySamplerV2


@pytest.fixture(scope="module")
def sampler(qiskit_provider) -> QRelaySamplerV2:  # type: ignore[no-untyped-def]
    return QRelaySamplerV2(qiskit_provider.get_backend("aer_simulator"), default_shots=32)


def test_pubs_run_as_one_job_with_a_bitarray_per_register(sampler: QRelaySamplerV2) -> None:
    assert isinstance(sampler, BaseSamplerV2)
    a, b = Parameter("a"), Parameter("b")
    q = QuantumRegister(2, "q")
    low, high = ClassicalRegister(1, "low"), ClassicalRegister(2, "high")
    qc = QuantumCircuit(q, low, high)
    qc.rx(a, 0)
    qc.rx(b, 1)
    qc.measure(0, low[0])
    qc.measure(1, high[1])
    values = np.array([[[0, 0], [np.pi, 0], [0, np.pi]], [[np.pi, np.pi], [0, 0], [np.pi, 0]]])
    plain = QuantumCircuit(1, 1)
    plain.x(0)
    plain.measure(0, 0)
    job = sampler.run([(qc, values), plain], shots=16)
    assert "," not in job.job_id()
    result = job.result()
    assert isinstance(result, PrimitiveResult)
    first = result[0]
    assert isinstance(first, SamplerPubResult)
    assert isinstance(first.data.low, BitArray)
    assert isinstance(first.data.high, BitArray)
    assert first.data.low.shape == (2, 3)
    assert first.data.low.num_shots == 16
    assert first.data.high.num_bits == 2
    for index in np.ndindex(2, 3):
        va, vb = values[index]
        assert first.data.low[index].get_counts() == {"1" if va else "0": 16}
        assert first.data.high[index].get_counts() == {"10" if vb else "00": 16}
    assert result[1].data.c.get_counts() == {"1": 16}
    assert result[1].metadata["shots"] == 16


def test_default_shots_and_bad_options(sampler: QRelaySamplerV2) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    assert sampler.run([qc]).result()[0].data.c.num_shots == 32
    with pytest.raises(ValidationError, match="shots"):
        QRelaySamplerV2(sampler.backend, options={"shots": 3})
