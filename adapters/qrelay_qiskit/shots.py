"""Drawn shots as readouts: Aer's counts or sampled outcomes, one register at a time.

The shots of a run stay indices into its distinct outcomes (:class:`Shots`) until a
register is written: each outcome's bits are packed once and gathered per shot, so
neither the shuffle nor the packing touches one byte per clbit of every shot. The
``aer`` engine (:mod:`qrelay_qiskit.engine`) builds its readouts here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qrelay.errors import DeviceError
from qrelay.payload import Circuit, Readout, RegisterReadout

__all__ = ["Shots", "shots_from_counts", "shots_from_outcomes", "to_readouts"]


@dataclass(frozen=True)
class Shots:
    """Drawn shots as a histogram per row: the distinct outcomes' bits and their counts.

    Entries are grouped by row (``row_of`` never decreases) and distinct within a row. The
    shots in order (:attr:`index`, each a random order of its row's outcomes repeated by
    their counts, drawn with ``rng``) are made only when a per-shot readout asks for
    them, so a histogram readout touches no array of one entry per shot.
    """

    outcomes: npt.NDArray[np.uint8]  # (entries, width) of 0/1
    repeats: npt.NDArray[np.int64]  # (entries,) shots of each outcome in its row
    row_of: npt.NDArray[np.intp]  # (entries,) the row of each entry
    rows: int
    shots: int  # per row
    rng: np.random.Generator
    #: The shots' order when it is already drawn (the rows of a split run).
    order: npt.NDArray[np.intp] | None = None

    @functools.cached_property
    def index(self) -> npt.NDArray[np.intp]:
        """``(rows, shots)``: which entry each shot is, shuffled within its row."""
        if self.order is not None:
            return self.order
        flat = np.repeat(np.arange(len(self.outcomes), dtype=np.intp), self.repeats)
        index: npt.NDArray[np.intp] = flat.reshape(self.rows, self.shots)
        if len(self.outcomes) != self.rows:  # else one outcome per row: nothing to shuffle
            index = self.rng.permuted(index, axis=1)
        return index

    def bits(self) -> npt.NDArray[np.uint8]:
        """``rows x shots x width`` bits."""
        return self.outcomes[self.index]

    def reshaped(self, rows: int) -> Shots:
        """The same shots (in their order) split into ``rows`` rows of equal length."""
        index = self.index.reshape(rows, -1)
        per_row = index.shape[1]
        entries = len(self.outcomes)
        keys, counts = np.unique(
            np.arange(rows, dtype=np.intp)[:, None] * entries + index, return_counts=True
        )
        # the shots keep the order already drawn: entry k of the split is key k
        order = np.searchsorted(keys, np.arange(rows, dtype=np.intp)[:, None] * entries + index)
        return Shots(
            self.outcomes[keys % entries],
            counts.astype(np.int64),
            (keys // entries).astype(np.intp),
            rows,
            per_row,
            self.rng,
            order.astype(np.intp),
        )


def _no_outcomes(rows: int, shots: int, width: int, rng: np.random.Generator) -> Shots:
    return Shots(
        np.zeros((rows, width), dtype=np.uint8),
        np.full(rows, shots, dtype=np.int64),
        np.arange(rows, dtype=np.intp),
        rows,
        shots,
        rng,
    )


def shots_from_counts(
    width: int, counts: list[dict[str, int]], shots: int, rng: np.random.Generator
) -> Shots:
    """``rows x shots`` shots with exactly the distribution of each row's counts.

    All rows at once: the distinct outcomes of every row are expanded to bits together
    (and, for a per-shot readout, repeated by their counts and shuffled within their
    row), so a 1,000-row sweep costs a handful of array operations rather than a thousand
    small ones.
    """
    rows = len(counts)
    if width == 0 or rows == 0:
        return _no_outcomes(rows, shots, width, rng)
    keys: list[str] = []
    repeats_list: list[int] = []
    row_list: list[int] = []
    for r, given in enumerate(counts):
        # Aer gives no counts for a circuit that measures nothing: its clbits, never
        # written, read 0 in every shot (as on any Qiskit backend that reports them).
        row = given or {"0x0": shots}
        keys.extend(row)
        repeats_list.extend(row.values())
        row_list.extend([r] * len(row))
    repeats = np.asarray(repeats_list, dtype=np.int64)
    if width <= 63:
        values = np.fromiter((int(k, 16) for k in keys), dtype=np.uint64, count=len(keys))
        distinct = _value_bits(values, width)
    else:
        distinct = np.zeros((len(keys), width), dtype=np.uint8)
        for i, key in enumerate(keys):
            text = format(int(key, 16), f"0{width}b")[::-1]
            distinct[i] = np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")
    row_of = np.asarray(row_list, dtype=np.intp)
    return _shots(distinct, repeats, row_of, rows=rows, shots=shots, rng=rng)


def shots_from_outcomes(
    width: int,
    drawn: npt.NDArray[np.int64],
    values: npt.NDArray[np.uint64],
    shots: int,
    rng: np.random.Generator,
) -> Shots:
    """``rows x shots`` shots from drawn counts: ``drawn[row, k]`` shots of outcome ``k``,
    whose clbit value is ``values[k]`` (at most 63 clbits)."""
    rows = len(drawn)
    if width == 0 or rows == 0:
        return _no_outcomes(rows, shots, width, rng)
    row_of, outcome = np.nonzero(drawn)  # row by row, as the expansion needs
    distinct = _value_bits(values[outcome], width)
    return _shots(distinct, drawn[row_of, outcome], row_of, rows=rows, shots=shots, rng=rng)


def _value_bits(values: npt.NDArray[np.uint64], width: int) -> npt.NDArray[np.uint8]:
    """Each value's low ``width`` bits, least significant first."""
    shifts = np.arange(width, dtype=np.uint64)
    return ((values[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)


def _shots(
    distinct: npt.NDArray[np.uint8],
    repeats: npt.NDArray[np.int64],
    row_of: npt.NDArray[np.intp],
    *,
    rows: int,
    shots: int,
    rng: np.random.Generator,
) -> Shots:
    """The outcomes (grouped by row) and their counts, checked to make ``shots`` a row."""
    if int(repeats.sum()) != rows * shots:
        raise DeviceError(f"Aer returned {int(repeats.sum())} shots, expected {rows * shots}")
    return Shots(distinct, repeats.astype(np.int64, copy=False), row_of, rows, shots, rng)


def to_readouts(circuit: Circuit, drawn: Shots, *, histogram: bool = False) -> list[Readout]:
    """One readout per row of ``drawn``, split into registers: per shot, or in histogram
    form (each distinct outcome once, with its count: see :mod:`qrelay.payload.readout`)."""
    rows, shots = drawn.rows, drawn.shots
    if not circuit.registers:
        return [Readout(successful_shots=shots) for _ in range(rows)]
    per_register: list[tuple[str, int, npt.NDArray[np.uint8]]] = []
    start = 0
    for reg in circuit.registers:
        part = drawn.outcomes[:, start : start + reg.size]
        per_outcome = np.packbits(part, axis=1, bitorder="little")  # (entries, bytes)
        per_register.append((reg.name, reg.size, per_outcome))
        start += reg.size
    if histogram:
        bounds = np.searchsorted(drawn.row_of, np.arange(rows + 1))
        counts = drawn.repeats.astype("<u4")
        return [
            Readout(
                successful_shots=shots,
                registers=[
                    RegisterReadout(name=name, width=size, bits=array[lo:hi].tobytes())
                    for name, size, array in per_register
                ],
                outcome_counts=counts[lo:hi].tobytes(),
            )
            for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        ]
    index = drawn.index
    gathered = [(name, size, array[index]) for name, size, array in per_register]
    return [
        Readout(
            successful_shots=shots,
            registers=[
                RegisterReadout(name=name, width=size, bits=array[i].tobytes())
                for name, size, array in gathered
            ],
        )
        for i in range(rows)
    ]
