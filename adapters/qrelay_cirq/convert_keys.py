"""Measurement keys: which Cirq measurement each payload register becomes, and back.

:func:`measurement_plan` decides the keys :func:`~qrelay_cirq.convert_writer.to_cirq`
makes; :func:`register_arrays` maps the records of a run back to payload registers, with
Cirq's inversions undone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cirq
import numpy as np
import sympy

from qrelay.errors import ConversionError
from qrelay.payload.circuit import Circuit
from qrelay.payload.readout import RegisterTurns

__all__ = [
    "KeyGroup",
    "Locator",
    "loop_ends",
    "measurement_plan",
    "register_arrays",
    "register_turns",
]


@dataclass(frozen=True)
class KeyGroup:
    """One Cirq measurement made by :func:`to_cirq`: its key, instance and register bits.

    ``bits[k]`` is the register bit that the k-th measured qubit writes; ``inverted[k]``
    whether Cirq inverts it (so the raw bit is the recorded bit flipped back).
    """

    key: str
    instance: int
    register: str
    bits: tuple[int, ...]
    qubits: tuple[int, ...]
    inverted: tuple[bool, ...]
    index: int  # position of the group's first measure among the top-level instructions


def measurement_plan(circuit: Circuit) -> list[KeyGroup]:
    """The Cirq measurements :func:`to_cirq` makes for ``circuit``, in program order.

    A register written by one run of consecutive measure instructions becomes one key: the
    Cirq key recorded in ``circuit.layout`` when there is one, else the register name.
    Other measure instructions get one key each, ``<register>[<bit>]``.
    """
    offsets = circuit.register_offsets()
    layout = {entry.register_name: entry for entry in circuit.layout or ()}
    runs = _measure_runs(circuit)
    per_register: dict[str, int] = {}
    for _, register, _ in runs:
        per_register[register] = per_register.get(register, 0) + 1
    groups: list[KeyGroup] = []
    counts: dict[str, int] = {}
    used: dict[str, str] = {}
    for index, register, members in runs:
        size = offsets[register][1]
        whole = per_register[register] == 1 and len(members) == size
        if whole:
            entry = layout.get(register)
            key = entry.key if entry is not None and entry.key else register
            inverted_bits = set(entry.inverted or ()) if entry is not None else set()
            ordered = sorted(members, key=lambda m: m[1])
            if used.setdefault(key, register) != register and entry is None:
                key = f"{register}#"
            instance = counts.get(key, 0)
            counts[key] = instance + 1
            groups.append(
                KeyGroup(
                    key=key,
                    instance=instance,
                    register=register,
                    bits=tuple(b for _, b in ordered),
                    qubits=tuple(q for q, _ in ordered),
                    inverted=tuple(b in inverted_bits for _, b in ordered),
                    index=index,
                )
            )
            continue
        for offset, (qubit, bit) in enumerate(members):
            key = f"{register}[{bit}]"
            instance = counts.get(key, 0)
            counts[key] = instance + 1
            groups.append(
                KeyGroup(
                    key=key,
                    instance=instance,
                    register=register,
                    bits=(bit,),
                    qubits=(qubit,),
                    inverted=(False,),
                    index=index + offset,
                )
            )
    return groups


_Run = tuple[int, str, list[tuple[int, int]]]


def _measure_runs(circuit: Circuit) -> list[_Run]:
    """The runs of consecutive top-level measures into one register, in program order.

    Each run is ``(index of its first measure, register, [(qubit, bit), ...])``; a run
    ends where a measure writes another register, or a bit the run has written already.
    """
    locate = Locator(circuit)
    runs: list[_Run] = []
    for index, inst in enumerate(circuit.instructions):
        if inst["op"] != "measure":
            continue
        register, bit = locate(inst["clbits"][0])
        qubit = inst["qubits"][0]
        last = runs[-1] if runs else None
        if (
            last is not None
            and last[1] == register
            and last[0] + len(last[2]) == index
            and bit not in {b for _, b in last[2]}
        ):
            last[2].append((qubit, bit))
        else:
            runs.append((index, register, [(qubit, bit)]))
    return runs


class Locator:
    """Global clbit -> (register, bit), with the offsets computed once."""

    def __init__(self, circuit: Circuit) -> None:
        self.table: list[tuple[str, int]] = []
        for reg in circuit.registers:
            self.table.extend((reg.name, j) for j in range(reg.size))

    def __call__(self, clbit: int) -> tuple[str, int]:
        return self.table[clbit]


def loop_ends(
    program: cirq.AbstractCircuit, records: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, np.ndarray[Any, np.dtype[np.intp]]]:
    """Per key measured in a top-level ``repeat_until`` loop of ``program``, the index of
    its last instance in each shot.

    Cirq pads the records of a key measured a different number of times per shot with
    zeros at the end, so the last real instance is found again: the first one after which
    the loop's condition held.
    """
    ends: dict[str, np.ndarray[Any, np.dtype[np.intp]]] = {}
    for op in program.all_operations():
        if not isinstance(op, cirq.CircuitOperation) or op.repeat_until is None:
            continue
        done = _holds(op.repeat_until, records)
        last = np.where(done.any(axis=1), done.argmax(axis=1), done.shape[1] - 1)
        for key in cirq.measurement_key_names(op.circuit):
            ends[key] = last
    return ends


def _holds(
    condition: cirq.Condition, records: Mapping[str, np.ndarray[Any, Any]]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Shots x instances: whether ``condition`` holds after each instance of its keys.

    Each distinct combination of the keys' values is resolved once, by sympy.
    """
    names = [str(key) for key in condition.keys]
    values = []
    for name in names:
        data = np.asarray(records[name], dtype=np.int64)
        weights = 1 << np.arange(data.shape[2] - 1, -1, -1, dtype=np.int64)
        values.append(data @ weights)  # Cirq's value: the first qubit most significant
    table = np.stack(values, axis=-1)
    unique, inverse = np.unique(table.reshape(-1, len(names)), axis=0, return_inverse=True)
    if isinstance(condition, cirq.KeyCondition):
        answers = unique[:, 0] != 0
    elif isinstance(condition, cirq.SympyCondition):
        symbols = [sympy.Symbol(name) for name in names]
        answers = np.array(
            [
                bool(condition.expr.subs(dict(zip(symbols, map(int, row), strict=True))))
                for row in unique
            ]
        )
    else:
        raise ConversionError(f"loop condition {condition} is not read back")
    held: np.ndarray[Any, np.dtype[np.bool_]] = np.asarray(answers, dtype=np.bool_)
    return held[inverse.reshape(-1)].reshape(table.shape[:2])


def register_arrays(
    circuit: Circuit,
    records: Mapping[str, np.ndarray[Any, Any]],
    shots: int | None = None,
    ends: Mapping[str, np.ndarray[Any, np.dtype[np.intp]]] | None = None,
) -> dict[str, np.ndarray[Any, np.dtype[np.uint8]]]:
    """Per payload register, the shots x width raw bits from a Cirq result's ``records``.

    ``records`` is ``cirq.Result.records`` of a run of ``to_cirq(circuit)`` (key -> array
    of shots x instances x qubits). Cirq's inversions are undone, so the arrays hold raw
    measured bits; a bit written twice keeps its last value; unmeasured bits are 0.
    ``ends`` (from :func:`loop_ends`) says which instance of a key measured in a loop is
    the last in each shot.
    """
    if shots is None:
        shots = next((len(v) for v in records.values()), 0)
    arrays = {reg.name: np.zeros((shots, reg.size), dtype=np.uint8) for reg in circuit.registers}
    for group in measurement_plan(circuit):
        data = records.get(group.key)
        if data is None:
            raise ConversionError(f"the result has no measurement key {group.key!r}")
        last = ends.get(group.key) if ends else None
        if last is None:
            values = np.asarray(data[:, group.instance, :], dtype=np.uint8)
        else:
            values = np.asarray(data[np.arange(len(data)), last, :], dtype=np.uint8)
        target = arrays[group.register]
        for k, bit in enumerate(group.bits):
            column = values[:, k]
            target[:, bit] = column ^ 1 if group.inverted[k] else column
    return arrays


def register_turns(
    circuit: Circuit,
    records: Mapping[str, np.ndarray[Any, Any]],
    arrays: Mapping[str, np.ndarray[Any, np.dtype[np.uint8]]],
    ends: Mapping[str, np.ndarray[Any, np.dtype[np.intp]]],
) -> list[RegisterTurns]:
    """Every turn of the registers that keys measured in ``repeat_until`` loops write.

    ``arrays`` are the registers as :func:`register_arrays` gives them (the last turn);
    each turn of a loop key overwrites its bits there (inversions undone), and turns after
    a shot's last (``ends``) are zero. The other bits of such a register keep their
    final values in every turn.
    """
    looped: dict[str, list[KeyGroup]] = {}
    for group in measurement_plan(circuit):
        if group.key in ends:
            looped.setdefault(group.register, []).append(group)
    out = []
    for register, groups in looped.items():
        last = ends[groups[0].key]
        turns = max(int(last.max()) + 1 if len(last) else 1, 1)
        base = np.asarray(arrays[register], dtype=np.uint8)
        every = np.repeat(base[:, None, :], turns, axis=1)
        for group in groups:
            data = np.asarray(records[group.key], dtype=np.uint8)[:, :turns, :]
            for k, bit in enumerate(group.bits):
                column = data[:, :, k]
                every[:, : data.shape[1], bit] = column ^ 1 if group.inverted[k] else column
        counts = (ends[groups[0].key] + 1).astype(np.uint32)
        every[np.arange(turns)[None, :] >= counts[:, None]] = 0
        out.append(RegisterTurns.from_array(register, every, counts))
    return out
