"""The writer's gate tables: the Cirq operations each payload op becomes.

Payload angles become Cirq exponents (``angle / π``); ops with no single Cirq gate are
built from a few (``u``, ``cu``, ``ecr``, ``rccx`` ...), with the same unitary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import cirq
import sympy

from qrelay_cirq.convert_common import PI

__all__ = ["BUILDERS", "FIXED_GATES", "gate_op"]


def _zpow(angle: Any) -> cirq.ZPowGate:
    return cirq.ZPowGate(exponent=angle / _pi_like(angle))


def _pi_like(angle: Any) -> Any:
    return sympy.pi if isinstance(angle, sympy.Basic) else PI


def _e(angle: Any) -> Any:
    """Cirq's exponent for a payload angle: ``angle / π``."""
    return angle / _pi_like(angle)


def gate_op(gate: cirq.Gate, qubits: tuple[cirq.Qid, ...]) -> cirq.GateOperation:
    """``gate`` on ``qubits``, built by Cirq's public constructor (which checks them)."""
    return cirq.GateOperation(gate, qubits)


#: Payload ops that are one fixed Cirq gate (made once, shared by every operation).
FIXED_GATES: Final[dict[str, cirq.Gate]] = {
    "id": cirq.I,
    "x": cirq.X,
    "y": cirq.Y,
    "z": cirq.Z,
    "h": cirq.H,
    "s": cirq.S,
    "sdg": cirq.S**-1,
    "t": cirq.T,
    "tdg": cirq.T**-1,
    "sx": cirq.X**0.5,
    "sxdg": cirq.X**-0.5,
    "cx": cirq.CNOT,
    "cz": cirq.CZ,
    "cs": cirq.CZ**0.5,
    "csdg": cirq.CZ**-0.5,
    "swap": cirq.SWAP,
    "iswap": cirq.ISWAP,
    "ccx": cirq.CCX,
    "ccz": cirq.CCZ,
    "cswap": cirq.CSWAP,
    # Controlled gates: a GateOperation of the ControlledGate (``gate.on`` would wrap it in
    # a ControlledOperation, which is slow to build); every Cirq protocol reads it through
    # the gate.
    "cy": cirq.ControlledGate(cirq.Y),
    "ch": cirq.ControlledGate(cirq.H),
    "csx": cirq.ControlledGate(cirq.X**0.5),
    "c3sx": cirq.ControlledGate(cirq.X**0.5, num_controls=3),
}


def _rzx(theta: Any, a: cirq.Qid, b: cirq.Qid) -> list[cirq.Operation]:
    return [cirq.H(b), cirq.CNOT(a, b), cirq.rz(theta)(b), cirq.CNOT(a, b), cirq.H(b)]


def _rccx(a: cirq.Qid, b: cirq.Qid, c: cirq.Qid) -> list[cirq.Operation]:
    t, tdg = cirq.T, cirq.T**-1
    return [
        cirq.H(c), t(c), cirq.CNOT(b, c), tdg(c), cirq.CNOT(a, c),
        t(c), cirq.CNOT(b, c), tdg(c), cirq.H(c),
    ]  # fmt: skip


def _rcccx(a: cirq.Qid, b: cirq.Qid, c: cirq.Qid, d: cirq.Qid) -> list[cirq.Operation]:
    t, tdg, h, cx = cirq.T, cirq.T**-1, cirq.H, cirq.CNOT
    return [
        h(d), t(d), cx(c, d), tdg(d), h(d), cx(a, d), t(d), cx(b, d), tdg(d), cx(a, d),
        t(d), cx(b, d), tdg(d), h(d), t(d), cx(c, d), tdg(d), h(d),
    ]  # fmt: skip


_Builder = Callable[[list[Any], list[cirq.Qid]], list[cirq.Operation]]
BUILDERS: Final[dict[str, _Builder]] = {
    "rx": lambda p, q: [gate_op(cirq.rx(p[0]), (q[0],))],
    "ry": lambda p, q: [gate_op(cirq.ry(p[0]), (q[0],))],
    "rz": lambda p, q: [gate_op(cirq.rz(p[0]), (q[0],))],
    "p": lambda p, q: [gate_op(_zpow(p[0]), (q[0],))],
    "u": lambda p, q: [
        gate_op(_zpow(p[2]), (q[0],)),
        gate_op(cirq.ry(p[0]), (q[0],)),
        gate_op(_zpow(p[1]), (q[0],)),
    ],
    "r": lambda p, q: [
        gate_op(
            cirq.PhasedXPowGate(phase_exponent=_e(p[1]), exponent=_e(p[0]), global_shift=-0.5),
            (q[0],),
        )
    ],
    "cp": lambda p, q: [gate_op(cirq.CZPowGate(exponent=_e(p[0])), tuple(q))],
    "crx": lambda p, q: [gate_op(cirq.ControlledGate(cirq.rx(p[0])), tuple(q))],
    "cry": lambda p, q: [gate_op(cirq.ControlledGate(cirq.ry(p[0])), tuple(q))],
    "crz": lambda p, q: [gate_op(cirq.ControlledGate(cirq.rz(p[0])), tuple(q))],
    "cu": lambda p, q: [
        gate_op(_zpow(p[3]), (q[0],)),
        gate_op(cirq.CZPowGate(exponent=_e(p[2])), tuple(q)),
        gate_op(cirq.ControlledGate(cirq.ry(p[0])), tuple(q)),
        gate_op(cirq.CZPowGate(exponent=_e(p[1])), tuple(q)),
    ],
    "ecr": lambda p, q: [*_rzx(PI / 4, *q), cirq.X(q[0]), *_rzx(-PI / 4, *q)],
    "dcx": lambda p, q: [cirq.CNOT(q[0], q[1]), cirq.CNOT(q[1], q[0])],
    "rxx": lambda p, q: [gate_op(cirq.XXPowGate(exponent=_e(p[0]), global_shift=-0.5), tuple(q))],
    "ryy": lambda p, q: [gate_op(cirq.YYPowGate(exponent=_e(p[0]), global_shift=-0.5), tuple(q))],
    "rzz": lambda p, q: [gate_op(cirq.ZZPowGate(exponent=_e(p[0]), global_shift=-0.5), tuple(q))],
    "rzx": lambda p, q: _rzx(p[0], *q),
    "xx_plus_yy": lambda p, q: [
        gate_op(cirq.rz(p[1]), (q[0],)),
        gate_op(cirq.ISwapPowGate(exponent=-_e(p[0])), tuple(q)),
        gate_op(cirq.rz(-p[1]), (q[0],)),
    ],
    "xx_minus_yy": lambda p, q: [
        gate_op(cirq.rz(-p[1]), (q[1],)),
        gate_op(cirq.X, (q[1],)),
        gate_op(cirq.ISwapPowGate(exponent=-_e(p[0])), tuple(q)),
        gate_op(cirq.X, (q[1],)),
        gate_op(cirq.rz(p[1]), (q[1],)),
    ],
    "fsim": lambda p, q: [gate_op(cirq.FSimGate(theta=p[0], phi=p[1]), tuple(q))],
    "rccx": lambda p, q: _rccx(*q),
    "rcccx": lambda p, q: _rcccx(*q),
    "reset": lambda p, q: [cirq.ResetChannel()(q[0])],
    "barrier": lambda p, q: [],
    "delay": lambda p, q: [],  # built by _Writer.delay (needs the unit)
    "unitary": lambda p, q: [],  # built by _Writer.instruction (needs the matrix)
}
