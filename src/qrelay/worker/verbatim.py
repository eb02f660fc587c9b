"""The check a ``verbatim`` circuit must pass: every op and qubit pair exists on the target.

A verbatim circuit skips compiling, so nothing would otherwise stop a non-native op or an
uncoupled pair from reaching the device. The error names the instruction (with its path
inside ``if`` bodies), the op and the qubits.
"""

from __future__ import annotations

from typing import Final

from qrelay.errors import PayloadError
from qrelay.payload import Circuit, Instruction, TargetInfo
from qrelay.payload.control import CONTROL_FLOW_OPS, blocks

#: Ops every target accepts whatever its native set: they schedule, they do not compute.
ALWAYS_ALLOWED: Final = frozenset({"barrier", "delay"})
#: Two-qubit ops that act the same on (a, b) and (b, a), so either direction is coupled.
SYMMETRIC_OPS: Final = frozenset(
    {"cz", "swap", "iswap", "rxx", "ryy", "rzz", "xx_plus_yy", "cp", "fsim", "ccz"}
)


def check_verbatim(circuit: Circuit, target: TargetInfo) -> None:
    """Raise ``PayloadError`` naming the first instruction ``target`` cannot run as is."""
    if circuit.num_qubits > target.num_qubits:
        raise PayloadError(
            f"verbatim circuit uses {circuit.num_qubits} qubits; {target.name!r} has "
            f"{target.num_qubits}"
        )
    if not target.native_ops and target.coupling_map is None:
        return
    _Checker(target).block(circuit.instructions, "")


class _Checker:
    """One pass over the instructions (the bodies of blocks included) against one target."""

    def __init__(self, target: TargetInfo) -> None:
        self.target = target
        self.native = set(target.native_ops)
        self.coupling = (
            None if target.coupling_map is None else {(a, b) for a, b in target.coupling_map}
        )
        self.calibrated: dict[str, set[tuple[int, ...]]] = {}
        for gate in target.gates:
            self.calibrated.setdefault(gate.op, set()).add(tuple(gate.qubits))

    def block(self, instructions: list[Instruction], prefix: str) -> None:
        name = self.target.name
        for index, inst in enumerate(instructions):
            op = inst["op"]
            where = f"instruction {prefix}{index} ({op})"
            if op in CONTROL_FLOW_OPS:
                if self.native and not self.target.capabilities.feed_forward:
                    raise PayloadError(
                        f"{where}: {name!r} does not run classical feed-forward or control flow"
                    )
                for path, body in blocks(inst):
                    self.block(body, f"{prefix}{index}.{path}.")
                continue
            if op in ALWAYS_ALLOWED:
                continue
            if self.native and op not in self.native:
                raise PayloadError(
                    f"{where}: {op!r} is not a native op of {name!r} "
                    f"(native: {', '.join(sorted(self.native))}); drop verbatim to compile it"
                )
            qubits = tuple(inst["qubits"])
            if len(qubits) >= 2:
                self.pair(op, qubits, where)

    def pair(self, op: str, qubits: tuple[int, ...], where: str) -> None:
        name = self.target.name
        allowed = self.calibrated.get(op)
        candidates = {qubits}
        if op in SYMMETRIC_OPS:
            candidates.add(qubits[::-1])
        if allowed:
            if not candidates & allowed:
                raise PayloadError(
                    f"{where}: {name!r} has no {op!r} on qubits {list(qubits)}; "
                    "drop verbatim to route it"
                )
            return
        if len(qubits) > 2:
            if self.native:
                raise PayloadError(f"{where}: {name!r} has no {len(qubits)}-qubit ops")
            return
        if self.coupling is not None and not candidates & self.coupling:
            raise PayloadError(
                f"{where}: qubits {list(qubits)} are not coupled on {name!r}; "
                "drop verbatim to route it"
            )
