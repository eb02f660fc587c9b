"""Readout decoding helpers: counts, integer histograms and per-shot bitstrings.

They start from the packed bytes the service sends and stay in numpy until the last
step. Joint values and the bitstring format have one home, :mod:`qrelay.payload.readout`
(:meth:`~qrelay.payload.Readout.joint_values`, :func:`~qrelay.payload.readout.bitstrings`);
these helpers pick registers and separators on top of it. Strings are made once per
*distinct* value, never once per shot, unless per-shot strings are asked for
(:func:`bitstrings`), and even then each distinct string is built once and repeated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from qrelay.payload import Readout
from qrelay.payload.readout import bitstrings as bitstrings_of


def _widths(readout: Readout, registers: Sequence[str] | None) -> list[int]:
    if registers is None:
        return [reg.width for reg in readout.registers]
    return [readout.register(name).width for name in registers]


def counts(
    readout: Readout, registers: Sequence[str] | None = None, *, sep: str = " "
) -> dict[str, int]:
    """Counts keyed by bitstring: registers in order, ``sep``-separated, bit 0 rightmost.

    ``registers`` picks and orders registers (default: all, in declaration order).
    """
    values, hits = readout.value_counts(registers)
    widths = _widths(readout, registers)
    keys = bitstrings_of(values, widths, sep=sep)
    return dict(zip(keys, hits.tolist(), strict=True))


def int_counts(readout: Readout, registers: Sequence[str] | None = None) -> dict[int, int]:
    """Counts keyed by the joint integer value (first register in the lowest bits)."""
    values, hits = readout.value_counts(registers)
    return dict(zip(values.tolist(), hits.tolist(), strict=True))


def bitstrings(
    readout: Readout, registers: Sequence[str] | None = None, *, sep: str = " "
) -> list[str]:
    """One bitstring per shot, in shot order (as Qiskit's ``memory`` lists them).

    Each distinct value is formatted once and repeated by index.
    """
    joint = readout.joint_values(registers)
    if joint.size == 0:
        return []
    uniq, inverse = np.unique(joint, return_inverse=True)
    widths = _widths(readout, registers)
    table = np.array(bitstrings_of(uniq, widths, sep=sep), dtype=object)
    result: list[str] = table[inverse.ravel()].tolist()
    return result


def merge_counts(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    """The sum of several count dictionaries (e.g. over binding rows or split jobs)."""
    total: dict[str, int] = {}
    for part in parts:
        for key, count in part.items():
            total[key] = total.get(key, 0) + count
    return total
