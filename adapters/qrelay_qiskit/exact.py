"""Exact expectation values: the payload's observables as Qiskit operators, and back.

A payload circuit may carry observables (see :mod:`qrelay.payload.observables`); an ideal
simulator then answers each with ``<psi|O|psi>`` instead of shots. On Aer that is one
``SaveExpectationValue`` instruction per observable at the end of the circuit, all binding
rows in one run. The estimator writes its Paulis into observables with
:func:`observable_of`, and the engine reads them back with :func:`operator_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qrelay.payload import Observable, PauliTerm

#: The label of observable ``k``'s saved value in Aer's result data.
_LABEL = "qrelay_ev{}"


def observable_of(label: str, coefficient: float = 1.0) -> Observable:
    """The one-term observable of a Pauli label in Qiskit's order (qubit 0 rightmost)."""
    letters = [(q, letter) for q, letter in enumerate(reversed(label)) if letter != "I"]
    term = PauliTerm(
        pauli="".join(letter for _, letter in letters),
        qubits=[q for q, _ in letters],
        coefficient=coefficient,
    )
    return Observable(terms=[term])


def operator_of(observable: Observable, num_qubits: int) -> SparsePauliOp:
    """The observable as a ``SparsePauliOp`` on ``num_qubits`` qubits."""
    terms = [(t.pauli, t.qubits, t.coefficient) for t in observable.terms]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=num_qubits)


def expectation_circuit(qc: QuantumCircuit, observables: Sequence[Observable]) -> QuantumCircuit:
    """``qc`` followed by one ``SaveExpectationValue`` per observable, on all its qubits."""
    from qiskit_aer.library import SaveExpectationValue

    out = qc.copy()
    for k, observable in enumerate(observables):
        operator = operator_of(observable, qc.num_qubits)
        out.append(SaveExpectationValue(operator, label=_LABEL.format(k)), out.qubits)
    return out


def saved_values(data: dict[str, Any], count: int) -> list[float]:
    """The ``count`` saved expectation values of one experiment's result data, in order."""
    return [float(data[_LABEL.format(k)]) for k in range(count)]
