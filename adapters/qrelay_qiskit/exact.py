"""Exact expectation values: the payload's observables as Qiskit operators, and back.

A payload circuit may carry observables (see :mod:`qrelay.payload.observables`); an ideal
simulator then answers each with ``<psi|O|psi>`` instead of shots. On Aer that is one
``SaveExpectationValue`` instruction per observable at the end of the circuit, all binding
rows in one run. The estimator writes its observables with :func:`observable_of_sparse`,
and the engine reads them back with :func:`operator_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparseObservable, SparsePauliOp

from qrelay.payload import Observable, PauliTerm

#: The label of observable ``k``'s saved value in Aer's result data.
_LABEL = "qrelay_ev{}"


def observable_of_sparse(observable: SparseObservable) -> Observable:
    """A Qiskit ``SparseObservable`` (projectors expanded into Paulis) as an observable."""
    terms = [
        PauliTerm(pauli=letters, qubits=list(qubits), coefficient=float(np.real(coefficient)))
        for letters, qubits, coefficient in observable.as_paulis().to_sparse_list()
    ]
    return Observable(terms=terms or [PauliTerm(pauli="", qubits=[], coefficient=0.0)])


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
