"""Drawn shots as readouts: Aer's counts or sampled outcomes, one register at a time.

The shots of a run stay indices into its distinct outcomes (:class:`Shots`) until a
register is written: each outcome's bits are packed once and gathered per shot, so
neither the shuffle nor the packing touches one byte per clbit of every shot. The
``aer`` engine (:mod:`qrelay_qiskit.engine`) builds its readouts here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qrelay.errors import DeviceError
from qrelay.payload import Circuit, Readout, RegisterReadout

__all__ = ["Shots", "shots_from_counts", "to_readouts", "shots_from_outcomes"]


@dataclass(frozen=True)
class Shots:
    """Drawn shots: the distinct outcomes' bits, and per row and shot which outcome.

    The shots stay indices into the outcomes until a register is written: its bits are
    packed once per outcome and gathered per shot, so neither the shuffle nor the packing
    touches one byte per clbit of every shot.
    """

    outcomes: npt.NDArray[np.uint8]  # (outcomes, width) of 0/1
    index: npt.NDArray[np.intp]  # (rows, shots)

    def bits(self) -> npt.NDArray[np.uint8]:
        """``rows x shots x width`` bits."""
        return self.outcomes[self.index]

    def reshaped(self, rows: int) -> Shots:
        """The same shots split into ``rows`` rows of equal length."""
        return Shots(self.outcomes, self.index.reshape(rows, -1))


def _no_outcomes(rows: int, shots: int, width: int) -> Shots:
    return Shots(np.zeros((1, width), dtype=np.uint8), np.zeros((rows, shots), dtype=np.intp))


def shots_from_counts(
    width: int, counts: list[dict[str, int]], shots: int, rng: np.random.Generator
) -> Shots:
    """``rows x shots`` shots with exactly the distribution of each row's counts.

    All rows at once: the distinct outcomes of every row are expanded to bits together,
    repeated by their counts and shuffled within their row, so a 1,000-row sweep costs a
    handful of array operations rather than a thousand small ones.
    """
    rows = len(counts)
    if width == 0 or rows == 0:
        return _no_outcomes(rows, shots, width)
    keys: list[str] = []
    repeats_list: list[int] = []
    for row in counts:
        keys.extend(row)
        repeats_list.extend(row.values())
    repeats = np.asarray(repeats_list, dtype=np.int64)
    if width <= 63:
        values = np.fromiter((int(k, 16) for k in keys), dtype=np.uint64, count=len(keys))
        distinct = _value_bits(values, width)
    else:
        distinct = np.zeros((len(keys), width), dtype=np.uint8)
        for i, key in enumerate(keys):
            text = format(int(key, 16), f"0{width}b")[::-1]
            distinct[i] = np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")
    return _shots(distinct, repeats, rows, shots, rng)


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
        return _no_outcomes(rows, shots, width)
    row_of, outcome = np.nonzero(drawn)  # row by row, as the expansion needs
    return _shots(_value_bits(values[outcome], width), drawn[row_of, outcome], rows, shots, rng)


def _value_bits(values: npt.NDArray[np.uint64], width: int) -> npt.NDArray[np.uint8]:
    """Each value's low ``width`` bits, least significant first."""
    shifts = np.arange(width, dtype=np.uint64)
    return ((values[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)


def _shots(
    distinct: npt.NDArray[np.uint8],
    repeats: npt.NDArray[np.int64],
    rows: int,
    shots: int,
    rng: np.random.Generator,
) -> Shots:
    """The outcomes (grouped by row) repeated by their counts, shuffled within each row."""
    if int(repeats.sum()) != rows * shots:
        raise DeviceError(f"Aer returned {int(repeats.sum())} shots, expected {rows * shots}")
    index = np.repeat(np.arange(len(distinct), dtype=np.intp), repeats).reshape(rows, shots)
    if len(distinct) != rows:  # else one outcome per row: nothing to shuffle
        index = rng.permuted(index, axis=1)
    return Shots(distinct, index)


def to_readouts(circuit: Circuit, drawn: Shots) -> list[Readout]:
    """One readout per row of ``drawn``, split into registers."""
    rows, shots = drawn.index.shape
    if not circuit.registers:
        return [Readout(successful_shots=shots) for _ in range(rows)]
    packed: list[tuple[str, int, npt.NDArray[np.uint8]]] = []
    start = 0
    for reg in circuit.registers:
        part = drawn.outcomes[:, start : start + reg.size]
        per_outcome = np.packbits(part, axis=1, bitorder="little")  # (outcomes, bytes)
        packed.append((reg.name, reg.size, per_outcome[drawn.index]))
        start += reg.size
    return [
        Readout(
            successful_shots=shots,
            registers=[
                RegisterReadout(name=name, width=size, bits=array[i].tobytes())
                for name, size, array in packed
            ],
        )
        for i in range(rows)
    ]
