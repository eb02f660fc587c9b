"""What both directions of the Cirq circuit conversion share: qubit labels and tags.

A payload qubit label names a Cirq qubit (``line:3``, ``grid:0,1``, ``named:foo``);
:mod:`qrelay_cirq.convert_reader` writes them and :mod:`qrelay_cirq.convert_writer`
reads them back.
"""

from __future__ import annotations

import math
from typing import Final

import cirq

from qrelay.errors import ConversionError

__all__ = ["DT_TAG", "PI", "qubit_from_label", "qubit_label"]

#: Tag put on a ``WaitGate`` made from a delay in ``dt`` (its duration is then in dt).
DT_TAG: Final = "qrelay:dt"

PI: Final = math.pi


def qubit_label(qubit: cirq.Qid) -> str:
    """The payload label of a Cirq qubit: ``line:3``, ``grid:0,1`` or ``named:foo``."""
    if isinstance(qubit, cirq.LineQubit):
        return f"line:{qubit.x}"
    if isinstance(qubit, cirq.GridQubit):
        return f"grid:{qubit.row},{qubit.col}"
    if isinstance(qubit, cirq.NamedQubit):
        return f"named:{qubit.name}"
    raise ConversionError(
        f"qubit {qubit!r}: only LineQubit, GridQubit and NamedQubit are supported"
    )


def qubit_from_label(label: str) -> cirq.Qid:
    """The Cirq qubit a payload label names (the inverse of :func:`qubit_label`)."""
    kind, _, rest = label.partition(":")
    try:
        if kind == "line":
            return cirq.LineQubit(int(rest))
        if kind == "grid":
            row, col = rest.split(",")
            return cirq.GridQubit(int(row), int(col))
        if kind == "named":
            return cirq.NamedQubit(rest)
    except ValueError:
        pass
    raise ConversionError(
        f"qubit label {label!r}: expected 'line:<int>', 'grid:<row>,<col>' or 'named:<name>'"
    )
