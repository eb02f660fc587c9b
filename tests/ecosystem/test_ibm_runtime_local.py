"""qiskit-ibm-runtime's local testing mode on qrelay backends: ``mode=backend``.

The runtime primitives copy the backend they are given; with a qrelay backend they run
its jobs through qrelay and agree with the usual references (exact Bell statistics,
``StatevectorEstimator``).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime", reason="qiskit-ibm-runtime is not installed")

from qiskit import QuantumCircuit, transpile
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import EstimatorV2, SamplerV2


def _bell(measure: bool) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    if measure:
        qc.measure_all()
    return qc


@pytest.mark.parametrize("name", ["aer_simulator", "square_qpu"])
def test_sampler_v2_local_mode(qiskit_provider, name: str) -> None:
    backend = qiskit_provider.get_backend(name)
    native = transpile(_bell(True), backend, optimization_level=1, seed_transpiler=1)
    result = SamplerV2(mode=backend).run([native], shots=2000).result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 2000
    correlated = (counts.get("00", 0) + counts.get("11", 0)) / 2000
    assert correlated > (0.99 if name == "aer_simulator" else 0.9), counts
    assert abs(counts.get("00", 0) - counts.get("11", 0)) / 2000 < 0.1


def test_estimator_v2_local_mode_matches_statevector_estimator(qiskit_provider) -> None:
    backend = qiskit_provider.get_backend("aer_simulator")
    circuit = QuantumCircuit(2)
    circuit.ry(0.7, 0)
    circuit.cx(0, 1)
    observables = SparsePauliOp.from_list([("ZZ", 1.0), ("XX", 0.5), ("IZ", -0.3)])
    exact = StatevectorEstimator().run([(circuit, observables)]).result()[0].data.evs
    native = transpile(circuit, backend, optimization_level=1, seed_transpiler=1)
    estimator = EstimatorV2(mode=backend)
    estimator.options.default_shots = 8000
    pub = (native, observables.apply_layout(native.layout))
    value = estimator.run([pub]).result()[0].data
    assert float(value.evs) == pytest.approx(
        float(np.real(exact)), abs=5 * float(value.stds) + 0.01
    )
