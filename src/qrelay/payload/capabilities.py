"""The check that a circuit asks nothing of a target that its capabilities deny.

A target's ``capabilities`` are a promise both ways: what a flag allows runs, and what a
flag denies is refused, up front and by name, rather than compiled into something else or
run anyway. The service checks every circuit of a job as it is submitted (through
:func:`qrelay.payload.limits.check_target_limits`), and the worker checks it again,
compiled or verbatim, before it runs.
"""

from __future__ import annotations

from qrelay.errors import PayloadError
from qrelay.payload.circuit import Circuit, Instruction
from qrelay.payload.control import CONTROL_FLOW_OPS, TEST, blocks, op_names
from qrelay.payload.targets import TargetInfo

#: Ops that neither compute nor disturb a measured qubit.
_PASSIVE = frozenset({"barrier", "delay"})


def check_capabilities(circuit: Circuit, target: TargetInfo) -> None:
    """Raise ``PayloadError`` naming the first instruction (or the observables) that a
    capability flag denies."""
    if circuit.observables is not None and not target.capabilities.expectation_values:
        raise PayloadError(
            f"observables: {target.name!r} does not compute expectation values "
            "(capabilities.expectation_values is false)"
        )
    capabilities = target.capabilities
    if capabilities.mid_circuit_measurement and capabilities.reset and capabilities.feed_forward:
        # nothing but control flow can be denied: walk only a circuit that has some the
        # target does not run (one pass over the ops for the rest)
        names = op_names(circuit.instructions)
        wanted = names & (CONTROL_FLOW_OPS | {TEST})
        features = {TEST: "expressions"}
        if all(capabilities.runs(features.get(name, name)) for name in wanted):
            return
    _Walk(target).block(circuit.instructions, "", set())


class _Walk:
    """One pass over the instructions (the bodies of blocks included)."""

    def __init__(self, target: TargetInfo) -> None:
        self.target = target
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
