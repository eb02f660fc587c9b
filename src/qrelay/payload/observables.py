"""Observables: Pauli sums a circuit may carry, whose exact expectation values come back.

A circuit with ``observables`` asks a target that computes expectation values
(``capabilities.expectation_values``) for ``<psi|O|psi>`` of each observable on the state
the circuit prepares, once per binding row, instead of shots. The values come back in
each readout's ``expectation_values``, in the order of the observables.

An observable is a sum of terms; a term is a coefficient times a Pauli string on the
qubits it names (``{"pauli": "XZ", "qubits": [0, 3], "coefficient": 0.5}`` is
``0.5 X_0 Z_3``; an empty string is the identity). The form is sparse, so a 2-local term
on a 30-qubit circuit costs two letters, and framework-neutral: each adapter writes its
own operators into it. Everything is bounded before a simulator expands it: terms per
observable, observables per circuit, terms and Pauli letters in all, qubits inside the
circuit.

The state is the one before any measurement, so a circuit with observables measures
nothing, resets nothing and branches on nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Final

from pydantic import Field

from qrelay.errors import PayloadError
from qrelay.payload._base import WireModel

#: The most observables one circuit may carry.
MAX_OBSERVABLES: Final = 10_000
#: The most terms one observable may hold, and all observables of a circuit together.
MAX_TERMS: Final = 100_000
#: The most Pauli letters all terms of a circuit's observables may hold together.
MAX_LETTERS: Final = 1_000_000
#: Ops that make the state depend on a measurement: refused beside observables.
_STATE_CHANGING: Final = frozenset({"measure", "reset", "if"})


class PauliTerm(WireModel):
    """``coefficient`` times the Pauli string ``pauli`` on ``qubits`` (letter ``j`` on
    ``qubits[j]``); an empty string with no qubits is the identity."""

    pauli: Annotated[str, Field(max_length=10_000, pattern=r"^[XYZ]*$")]
    qubits: Annotated[list[Annotated[int, Field(ge=0)]], Field(max_length=10_000)]
    coefficient: float


class Observable(WireModel):
    """A real linear combination of Pauli strings (a Hermitian operator)."""

    terms: Annotated[list[PauliTerm], Field(min_length=1, max_length=MAX_TERMS)]


def check_observables(
    observables: Sequence[Observable], num_qubits: int, instructions: Iterable[str]
) -> None:
    """Refuse observables that do not fit the circuit, naming the observable and term.

    ``instructions`` are the op names of the circuit (bodies included): a measurement, a
    reset or a branch makes the state depend on outcomes, which an exact value cannot.
    """
    if len(observables) > MAX_OBSERVABLES:
        raise PayloadError(
            f"observables: {len(observables)} observables exceed the limit of {MAX_OBSERVABLES}",
            location=("observables",),
        )
    total = sum(len(obs.terms) for obs in observables)
    if total > MAX_TERMS:
        raise PayloadError(
            f"observables: {total} terms in all exceed the limit of {MAX_TERMS}",
            location=("observables",),
        )
    letters = sum(len(term.pauli) for obs in observables for term in obs.terms)
    if letters > MAX_LETTERS:
        raise PayloadError(
            f"observables: {letters} Pauli letters in all exceed the limit of {MAX_LETTERS}",
            location=("observables",),
        )
    for o, obs in enumerate(observables):
        for t, term in enumerate(obs.terms):
            where = f"observables[{o}].terms[{t}]"
            if len(term.pauli) != len(term.qubits):
                raise PayloadError(
                    f"{where}: {len(term.pauli)} Pauli letter(s) for {len(term.qubits)} qubit(s)"
                )
            if len(set(term.qubits)) != len(term.qubits):
                raise PayloadError(f"{where}.qubits: {term.qubits} names a qubit twice")
            outside = [q for q in term.qubits if q >= num_qubits]
            if outside:
                raise PayloadError(
                    f"{where}.qubits: qubit {outside[0]} is outside the circuit's "
                    f"{num_qubits} qubit(s)"
                )
    for op in instructions:
        if op in _STATE_CHANGING:
            raise PayloadError(
                f"observables: the circuit has a {op!r} instruction; exact expectation values "
                "are of the state before any measurement, so a circuit with observables "
                "measures, resets and branches on nothing"
            )


def check_expectation_values(
    values: Sequence[float] | None, observables: int | None, row: int
) -> None:
    """Refuse a readout whose values do not answer the circuit's observables one to one
    (``observables``: how many the circuit has, ``None`` if it is sampled)."""
    if observables is None:
        if values is not None:
            raise PayloadError(
                f"readouts[{row}].expectation_values: given, but the circuit has no observables"
            )
        return
    if values is None or len(values) != observables:
        got = "none" if values is None else str(len(values))
        raise PayloadError(
            f"readouts[{row}].expectation_values: {got} value(s) for {observables} "
            "observable(s); give one per observable"
        )
