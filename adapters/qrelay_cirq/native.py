"""Fixed single-qubit gates written as the rotation a device has natively.

Cirq writes ``X**0.5`` as ``sx`` and ``Z**0.5`` as ``s``; a CZ device has ``rx`` and
``rz``. The two differ only by a global phase, so a verbatim circuit for that device may
carry either: :func:`as_native` rewrites each fixed gate the target lacks into the
rotation it has, gate by gate, merging nothing (a verbatim benchmark must keep every
gate), and moves the phase difference into the circuit's global phase.
"""

from __future__ import annotations

import math
from typing import Final

from qrelay.payload import Circuit, Instruction, TargetInfo
from qrelay.payload import expressions as pexpr

#: Fixed gate -> (rotation, angle, global phase of ``gate = e^{i phase} rotation(angle)``).
_ROTATIONS: Final[dict[str, tuple[str, float, float]]] = {
    "x": ("rx", math.pi, math.pi / 2),
    "sx": ("rx", math.pi / 2, math.pi / 4),
    "sxdg": ("rx", -math.pi / 2, -math.pi / 4),
    "y": ("ry", math.pi, math.pi / 2),
    "z": ("rz", math.pi, math.pi / 2),
    "s": ("rz", math.pi / 2, math.pi / 4),
    "sdg": ("rz", -math.pi / 2, -math.pi / 4),
    "t": ("rz", math.pi / 4, math.pi / 8),
    "tdg": ("rz", -math.pi / 4, -math.pi / 8),
}


def as_native(circuit: Circuit, target: TargetInfo) -> Circuit:
    """``circuit`` with each fixed gate ``target`` lacks written as its native rotation."""
    native = set(target.native_ops)
    if not native:
        return circuit
    phase = 0.0

    def rewrite(block: list[Instruction]) -> list[Instruction]:
        nonlocal phase
        out: list[Instruction] = []
        for inst in block:
            op = inst["op"]
            if op == "if":
                body = {"body": rewrite(inst.get("body", []))}
                if "else_body" in inst:
                    body["else_body"] = rewrite(inst["else_body"])
                out.append({**inst, **body})  # type: ignore[typeddict-item]
                continue
            found = _ROTATIONS.get(op)
            if op in native or found is None or found[0] not in native:
                out.append(inst)
                continue
            rotation, angle, shift = found
            out.append({"op": rotation, "qubits": list(inst["qubits"]), "params": [angle]})
            phase += shift
        return out

    instructions = rewrite(list(circuit.instructions))
    if phase == 0.0:
        return circuit
    total = circuit.global_phase
    new_phase = total + phase if isinstance(total, float) else pexpr.add(total, phase)
    return circuit.model_copy(update={"instructions": instructions, "global_phase": new_phase})
