"""Qiskit gates for payload ops that Qiskit's standard library lacks.

``fsim`` (Cirq's ``FSimGate``) is ``XXPlusYYGate(2θ, 0)`` followed by ``CPhaseGate(-φ)``;
both pieces are symmetric in their qubits, so the qubit order does not matter.
"""

from __future__ import annotations

from typing import Any

from qiskit.circuit import Gate, QuantumCircuit
from qiskit.circuit.library import CPhaseGate, XXPlusYYGate


class FSimGate(Gate):  # type: ignore[misc]
    """Cirq's fermionic simulation gate ``fsim(θ, φ)`` as a Qiskit gate with a definition."""

    def __init__(self, theta: Any, phi: Any, label: str | None = None) -> None:
        super().__init__("fsim", 2, [theta, phi], label=label)

    def _define(self) -> None:
        theta, phi = self.params
        qc = QuantumCircuit(2, name=self.name)
        qc.append(XXPlusYYGate(2 * theta, 0.0), [0, 1])
        qc.append(CPhaseGate(-phi), [0, 1])
        self.definition = qc
