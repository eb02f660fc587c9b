"""Cirq ``Circuit`` to payload ``Circuit`` and back, with the user's qubits and keys.

Qubits are numbered in Cirq's own sort order and their identities kept in
``Circuit.qubit_labels`` (``line:3``, ``grid:0,1``, ``named:foo``). Each measurement
(one key, one occurrence) becomes one payload register; ``Circuit.layout`` says which key
and which instance (repetition of that key) it holds, which qubits it measured, and which
bits Cirq's ``invert_mask`` flips. Readouts carry the raw measured bits; the inversion is
applied when results are decoded back into Cirq's form (see :func:`register_arrays`).

Gates follow Cirq's definitions: ``XPowGate(e, s)`` is ``rx(πe)`` times a global phase
``πe(s + 1/2)``, ``ZPowGate(e, s)`` is ``p(πe)`` times ``e^{iπes}`` and so on; a symbolic
exponent ``e`` becomes the expression ``π·e``. Matrices are converted between Cirq's
big-endian and the payload's little-endian order by reversing the qubits.

This module is the public home of the conversion; the code lives in
:mod:`qrelay_cirq.convert_reader` (Cirq to payload, gate handlers in
:mod:`qrelay_cirq.convert_reader_gates`), :mod:`qrelay_cirq.convert_writer` (payload to
Cirq, gate tables in :mod:`qrelay_cirq.convert_writer_gates`),
:mod:`qrelay_cirq.convert_keys` (measurement keys, both ways) and
:mod:`qrelay_cirq.convert_common` (qubit labels).
"""

from __future__ import annotations

from qrelay_cirq.convert_common import DT_TAG, qubit_from_label, qubit_label
from qrelay_cirq.convert_keys import (
    KeyGroup,
    loop_ends,
    measurement_plan,
    register_arrays,
    register_turns,
)
from qrelay_cirq.convert_reader import from_cirq
from qrelay_cirq.convert_writer import instruction_unitaries, to_cirq

__all__ = [
    "DT_TAG",
    "KeyGroup",
    "from_cirq",
    "instruction_unitaries",
    "measurement_plan",
    "qubit_from_label",
    "qubit_label",
    "loop_ends",
    "register_arrays",
    "register_turns",
    "to_cirq",
]
