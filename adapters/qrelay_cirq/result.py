"""Readout to ``cirq.ResultDict``: the user's measurement keys, instances and qubit order.

Each payload register holds one measurement (one instance of one key); ``Circuit.layout``
says which key and instance and which bits ``invert_mask`` flips, and register bit ``j``
is the ``j``-th qubit of that measurement as the user wrote it. A key measured several
times becomes one record of shape ``repetitions x instances x qubits``, as Cirq's own
simulators give it; a key measured in a ``repeat_until`` loop has one instance per turn
when the readout carries every turn (``Readout.turns``, from ``cirq_simulator``), else
the last turn only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from qrelay.errors import ConversionError, QRelayError
from qrelay.payload import Circuit, Readout


def key_plan(circuit: Circuit) -> dict[str, list[tuple[str, npt.NDArray[np.int8] | None]]]:
    """Per measurement key, its registers in instance order (with the bits to invert).

    The Cirq adapter records each register's key, instance and the bits Cirq's
    ``invert_mask`` flips (``KeyLayout.inverted``); a device measures the plain value and
    the flip is applied here, as Cirq applies it. A circuit with no layout (one that did
    not come from Cirq) uses each register's name as its key.
    """
    registers = {reg.name: reg.size for reg in circuit.registers}
    plan: dict[str, list[tuple[int, str, list[int] | None]]] = {}
    if circuit.layout is None:
        for reg in circuit.registers:
            plan.setdefault(reg.name, []).append((0, reg.name, None))
    else:
        for entry in circuit.layout:
            key = entry.key if entry.key is not None else entry.register_name
            plan.setdefault(key, []).append((entry.instance, entry.register_name, entry.inverted))
    out: dict[str, list[tuple[str, npt.NDArray[np.int8] | None]]] = {}
    for key, entries in plan.items():
        entries.sort(key=lambda item: item[0])
        widths = {registers[name] for _, name, _ in entries}
        if len(widths) > 1:
            raise ConversionError(
                f"measurement key {key!r}: instances measure different numbers of qubits "
                f"{sorted(widths)}; Cirq records need one width per key"
            )
        out[key] = [(name, _mask(inverted, registers[name])) for _, name, inverted in entries]
    return out


def _mask(inverted: list[int] | None, width: int) -> npt.NDArray[np.int8] | None:
    if not inverted:
        return None
    mask = np.zeros(width, dtype=np.int8)
    for bit in inverted:
        if not 0 <= bit < width:
            raise ConversionError(f"layout: inverted bit {bit} outside a {width}-bit register")
        mask[bit] = 1
    return mask


def records_of(
    readout: Readout, plan: dict[str, list[tuple[str, npt.NDArray[np.int8] | None]]]
) -> dict[str, npt.NDArray[np.int8]]:
    """``{key: repetitions x instances x qubits}`` int8 records of one readout.

    A register the readout has every turn of (``Readout.turns``: a key measured in a
    ``while`` loop, on a target that records them) gives one instance per turn, zero
    after a shot's last turn, as Cirq records a ``repeat_until`` loop.
    """
    records: dict[str, npt.NDArray[np.int8]] = {}
    by_name = {reg.name: reg for reg in readout.registers}
    turns = {t.name: t for t in readout.turns or ()}
    for key, entries in plan.items():
        arrays = []
        for name, invert in entries:
            reg = by_name.get(name)
            if reg is None:
                raise ConversionError(f"readout has no register {name!r} (key {key!r})")
            every = turns.get(name)
            if every is not None:
                bits = every.array().view(np.int8)
                if invert is not None:
                    bits = bits ^ invert
                past = np.arange(every.turns)[None, :] >= every.counts_array()[:, None]
                bits[past] = 0
                arrays.append(bits)
                continue
            bits = reg.array().view(np.int8)
            if invert is not None:
                bits = bits ^ invert
            arrays.append(bits[:, None, :])
        records[key] = np.concatenate(arrays, axis=1)
    return records


def _stacked_records(
    readouts: Sequence[Readout], plan: dict[str, list[tuple[str, npt.NDArray[np.int8] | None]]]
) -> dict[str, npt.NDArray[np.int8]] | None:
    """``{key: points x repetitions x instances x qubits}`` for readouts of equal shots.

    One ``unpackbits`` per register over every point at once, instead of one per point,
    so a long sweep costs one numpy call per register rather than one per point.
    ``None`` when the shots differ.
    """
    shots = {r.successful_shots for r in readouts}
    if len(shots) != 1 or any(r.turns for r in readouts):
        return None
    count, reps = len(readouts), shots.pop()
    unpacked: dict[str, npt.NDArray[np.int8]] = {}
    records: dict[str, npt.NDArray[np.int8]] = {}
    for key, entries in plan.items():
        arrays = []
        for name, invert in entries:
            if name not in unpacked:
                try:
                    regs = [r.register(name) for r in readouts]
                except QRelayError as exc:
                    raise ConversionError(
                        f"readout has no register {name!r} (key {key!r})"
                    ) from exc
                width = regs[0].width
                nbytes = (width + 7) // 8
                blob = b"".join(reg.bits for reg in regs)
                packed = np.frombuffer(blob, dtype=np.uint8).reshape(count, reps, nbytes)
                raw = np.unpackbits(packed, axis=-1, count=width, bitorder="little")
                unpacked[name] = raw.view(np.int8)
            signed = unpacked[name]
            arrays.append(signed ^ invert if invert is not None else signed)
        records[key] = np.stack(arrays, axis=2)
    return records


def result_dicts(circuit: Circuit, readouts: Sequence[Readout], params: Sequence[Any]) -> list[Any]:
    """One ``cirq.ResultDict`` per readout, with the resolver of its sweep point."""
    import cirq

    if len(readouts) != len(params):
        raise ConversionError(
            f"{len(readouts)} readouts for {len(params)} sweep points; expected one per point"
        )
    plan = key_plan(circuit)
    stacked = _stacked_records(readouts, plan) if len(readouts) > 1 else None
    if stacked is not None:
        return [
            cirq.ResultDict(params=resolver, records={k: v[i] for k, v in stacked.items()})
            for i, resolver in enumerate(params)
        ]
    return [
        cirq.ResultDict(params=resolver, records=records_of(readout, plan))
        for readout, resolver in zip(readouts, params, strict=True)
    ]
