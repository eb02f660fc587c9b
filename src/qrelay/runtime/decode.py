"""Readout decoding helpers: counts, integer histograms and per-shot bitstrings.

They start from the packed bytes the service sends and stay in numpy until the last
step: counting is one ``bincount`` (or ``unique`` for wide registers) over the shots'
integer values, and strings are made once per *distinct* value, never once per shot,
unless per-shot strings are asked for (:func:`bitstrings`), and even then each distinct
string is built once and repeated by index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from qrelay.errors import PayloadError
from qrelay.payload import Readout


def _format_joint(value: int, widths: Sequence[int], sep: str) -> str:
    parts = []
    for width in widths:
        parts.append(format(value & ((1 << width) - 1), f"0{width}b") if width else "")
        value >>= width
    return sep.join(parts)


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
    keys = format_values(values, widths, sep=sep)
    return dict(zip(keys, hits.tolist(), strict=True))


def format_values(
    values: npt.NDArray[np.uint64], widths: Sequence[int], *, sep: str = " "
) -> list[str]:
    """Joint values as bitstrings, built as one numpy character array (no per-value loop).

    ``widths`` are the registers' widths, first register in the lowest bits; each register
    is written highest bit first, registers from the first to the last, ``sep`` between.
    """
    if len(sep) > 1 or sum(widths) == 0 or values.size == 0:
        return [_format_joint(v, widths, sep) for v in values.tolist()]
    columns: list[npt.NDArray[np.uint32]] = []
    shift = 0
    low = values.astype(np.uint64, copy=False)
    for index, width in enumerate(widths):
        if index and sep:
            columns.append(np.full((values.size, 1), ord(sep), dtype=np.uint32))
        if width:
            order = np.arange(shift + width - 1, shift - 1, -1, dtype=np.uint64)
            bits = ((low[:, None] >> order) & np.uint64(1)).astype(np.uint32)
            columns.append(bits + np.uint32(ord("0")))
        shift += width
    chars = np.ascontiguousarray(np.concatenate(columns, axis=1))
    keys: list[str] = chars.view(f"<U{chars.shape[1]}").ravel().tolist()
    return keys


def int_counts(readout: Readout, registers: Sequence[str] | None = None) -> dict[int, int]:
    """Counts keyed by the joint integer value (first register in the lowest bits)."""
    values, hits = readout.value_counts(registers)
    return dict(zip(values.tolist(), hits.tolist(), strict=True))


def joint_values(
    readout: Readout, registers: Sequence[str] | None = None
) -> npt.NDArray[np.uint64]:
    """Each shot's joint value (first register lowest), as one uint64 array."""
    regs = [readout.register(n) for n in registers] if registers is not None else readout.registers
    total = sum(reg.width for reg in regs)
    if total > 64:
        raise PayloadError(f"readout: {total} bits do not fit one 64-bit value")
    joint = np.zeros(readout.successful_shots, dtype=np.uint64)
    shift = 0
    for reg in regs:
        if reg.width:
            joint |= reg.values() << np.uint64(shift)
        shift += reg.width
    return joint


def bitstrings(
    readout: Readout, registers: Sequence[str] | None = None, *, sep: str = " "
) -> list[str]:
    """One bitstring per shot, in shot order (as Qiskit's ``memory`` lists them).

    Each distinct value is formatted once and repeated by index.
    """
    joint = joint_values(readout, registers)
    if joint.size == 0:
        return []
    uniq, inverse = np.unique(joint, return_inverse=True)
    widths = _widths(readout, registers)
    table = np.array(format_values(uniq, widths, sep=sep), dtype=object)
    result: list[str] = table[inverse.ravel()].tolist()
    return result


def merge_counts(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    """The sum of several count dictionaries (e.g. over binding rows or split jobs)."""
    total: dict[str, int] = {}
    for part in parts:
        for key, count in part.items():
            total[key] = total.get(key, 0) + count
    return total
