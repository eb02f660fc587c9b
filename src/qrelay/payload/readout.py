"""Readout: what a device measured, per classical register, compact on the wire.

A register's readout is a ``shots x width`` array of bits where column ``j`` is bit ``j``
of the register. It travels packed per row (``numpy.packbits(axis=1, bitorder="little")``:
bit ``j`` sits in byte ``j // 8`` at position ``j % 8``), so one shot of a 20-bit register
is 3 bytes. In JSON the bytes are base64 (URL-safe alphabet); :func:`encode_readouts` gives
a binary frame with no base64 at all, for large results.

Counts are derived from the array, exactly, and always sum to the successful shots. The
fast path (:meth:`Readout.value_counts`) never builds one string per shot.

A readout may come in histogram form (:attr:`Readout.outcome_counts`), when the job asked
for it (``RunOptions.histogram``) and the device can give it: each register then holds one
packed row per distinct outcome rather than per shot, and the counts say how many shots
gave each. Every shot is still drawn; only its position among the shots is not kept, so
``n`` qubits travel as at most ``2**n`` rows however many shots there were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, Self

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict, Field, ValidationInfo

from qrelay.errors import PayloadError
from qrelay.payload._base import CheckedModel, WireModel
from qrelay.payload.observables import MAX_OBSERVABLES

#: Registers at most this wide are counted with ``bincount``; wider ones with ``unique``.
_BINCOUNT_MAX_WIDTH: Final = 22

BitArray = npt.NDArray[np.uint8]


def _row_bytes(width: int) -> int:
    return (width + 7) // 8


class RegisterReadout(WireModel):
    """One classical register's bits for every successful shot (and optional IQ points)."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    name: Annotated[str, Field(min_length=1)]
    width: Annotated[int, Field(ge=0)]
    bits: bytes
    iq: bytes | None = None

    @property
    def shots(self) -> int:
        row = _row_bytes(self.width)
        return len(self.bits) // row if row else 0

    def packed(self) -> BitArray:
        """The packed rows, ``shots x ceil(width / 8)`` bytes, without copying."""
        row = _row_bytes(self.width)
        return (
            np.frombuffer(self.bits, dtype=np.uint8).reshape(-1, row)
            if row
            else np.zeros((0, 0), dtype=np.uint8)
        )

    def array(self) -> BitArray:
        """The ``shots x width`` array of 0/1 (column ``j`` = bit ``j``)."""
        packed = self.packed()
        return np.unpackbits(packed, axis=1, count=self.width, bitorder="little")

    def values(self) -> npt.NDArray[np.uint64]:
        """Each shot's register value as an integer (bit 0 least significant); width <= 64."""
        if self.width > 64:
            raise PayloadError(f"register {self.name!r}: {self.width} bits do not fit 64")
        packed = self.packed()
        row = packed.shape[1]
        if row in (1, 2, 4, 8):
            dtype = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}[row]
            return packed.view(dtype).ravel().astype(np.uint64)
        padded = np.zeros((packed.shape[0], 8), dtype=np.uint8)
        padded[:, :row] = packed
        return padded.view("<u8").ravel()

    def iq_array(self) -> npt.NDArray[np.complex64] | None:
        """The complex IQ points, ``shots x width``, when the device gave them."""
        if self.iq is None:
            return None
        if self.width == 0:
            return np.zeros((0, 0), dtype="<c8")
        return np.frombuffer(self.iq, dtype="<c8").reshape(-1, self.width)


class RegisterTurns(WireModel):
    """A register written inside a ``while`` loop, as it stood after each turn of it.

    ``bits`` packs, per shot, ``turns x width`` bits turn by turn (bit ``j`` of turn
    ``t`` is bit ``t * width + j`` of the row, packed as :class:`RegisterReadout` packs a
    row); ``counts`` holds per shot (``<u4``) how many turns it took, 1 to ``turns``.
    Turns after a shot's last are zero. The register itself holds the last turn.
    """

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    name: Annotated[str, Field(min_length=1)]
    width: Annotated[int, Field(ge=0)]
    turns: Annotated[int, Field(ge=1)]
    bits: bytes
    counts: bytes

    @classmethod
    def from_array(cls, name: str, array: npt.ArrayLike, counts: npt.ArrayLike) -> RegisterTurns:
        """Pack a ``shots x turns x width`` array of 0/1 and the per-shot turn counts."""
        data = np.asarray(array)
        if data.ndim != 3:
            raise PayloadError(f"register turns {name!r}: expected shots x turns x width")
        shots, turns, width = data.shape
        rows = data.reshape(shots, turns * width).astype(bool, copy=False)
        packed = np.packbits(rows, axis=1, bitorder="little")
        taken = np.ascontiguousarray(counts, dtype="<u4")
        return cls(
            name=name,
            width=width,
            turns=max(turns, 1),
            bits=packed.tobytes(),
            counts=taken.tobytes(),
        )

    def array(self) -> BitArray:
        """The ``shots x turns x width`` array of 0/1."""
        size = self.turns * self.width
        row = _row_bytes(size)
        if not row:
            return np.zeros((len(self.counts) // 4, self.turns, 0), dtype=np.uint8)
        packed = np.frombuffer(self.bits, dtype=np.uint8).reshape(-1, row)
        flat = np.unpackbits(packed, axis=1, count=size, bitorder="little")
        return flat.reshape(-1, self.turns, self.width)

    def counts_array(self) -> npt.NDArray[np.uint32]:
        """How many turns each shot took."""
        return np.frombuffer(self.counts, dtype="<u4").astype(np.uint32)


class Readout(CheckedModel):
    """The readout of one circuit at one binding: every register, plus what came with it.

    ``memory`` holds final values of the program's memory regions (for the QPU API),
    ``execution_duration_us`` the device's own time for the run. ``expectation_values``
    answers a circuit's observables (see :mod:`qrelay.payload.observables`), one value
    per observable; such a readout has no shots. ``turns`` holds, for registers measured
    inside a ``while`` loop, their value after every turn (a target that records them
    gives them: ``cirq_simulator``; on others the register's last turn is all there is).
    """

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    successful_shots: Annotated[int, Field(ge=0)]
    registers: list[RegisterReadout] = []
    memory: dict[str, list[float]] | None = None
    execution_duration_us: Annotated[int, Field(ge=0)] | None = None
    expectation_values: Annotated[
        list[float] | None,
        Field(max_length=MAX_OBSERVABLES, exclude_if=lambda value: value is None),
    ] = None
    turns: Annotated[list[RegisterTurns] | None, Field(exclude_if=lambda value: value is None)] = (
        None
    )
    #: Histogram form: each register's rows are the distinct outcomes, and this holds how
    #: many shots gave each, as little-endian uint32 (``None``: one row per shot).
    outcome_counts: Annotated[bytes | None, Field(exclude_if=lambda value: value is None)] = None

    def _check(self, info: ValidationInfo) -> Self:
        """Every register's bytes, IQ points and turns fit the shots (or outcomes)."""
        rows = self.successful_shots
        if self.outcome_counts is not None:
            if len(self.outcome_counts) % 4:
                raise PayloadError(
                    f"readout outcome_counts: {len(self.outcome_counts)} bytes is not a whole "
                    "number of uint32 counts"
                )
            weights = np.frombuffer(self.outcome_counts, dtype="<u4")
            rows = len(weights)
            if int(weights.sum(dtype=np.int64)) != self.successful_shots:
                raise PayloadError(
                    f"readout outcome_counts: they sum to {int(weights.sum(dtype=np.int64))}, "
                    f"not the {self.successful_shots} successful shots"
                )
        names = set()
        for reg in self.registers:
            if reg.name in names:
                raise PayloadError(f"readout: register {reg.name!r} appears twice")
            names.add(reg.name)
            row = _row_bytes(reg.width)
            expected = row * rows
            if len(reg.bits) != expected:
                unit = "outcomes" if self.outcome_counts is not None else "shots"
                raise PayloadError(
                    f"readout register {reg.name!r}: {len(reg.bits)} bytes of bits, expected "
                    f"{expected} ({rows} {unit} x {row} byte(s))"
                )
            if reg.iq is not None and self.outcome_counts is not None:
                raise PayloadError(
                    f"readout register {reg.name!r}: IQ points need one row per shot, not "
                    "the histogram form"
                )
            if reg.iq is not None and len(reg.iq) != 8 * reg.width * self.successful_shots:
                raise PayloadError(
                    f"readout register {reg.name!r}: IQ data does not match "
                    f"{self.successful_shots} shots x {reg.width} points"
                )
        if self.turns is not None and self.outcome_counts is not None:
            raise PayloadError(
                "readout turns: every turn of a loop register needs one row per shot, not "
                "the histogram form"
            )
        widths = {reg.name: reg.width for reg in self.registers}
        for turns in self.turns or ():
            if widths.get(turns.name) != turns.width:
                raise PayloadError(
                    f"readout turns {turns.name!r}: no register of that name and width "
                    f"{turns.width}"
                )
            expected = _row_bytes(turns.turns * turns.width) * self.successful_shots
            if len(turns.bits) != expected or len(turns.counts) != 4 * self.successful_shots:
                raise PayloadError(
                    f"readout turns {turns.name!r}: bits and counts do not match "
                    f"{self.successful_shots} shots x {turns.turns} turns x {turns.width} bits"
                )
        return self

    # ------------------------------------------------------------------ building
    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, npt.ArrayLike],
        *,
        iq: Mapping[str, npt.ArrayLike] | None = None,
        memory: dict[str, list[float]] | None = None,
        execution_duration_us: int | None = None,
        turns: list[RegisterTurns] | None = None,
    ) -> Readout:
        """Pack ``{register: shots x width array of 0/1}`` (and IQ points) into a readout."""
        shots: int | None = None
        registers = []
        for name, raw in arrays.items():
            array = np.asarray(raw)
            if array.ndim != 2:
                raise PayloadError(f"readout register {name!r}: expected a 2-D shots x width array")
            if shots is None:
                shots = array.shape[0]
            elif array.shape[0] != shots:
                raise PayloadError(
                    f"readout register {name!r}: {array.shape[0]} shots, others have {shots}"
                )
            bits = np.packbits(array.astype(bool, copy=False), axis=1, bitorder="little")
            iq_bytes = None
            if iq is not None and name in iq:
                iq_array = np.ascontiguousarray(iq[name], dtype="<c8")
                iq_bytes = iq_array.tobytes()
            registers.append(
                RegisterReadout(name=name, width=array.shape[1], bits=bits.tobytes(), iq=iq_bytes)
            )
        return cls(
            successful_shots=shots or 0,
            registers=registers,
            memory=memory,
            execution_duration_us=execution_duration_us,
            turns=turns or None,
        )

    # ------------------------------------------------------------------ reading
    def register(self, name: str) -> RegisterReadout:
        for reg in self.registers:
            if reg.name == name:
                return reg
        raise PayloadError(f"readout has no register {name!r}")

    def weights(self) -> npt.NDArray[np.int64]:
        """How many shots each stored row of the registers stands for: the outcome counts
        in histogram form, else one per row (a row is a shot)."""
        if self.outcome_counts is None:
            return np.ones(self.successful_shots, dtype=np.int64)
        return np.frombuffer(self.outcome_counts, dtype="<u4").astype(np.int64)

    def _per_shot(self, rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Stored rows as one row per shot: the histogram form's outcomes repeated by their
        counts (in outcome order; the form keeps no shot order)."""
        if self.outcome_counts is None:
            return rows
        return np.repeat(rows, self.weights(), axis=0)

    def arrays(self) -> dict[str, BitArray]:
        """``{register: shots x width array}`` in declaration order.

        A register of width 0 gives a ``shots x 0`` array (its bytes alone cannot tell
        how many shots there were, the readout can).
        """
        return {
            reg.name: self._per_shot(reg.array())
            if reg.width
            else np.zeros((self.successful_shots, 0), np.uint8)
            for reg in self.registers
        }

    def joint_values(self, registers: Sequence[str] | None = None) -> npt.NDArray[np.uint64]:
        """Each shot's joint value, in shot order: the first register in the lowest bits.

        ``registers`` picks and orders registers (default: all, in declaration order); the
        total width is at most 64. This is the one place a joint value is built: counts,
        per-shot strings and every adapter's per-shot memory start from it. In histogram
        form the shots come grouped by outcome.
        """
        return self._per_shot(self._row_values(registers))

    def _row_values(self, registers: Sequence[str] | None) -> npt.NDArray[np.uint64]:
        """The joint value of each stored row (a shot, or an outcome in histogram form)."""
        regs = [self.register(n) for n in registers] if registers is not None else self.registers
        total = sum(reg.width for reg in regs)
        if total > 64:
            raise PayloadError(f"readout: {total} bits do not fit one 64-bit value")
        count = len(self.weights()) if self.outcome_counts is not None else self.successful_shots
        joint = np.zeros(count, dtype=np.uint64)
        shift = 0
        for reg in regs:
            if reg.width:
                joint |= reg.values() << np.uint64(shift)
            shift += reg.width
        return joint

    def value_counts(
        self, registers: Sequence[str] | None = None
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """The distinct joint values and how often each was seen, sorted by value.

        The joint value is the one :meth:`joint_values` builds. Total width at most 64.
        """
        joint = self._row_values(registers)
        if self.successful_shots == 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        regs = [self.register(n) for n in registers] if registers is not None else self.registers
        total = sum(reg.width for reg in regs)
        weights = self.weights() if self.outcome_counts is not None else None
        if total <= _BINCOUNT_MAX_WIDTH:
            hist = np.bincount(joint.astype(np.intp), weights=weights, minlength=1)
            nonzero = np.flatnonzero(hist)
            return nonzero.astype(np.uint64), hist[nonzero].astype(np.int64)
        uniq, inverse, counts = np.unique(joint, return_inverse=True, return_counts=True)
        if weights is not None:
            counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
        return uniq, counts.astype(np.int64)

    def counts(self) -> dict[str, int]:
        """Counts keyed by bitstrings: registers in declaration order, space-separated.

        Each register is written highest bit first (bit 0 rightmost), as OpenQASM writes a
        register's value in binary.
        """
        values, counts = self.value_counts()
        keys = bitstrings(values, [reg.width for reg in self.registers])
        return dict(zip(keys, counts.tolist(), strict=True))


def bitstrings(
    values: npt.NDArray[np.uint64], widths: Sequence[int], *, sep: str = " "
) -> list[str]:
    """Joint values as bitstrings: one field per register, ``sep`` between, high bit first.

    The joint value holds the first register in its lowest bits (as
    :meth:`Readout.joint_values` builds it); each register is written highest bit first
    (bit 0 rightmost), as OpenQASM writes a register's value in binary. This is the one
    home of the format: counts keys, per-shot memory and every adapter use it. The strings
    are made as one numpy character matrix, not one ``format`` call per value.
    """
    count = len(values)
    if count == 0:
        return []
    if len(sep) > 1:  # each register on its own, then joined: rare, so plain
        fields = []
        shift = 0
        for width in widths:
            mask = np.uint64((1 << width) - 1) if width < 64 else np.uint64(2**64 - 1)
            part = (values.astype(np.uint64) >> np.uint64(shift)) & mask
            fields.append(bitstrings(part, [width]) if width else [""] * count)
            shift += width
        return [sep.join(parts) for parts in zip(*fields, strict=True)]
    columns: list[npt.NDArray[np.uint32]] = []
    shift = 0
    low = values.astype(np.uint64, copy=False)
    for index, width in enumerate(widths):
        if index and sep:
            columns.append(np.full((count, 1), ord(sep), dtype=np.uint32))
        if width:
            order = np.arange(shift + width - 1, shift - 1, -1, dtype=np.uint64)
            bits = ((low[:, None] >> order) & np.uint64(1)).astype(np.uint32)
            columns.append(bits + np.uint32(ord("0")))
        shift += width
    if not columns:
        return [""] * count
    chars = np.ascontiguousarray(np.concatenate(columns, axis=1))
    keys: list[str] = chars.view(f"<U{chars.shape[1]}").ravel().tolist()
    return keys
