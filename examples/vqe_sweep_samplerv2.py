"""A VQE-style sweep with ``QRelaySamplerV2``: one PUB, a whole parameter array, one job.

A two-layer hardware-efficient ansatz on four qubits is sampled at many parameter points
in one job (the parameter array travels as one bindings table). The energy of a 4-spin
Ising chain, H = -sum_i Z_i Z_{i+1}, is estimated from the bitstrings of each point, and
the best point is reported.

    python examples/vqe_sweep_samplerv2.py [--points 64] [--shots 256]
"""

from __future__ import annotations

import argparse

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qrelay_qiskit import QRelayProvider, QRelaySamplerV2

NUM_QUBITS = 4


def ansatz(layers: int = 2) -> QuantumCircuit:
    theta = ParameterVector("theta", NUM_QUBITS * layers)
    qc = QuantumCircuit(NUM_QUBITS, name="ansatz")
    for layer in range(layers):
        for q in range(NUM_QUBITS):
            qc.ry(theta[layer * NUM_QUBITS + q], q)
        for q in range(NUM_QUBITS - 1):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def zz_energy(bits: np.ndarray) -> np.ndarray:
    """-sum_i <Z_i Z_{i+1}> per point from ``points x shots x qubits`` bits."""
    spins = 1 - 2 * bits.astype(np.int8)
    return -(spins[..., :-1] * spins[..., 1:]).sum(axis=-1).mean(axis=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="aer_simulator")
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--shots", type=int, default=256)
    args = parser.parse_args()

    circuit = ansatz()
    rng = np.random.default_rng(7)
    values = rng.uniform(0, np.pi, size=(args.points, circuit.num_parameters))
    values[0] = 0.0  # all qubits stay |0>: the exact ground state, energy -3

    backend = QRelayProvider().get_backend(args.target)
    sampler = QRelaySamplerV2(backend, default_shots=args.shots)
    job = sampler.run([(circuit, values)])
    bit_array = job.result()[0].data.meas
    bits = bit_array.to_bool_array(order="little")  # points x shots x qubits, bit i = qubit i
    energies = zz_energy(bits)

    best = int(np.argmin(energies))
    print(f"target: {backend.name}  job: {job.job_id()}")
    print(f"points: {args.points}  shots: {args.shots}")
    print(f"bit array shape: {bit_array.shape}, bits per shot: {bit_array.num_bits}")
    print(f"energy at theta=0: {energies[0]:.3f}")
    print(f"best point: {best}  energy: {energies[best]:.3f}")


if __name__ == "__main__":
    main()
