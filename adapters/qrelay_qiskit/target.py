"""A Qiskit ``Target`` built from a qrelay ``TargetInfo``.

The transpiler (compile step), the front end's ``QRelayBackend.target`` and anything else
that asks Qiskit "what can this device do" read this one object, so it carries all that
the catalog knows: native gates on their qubit tuples with duration and error, measure
properties, each qubit's T1/T2/frequency and the device's ``dt``. Targets are cached per
``(name, calibration_id)``: a new calibration makes a new target, an old one is reused.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import OrderedDict
from typing import Any, Final

from qrelay.errors import ConfigurationError
from qrelay.payload import TargetInfo

#: Ops that are part of every target's instruction set without being "gates".
_NON_GATES: Final = frozenset({"measure", "reset", "delay", "barrier"})
#: How many built targets the cache keeps (a handful of devices times a few calibrations).
_CACHE_SIZE: Final = 32

_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str | None, str], Any] = OrderedDict()


def _seconds(ns: float | None) -> float | None:
    return None if ns is None else ns * 1e-9


@functools.cache
def _gate_mapping() -> dict[str, Any]:
    """Payload op name to a Qiskit instruction (parametrised by fresh ``Parameter``s)."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    from qrelay_qiskit.gates import FSimGate

    mapping: dict[str, Any] = dict(get_standard_gate_name_mapping())
    if "fsim" not in mapping:
        from qiskit.circuit import Parameter

        mapping["fsim"] = FSimGate(Parameter("theta"), Parameter("phi"))
    return mapping


def qiskit_instruction(op: str) -> Any:
    """The Qiskit instruction object a target lists for payload op ``op``."""
    found = _gate_mapping().get(op)
    if found is None:
        raise ConfigurationError(f"native op {op!r} has no Qiskit equivalent for a target")
    return found


def build_target(info: TargetInfo) -> Any:
    """The ``qiskit.transpiler.Target`` of ``info`` (cached per name and calibration id).

    Simulator targets with no native ops get every standard gate on every qubit (and
    tuple allowed by their coupling map), so the transpiler leaves their circuits alone.
    """
    key = (info.name, info.calibration_id, _fingerprint(info))
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    target = _build(info)
    with _lock:
        _cache[key] = target
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return target


def _fingerprint(info: TargetInfo) -> str:
    """A cheap identity for targets without a calibration id (e.g. ad-hoc simulators)."""
    if info.calibration_id is not None:
        return ""
    return f"{info.num_qubits}:{','.join(info.native_ops)}:{len(info.gates)}"


def _build(info: TargetInfo) -> Any:
    from qiskit.circuit import Delay, Measure, Parameter, Reset
    from qiskit.transpiler import InstructionProperties, Target
    from qiskit.transpiler import QubitProperties as QiskitQubitProperties

    n = info.num_qubits
    qubit_props = None
    if info.qubits:
        qubit_props = [
            QiskitQubitProperties(
                t1=None if q.t1_us is None else q.t1_us * 1e-6,
                t2=None if q.t2_us is None else q.t2_us * 1e-6,
                frequency=None if q.frequency_ghz is None else q.frequency_ghz * 1e9,
            )
            for q in info.qubits
        ]
    target = Target(
        description=info.description or info.name,
        num_qubits=n,
        dt=_seconds(info.dt_ns),
        qubit_properties=qubit_props,
    )
    calibrated: dict[str, dict[tuple[int, ...], Any]] = {}
    for gate in info.gates:
        calibrated.setdefault(gate.op, {})[tuple(gate.qubits)] = InstructionProperties(
            duration=_seconds(gate.duration_ns), error=gate.error
        )

    if not info.native_ops and info.coupling_map is None:
        return _global_target(target, info)
    ops = [op for op in info.native_ops if op not in _NON_GATES]
    if not ops:
        ops = sorted(
            name
            for name, inst in _gate_mapping().items()
            if name not in _NON_GATES and inst.num_qubits <= 2 and name != "global_phase"
        )
    pairs = _pairs(info)
    for op in ops:
        inst = qiskit_instruction(op)
        props = calibrated.get(op)
        if props is None:
            if inst.num_qubits == 1:
                props = {(q,): None for q in range(n)}
            elif inst.num_qubits == 2:
                props = dict.fromkeys(pairs)
            else:
                continue
        target.add_instruction(inst, props, name=op)

    measure_props = calibrated.get("measure")
    if measure_props is None:
        measure_props = {}
        for q in range(n):
            qp = info.qubits[q] if q < len(info.qubits) else None
            measure_props[(q,)] = InstructionProperties(
                duration=_seconds(qp.readout_duration_ns) if qp else None,
                error=qp.readout_error if qp else None,
            )
    target.add_instruction(Measure(), measure_props)
    if info.capabilities.reset or "reset" in info.native_ops:
        target.add_instruction(Reset(), {(q,): None for q in range(n)})
    target.add_instruction(Delay(Parameter("t")), {(q,): None for q in range(n)})
    if info.capabilities.feed_forward:
        add_control_flow(target, info)
    return target


def _global_target(target: Any, info: TargetInfo) -> Any:
    """A simulator that takes any op on any qubits: every gate global and ideal.

    Global instructions (no qubit tuples) keep the target small whatever the qubit count,
    and the transpiler leaves multi-qubit gates such as ``ccx`` as they are.
    """
    from qiskit.circuit import Delay, Measure, Parameter, Reset

    for name, inst in sorted(_gate_mapping().items()):
        if name in _NON_GATES or name == "global_phase":
            continue
        target.add_instruction(inst, name=name)
    target.add_instruction(Measure())
    target.add_instruction(Reset())
    target.add_instruction(Delay(Parameter("t")))
    if info.capabilities.feed_forward:
        add_control_flow(target, info)
    return target


def add_control_flow(target: Any, info: TargetInfo) -> None:
    """Declare the control-flow ops the target runs (``capabilities.control_flow``) on
    ``target``, so ``transpile`` and ``generate_preset_pass_manager`` keep them."""
    from qiskit.circuit import (
        BreakLoopOp,
        ContinueLoopOp,
        ForLoopOp,
        IfElseOp,
        SwitchCaseOp,
        WhileLoopOp,
    )

    for op, name, payload_op in (
        (IfElseOp, "if_else", "if"),
        (WhileLoopOp, "while_loop", "while"),
        (ForLoopOp, "for_loop", "for"),
        (SwitchCaseOp, "switch_case", "switch"),
        (BreakLoopOp, "break_loop", "break"),
        (ContinueLoopOp, "continue_loop", "continue"),
    ):
        if info.capabilities.runs(payload_op):
            target.add_instruction(op, name=name)


def _pairs(info: TargetInfo) -> list[tuple[int, int]]:
    """The qubit pairs a two-qubit op may act on: the coupling map, or all pairs."""
    if info.coupling_map is not None:
        return [(a, b) for a, b in info.coupling_map]
    return list(itertools.permutations(range(info.num_qubits), 2))
