"""What makes a program runnable on a fleet device, and what it costs there.

Shared by :mod:`qrelay.qpu.translation` (client side) and the controller (server side),
so a program refused by one is refused by the other with the same message.

- :func:`check_native` refuses an op the device lacks, a qubit it does not have, or a
  two-qubit op on a pair its coupling map does not list; control flow only on a device
  with ``capabilities.feed_forward``, and the bodies of its blocks alike.
- :func:`schedule_ns` is the program's length: gate durations along the critical path
  (ASAP per qubit, barriers synchronise), measurement included; a control-flow block
  waits for every qubit and the device's ``feed_forward_latency_ns`` option.
- :class:`PatchLayout` groups the circuit's symbols into memory regions, the patch values
  of the QPU API: a symbol ``theta[3]`` is entry 3 of region ``theta``; a plain symbol
  ``phi`` is region ``phi`` of length 1.
- :func:`reduce_to_touched` keeps only the qubits a program touches, so a 2-qubit program
  on a 27-qubit device is simulated as 2 qubits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from qrelay.errors import PayloadError
from qrelay.payload import Bindings, Circuit, GateProperties, Instruction, TargetInfo, control
from qrelay.payload.control import CONTROL_FLOW_OPS
from qrelay.qpu.fleet import SCHEDULING_OPS

_REGION_ENTRY: Final = re.compile(r"^(?P<name>.+)\[(?P<index>\d+)\]$")
_UNIT_NS: Final = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3}


def gate_table(target: TargetInfo) -> dict[tuple[str, tuple[int, ...]], GateProperties]:
    """``(op, qubits) -> calibration`` of a target."""
    return {(g.op, tuple(g.qubits)): g for g in target.gates}


def check_native(circuit: Circuit, target: TargetInfo) -> None:
    """Raise ``PayloadError`` naming the first instruction the device cannot run."""
    if circuit.num_qubits > target.num_qubits:
        raise PayloadError(
            f"program uses {circuit.num_qubits} qubits; {target.name} has {target.num_qubits}"
        )
    native = set(target.native_ops)
    coupling = (
        None if target.coupling_map is None else {tuple(pair) for pair in target.coupling_map}
    )
    _check_block(circuit.instructions, "", target, native, coupling)


def _check_block(
    instructions: Sequence[Instruction],
    prefix: str,
    target: TargetInfo,
    native: set[str],
    coupling: set[tuple[int, ...]] | None,
) -> None:
    """:func:`check_native` of one block, the bodies of its control flow included."""
    for index, inst in enumerate(instructions):
        op = inst["op"]
        where = f"instruction {prefix}{index} ({op})"
        if op in CONTROL_FLOW_OPS:
            if not target.capabilities.feed_forward:
                raise PayloadError(
                    f"{where}: {target.name} does not run classical feed-forward or control flow"
                )
            for path, body in control.blocks(inst):
                _check_block(body, f"{prefix}{index}.{path}.", target, native, coupling)
            continue
        if op not in native and op not in SCHEDULING_OPS:
            raise PayloadError(
                f"{where}: {op!r} is not a native op of {target.name} "
                f"(native: {', '.join(target.native_ops)}); translate the circuit first"
            )
        qubits = inst["qubits"]
        if len(qubits) == 2 and op not in SCHEDULING_OPS and coupling is not None:
            pair = (qubits[0], qubits[1])
            if pair not in coupling:
                hint = " (the reverse direction exists)" if pair[::-1] in coupling else ""
                raise PayloadError(
                    f"{where}: qubits {list(pair)} are not coupled on {target.name}{hint}"
                )
        elif len(qubits) > 2 and op not in SCHEDULING_OPS:
            raise PayloadError(f"{where}: {target.name} has no {len(qubits)}-qubit ops")


def _delay_ns(inst: Instruction, dt_ns: float | None) -> float:
    value = inst["params"][0]
    if not isinstance(value, int | float):
        raise PayloadError("delay: a parametrised duration cannot be scheduled")
    unit = inst.get("unit", "dt")
    if unit == "dt":
        return float(value) * (dt_ns or 1.0)
    return float(value) * _UNIT_NS[unit]


def schedule_ns(circuit: Circuit, target: TargetInfo) -> float:
    """The length of one shot in ns: ASAP along the critical path, readout included.

    A control-flow block starts once every qubit is free and the device's
    ``feed_forward_latency_ns`` has passed (the measured value reaching the controller),
    and lasts as long as its longest body: a ``for`` body once per value, a ``while``
    body once (how often it turns is only known as it runs).
    """
    clock = [0.0] * max(circuit.num_qubits, 1)
    _schedule(circuit.instructions, clock, gate_table(target), target)
    return max(clock)


def _schedule(
    instructions: Sequence[Instruction],
    clock: list[float],
    table: Mapping[tuple[str, tuple[int, ...]], GateProperties],
    target: TargetInfo,
) -> None:
    """Advance ``clock`` (per qubit, ns) over ``instructions``."""
    latency = target.options.get("feed_forward_latency_ns", 0.0)
    for inst in instructions:
        qubits = inst["qubits"]
        op = inst["op"]
        if op in control.BLOCK_OPS:
            start = max(clock) + (float(latency) if isinstance(latency, int | float) else 0.0)
            end = start
            for _, body in control.blocks(inst):
                inner = [start] * len(clock)
                for _turn in range(control.iterations(inst)):
                    _schedule(body, inner, table, target)
                end = max(end, *inner)
            clock[:] = [end] * len(clock)
            continue
        start = max((clock[q] for q in qubits), default=0.0)
        if op == "barrier":
            duration = 0.0
        elif op == "delay":
            duration = _delay_ns(inst, target.dt_ns)
        else:
            props = table.get((op, tuple(qubits)))
            duration = (props.duration_ns or 0.0) if props is not None else 0.0
        for q in qubits:
            clock[q] = start + duration


def execution_duration_us(circuit: Circuit, target: TargetInfo, shots: int) -> int:
    """Device time for ``shots`` repetitions: schedule plus the repetition delay, per shot."""
    rep_delay = target.options.get("rep_delay_us", 0.0)
    rep_us = float(rep_delay) if isinstance(rep_delay, int | float) else 0.0
    return math.ceil(shots * (schedule_ns(circuit, target) / 1000.0 + rep_us))


@dataclass(frozen=True)
class PatchLayout:
    """The memory regions a program reads, and where each circuit symbol sits in them."""

    regions: dict[str, int]
    symbols: list[tuple[str, str, int]]

    @classmethod
    def of(cls, circuit: Circuit) -> PatchLayout:
        regions: dict[str, int] = {}
        symbols = []
        for symbol in circuit.parameters:
            match = _REGION_ENTRY.match(symbol)
            if match:
                region, index = match["name"], int(match["index"])
            else:
                region, index = symbol, 0
            regions[region] = max(regions.get(region, 0), index + 1)
            symbols.append((symbol, region, index))
        return cls(regions=regions, symbols=symbols)

    def check(self, values: Mapping[str, Sequence[float]], where: str = "patch values") -> None:
        """Raise ``PayloadError`` for a missing, unknown or wrongly sized region."""
        for name, sequence in values.items():
            if name not in self.regions:
                known = ", ".join(sorted(self.regions)) or "none"
                raise PayloadError(
                    f"{where}: the program has no memory region {name!r} (regions: {known})"
                )
            if len(sequence) != self.regions[name]:
                raise PayloadError(
                    f"{where}: region {name!r} takes {self.regions[name]} value(s), "
                    f"got {len(sequence)}"
                )
            for i, value in enumerate(sequence):
                if not math.isfinite(value):
                    raise PayloadError(f"{where}: {name}[{i}] = {value!r} is not finite")
        missing = sorted(set(self.regions) - set(values))
        if missing:
            raise PayloadError(f"{where}: no values for region(s) {', '.join(missing)}")

    def sets(self, bindings: Bindings | None) -> list[dict[str, list[float]]]:
        """One patch-value set (memory region to values) per row of ``bindings``.

        The one place a bindings table becomes patch values, for the worker's driver and
        the direct provider alike: a symbol without a column is an error naming it and
        its region, never a silent 0.0.
        """
        if bindings is None:
            if self.symbols:
                reads = ", ".join(f"{s!r} (region {r}[{i}])" for s, r, i in self.symbols)
                raise PayloadError(f"bindings: none given, but the program reads {reads}")
            return [{}]
        columns = {name: j for j, name in enumerate(bindings.names)}
        missing = [(s, r, i) for s, r, i in self.symbols if s not in columns]
        if missing:
            named = ", ".join(f"{s!r} (region {r}[{i}])" for s, r, i in missing)
            raise PayloadError(f"bindings: no column for {named}")
        sets = []
        for row in bindings.values:
            values = {region: [0.0] * size for region, size in self.regions.items()}
            for symbol, region, index in self.symbols:
                values[region][index] = float(row[columns[symbol]])
            sets.append(values)
        return sets

    def row(self, values: Mapping[str, Sequence[float]]) -> list[float]:
        """One bindings row (in ``circuit.parameters`` order) from checked patch values."""
        return [float(values[region][index]) for _symbol, region, index in self.symbols]


@dataclass(frozen=True)
class Reduced:
    """A program on only the qubits it touches, with the device sliced to match."""

    circuit: Circuit
    target: TargetInfo
    physical: list[int]


def reduce_to_touched(circuit: Circuit, target: TargetInfo) -> Reduced:
    """Remap the touched qubits to ``0..k-1`` and slice the target's calibration to them.

    Barriers keep only touched qubits. The sliced target's readout error is left in place;
    callers that model readout themselves (the emulator's IQ) clear it.
    """
    touched = sorted(
        {
            q
            for inst in circuit.iter_instructions()
            if inst["op"] != "barrier"
            for q in inst["qubits"]
        }
    )
    if not touched:
        touched = [0]
    index = {q: i for i, q in enumerate(touched)}
    instructions = _remap(circuit.instructions, index)
    reduced = circuit.model_copy(
        update={
            "num_qubits": len(touched),
            "instructions": instructions,
            "qubit_labels": None,
            "qubit_registers": None,
        }
    )
    gates = [
        g.model_copy(update={"qubits": [index[q] for q in g.qubits]})
        for g in target.gates
        if all(q in index for q in g.qubits)
    ]
    coupling = (
        None
        if target.coupling_map is None
        else [(index[a], index[b]) for a, b in target.coupling_map if a in index and b in index]
    )
    sliced = target.model_copy(
        update={
            "num_qubits": len(touched),
            "qubits": [target.qubits[q] for q in touched] if target.qubits else [],
            "gates": gates,
            "coupling_map": coupling,
            "limits": target.limits.model_copy(update={"max_qubits": len(touched)}),
        }
    )
    return Reduced(circuit=reduced, target=sliced, physical=touched)


def _remap(instructions: Sequence[Instruction], index: Mapping[int, int]) -> list[Instruction]:
    """``instructions`` on the qubits ``index`` maps them to, bodies of blocks included;
    barriers keep only the mapped qubits."""
    out: list[Instruction] = []
    for inst in instructions:
        if inst["op"] == "barrier":
            kept = [index[q] for q in inst["qubits"] if q in index]
            if kept:
                out.append({**inst, "qubits": kept})
            continue
        copy: Instruction = {**inst, "qubits": [index[q] for q in inst["qubits"]]}
        if inst["op"] in control.BLOCK_OPS:
            for key in ("body", "else_body", "default"):
                if key in inst:
                    copy[key] = _remap(inst[key], index)
            if "cases" in inst:
                copy["cases"] = [
                    {"values": case["values"], "body": _remap(case["body"], index)}
                    for case in inst["cases"]
                ]
        out.append(copy)
    return out


def without_readout_error(target: TargetInfo, keep: frozenset[int] = frozenset()) -> TargetInfo:
    """The target with readout assignment error removed (the IQ model supplies it), except
    on the qubits ``keep``."""
    return target.model_copy(
        update={
            "qubits": [
                q if i in keep else q.model_copy(update={"readout_error": 0.0})
                for i, q in enumerate(target.qubits)
            ],
            "gates": [
                g.model_copy(update={"error": 0.0})
                if g.op == "measure" and g.qubits[0] not in keep
                else g
                for g in target.gates
            ],
        }
    )
