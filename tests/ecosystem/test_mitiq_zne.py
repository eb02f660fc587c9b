"""mitiq's zero-noise extrapolation through ``QRelaySampler``.

mitiq 1.1 needs ``cirq-core<1.7.0``; the project's environment has cirq-core 1.7, so pip
cannot install both (``mitiq 1.1.0 depends on cirq-core<1.7.0 and >=1.6.0``). This module
runs where mitiq is installed (a separate environment with cirq-core 1.6) and is skipped
with that reason otherwise.
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest

pytest.importorskip(
    "mitiq",
    reason=(
        "mitiq is not installed: pip cannot install it beside the project's pins "
        "(ResolutionImpossible: mitiq 1.1.0 depends on cirq-core<1.7.0 and >=1.6.0; "
        "the project runs cirq-core 1.7)"
    ),
)

from mitiq import zne


def test_folded_circuits_compile_to_three_times_the_czs(cirq_service) -> None:
    """Folding (``U U^-1 U``) triples the CZ count: inverses are the plain gates."""
    from qrelay_cirq.convert import from_cirq

    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b))
    folded = zne.scaling.fold_global(circuit, 3.0)
    ops = [i["op"] for i in from_cirq(folded).instructions]
    assert ops.count("cx") == 3


def test_zne_moves_the_estimate_toward_the_exact_value(cirq_service) -> None:
    device = cirq_service.device("square_qpu")
    a, b = device.qubits[0], device.qubits[1]
    circuit = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.CNOT(a, b), cirq.H(a))
    exact = 1.0  # the circuit is the identity: <Z0 Z1> = 1
    sampler = cirq_service.sampler("square_qpu", seed=9)

    def executor(c: cirq.Circuit) -> float:
        measured = c + cirq.measure(a, b, key="m")
        bits = sampler.run(measured, repetitions=4000).measurements["m"]
        return float(np.mean((-1.0) ** (bits[:, 0] ^ bits[:, 1])))

    noisy = executor(circuit)
    mitigated = zne.execute_with_zne(
        circuit, executor, factory=zne.inference.RichardsonFactory([1.0, 2.0, 3.0])
    )
    assert abs(mitigated - exact) < abs(noisy - exact)
