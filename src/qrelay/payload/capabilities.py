"""The check that a circuit asks nothing of a target that its capabilities deny.

A target's ``capabilities`` are a promise both ways: what a flag allows runs, and what a
flag denies is refused, up front and by name, rather than compiled into something else or
run anyway. Compiled or verbatim, every circuit passes :func:`check_capabilities` in
the worker before it goes further. Control flow the target does not run is refused
earlier too, as the job is submitted (:func:`check_control_flow`, through
:func:`qrelay.payload.limits.check_target_limits`): compiling never removes it. The other
flags (reset, measurements in the middle) are the worker's to check, so such a circuit
fails as a circuit of its job, with the job's other circuits still run.
"""

from __future__ import annotations

from qrelay.errors import PayloadError
from qrelay.payload.circuit import Circuit, Instruction
from qrelay.payload.control import CONTROL_FLOW_OPS, TEST, blocks, op_names
from qrelay.payload.targets import TargetInfo

#: Ops that neither compute nor disturb a measured qubit.
_PASSIVE = frozenset({"barrier", "delay"})
#: Ops that may follow the first measurement on a target that measures only at the end.
_TERMINAL = _PASSIVE | {"measure"}
#: The capability name of a feature :func:`~qrelay.payload.control.op_names` reports.
_FEATURES = {TEST: "expressions"}


def check_capabilities(circuit: Circuit, target: TargetInfo) -> None:
    """Raise ``PayloadError`` naming the first instruction (or the observables) that a
    capability flag denies."""
    if circuit.observables is not None and not target.capabilities.expectation_values:
        raise PayloadError(
            f"observables: {target.name!r} does not compute expectation values "
            "(capabilities.expectation_values is false)"
        )
    if _clear(circuit.instructions, target, flow_only=False):
        return
    _Walk(target).block(circuit.instructions, "", set())


def check_control_flow(circuit: Circuit, target: TargetInfo) -> None:
    """Raise ``PayloadError`` naming the first control-flow op (or classical expression)
    that the target does not run: what :func:`check_capabilities` refuses of control flow,
    without the other flags."""
    if _clear(circuit.instructions, target, flow_only=True):
        return
    _Walk(target, flow_only=True).block(circuit.instructions, "", set())


def _clear(instructions: list[Instruction], target: TargetInfo, *, flow_only: bool) -> bool:
    """True when no flag can deny anything in ``instructions`` (only control flow with
    ``flow_only``), found from their ops alone (one pass, no walk): the full walk runs
    only where something might be denied."""
    capabilities = target.capabilities
    names = op_names(instructions)
    wanted = names & (CONTROL_FLOW_OPS | {TEST})
    if not all(capabilities.runs(_FEATURES.get(name, name)) for name in wanted):
        return False
    if flow_only:
        return True
    if "reset" in names and not capabilities.reset:
        return False
    if capabilities.mid_circuit_measurement or "measure" not in names:
        return True
    if wanted:
        return False
    ops = [inst["op"] for inst in instructions]
    return all(op in _TERMINAL for op in ops[ops.index("measure") :])


class _Walk:
    """One pass over the instructions (the bodies of blocks included)."""

    def __init__(self, target: TargetInfo, *, flow_only: bool = False) -> None:
        self.target = target
        self.flow_only = flow_only
        self.capabilities = target.capabilities

    def control_flow(self, inst: Instruction, where: str) -> None:
        """Refuse a control-flow op (or a classical expression) the target does not run."""
        name = self.target.name
        op = inst["op"]
        if not self.capabilities.feed_forward:
            raise PayloadError(
                f"{where}: {name!r} does not run classical feed-forward or control "
                f"flow ({op!r}; capabilities.feed_forward is false)"
            )
        allowed = self.capabilities.control_flow
        if not self.capabilities.runs(op):
            raise PayloadError(
                f"{where}: {name!r} does not run {op!r} (capabilities.control_flow: "
                f"{', '.join(allowed or [])})"
            )
        if "test" in inst and not self.capabilities.runs("expressions"):
            raise PayloadError(
                f"{where}: {name!r} does not run classical expressions as conditions "
                "(capabilities.control_flow has no 'expressions')"
            )

    def block(self, instructions: list[Instruction], prefix: str, measured: set[int]) -> None:
        name = self.target.name
        for index, inst in enumerate(instructions):
            op = inst["op"]
            where = f"instruction {prefix}{index} ({op})"
            if op in CONTROL_FLOW_OPS:
                self.control_flow(inst, where)
                for path, body in blocks(inst):
                    self.block(body, f"{prefix}{index}.{path}.", measured)
                continue
            if self.flow_only:
                continue
            if op == "reset" and not self.capabilities.reset:
                raise PayloadError(
                    f"{where}: {name!r} cannot reset qubits (capabilities.reset is false)"
                )
            qubits = inst.get("qubits", [])
            if op == "measure":
                measured.update(qubits)
                continue
            if op in _PASSIVE or self.capabilities.mid_circuit_measurement:
                continue
            after = sorted(measured.intersection(qubits))
            if after:
                raise PayloadError(
                    f"{where}: acts on qubit {after[0]} after it was measured; {name!r} "
                    "measures only at the end (capabilities.mid_circuit_measurement is false)"
                )
