"""The reader's gate handlers: one per Cirq gate type, each writing payload ops.

Gates follow Cirq's definitions: ``XPowGate(e, s)`` is ``rx(πe)`` times a global phase
``πe(s + 1/2)``, ``ZPowGate(e, s)`` is ``p(πe)`` times ``e^{iπes}`` and so on; a symbolic
exponent ``e`` becomes the expression ``π·e``. A handler returns True when it converted
the gate; the reader decomposes what it leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import cirq
import numpy as np
import sympy

from qrelay.errors import ConversionError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import Instruction, matrix_to_wire
from qrelay.payload.expressions import Expr
from qrelay_cirq.convert_common import PI
from qrelay_cirq.expressions import to_expr

if TYPE_CHECKING:
    from qrelay_cirq.convert_reader import Reader

    _Handler = Callable[[Reader, Any, list[int], list[Instruction], str], bool]

__all__ = ["HANDLERS"]


def _angle(exponent: Any, where: str) -> Expr:
    """``π·e`` as a payload expression (a number when ``e`` is one).

    A symbolic exponent is multiplied in sympy first, so ``π·(θ/π)`` (what :func:`to_cirq`
    writes for an angle θ) comes back as plain ``θ``.
    """
    if isinstance(exponent, sympy.Basic) and exponent.free_symbols:
        return to_expr(sympy.expand(sympy.pi * exponent), where)
    e = to_expr(exponent, where)
    if isinstance(e, float):
        return PI * e
    return pexpr.mul(PI, e)


def _scaled(exponent: Any, factor: float, where: str) -> Expr:
    """``factor·e`` as a payload expression; ``factor`` is a multiple of π or 0."""
    if factor == 0.0:
        return 0.0
    if isinstance(exponent, sympy.Basic) and exponent.free_symbols:
        ratio = factor / PI
        return to_expr(sympy.expand(sympy.pi * sympy.nsimplify(ratio) * exponent), where)
    e = to_expr(exponent, where)
    if isinstance(e, float):
        return factor * e
    return pexpr.mul(factor, e)


def _is(value: Any, target: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == target


def _pow_parts(r: Reader, gate: Any, period: int = 2) -> tuple[Any, float]:
    """``(exponent, global shift)`` of an eigen gate, a numeric exponent reduced.

    ``G**e`` with ``G**period`` the identity (at zero global shift) is ``G**(e mod
    period)``, so ``CZ**-1`` is ``CZ``, ``X**3`` is ``X`` and ``H**2`` nothing; the shift's
    phase over the whole exponent goes to the reader. The reduced exponent lies in
    ``(-period/2, period/2]``.
    """
    e, s = gate.exponent, float(gate.global_shift)
    if isinstance(e, sympy.Basic) or not isinstance(e, int | float):
        return e, s
    half = period / 2
    reduced = -((-float(e) + half) % period - half)
    reduced = round(reduced, 12) + 0.0
    if reduced != e and s != 0.0:
        r.add_phase(PI * (float(e) - reduced) * s)
    return reduced, s


def _rads(gate: cirq.Rx | cirq.Ry | cirq.Rz, where: str) -> Expr:
    """The angle of a rotation gate, from its public ``exponent`` (half turns)."""
    e = gate.exponent
    return to_expr(e * sympy.pi if cirq.is_parameterized(e) else float(e) * PI, where)


def _h_x(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if isinstance(gate, cirq.Rx):
        out.append({"op": "rx", "qubits": qs, "params": [_rads(gate, where)]})
        return True
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "x", "qubits": qs})
    elif s == 0.0 and _is(e, 0.5):
        out.append({"op": "sx", "qubits": qs})
    elif s == 0.0 and _is(e, -0.5):
        out.append({"op": "sxdg", "qubits": qs})
    else:
        out.append({"op": "rx", "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, PI * (s + 0.5), where))
    return True


def _h_y(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if isinstance(gate, cirq.Ry):
        out.append({"op": "ry", "qubits": qs, "params": [_rads(gate, where)]})
        return True
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "y", "qubits": qs})
    else:
        out.append({"op": "ry", "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, PI * (s + 0.5), where))
    return True


_Z_FIXED: Final = {1.0: "z", 0.5: "s", -0.5: "sdg", 0.25: "t", -0.25: "tdg"}


def _h_z(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if isinstance(gate, cirq.Rz):
        out.append({"op": "rz", "qubits": qs, "params": [_rads(gate, where)]})
        return True
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and isinstance(e, int | float) and float(e) in _Z_FIXED:
        out.append({"op": _Z_FIXED[float(e)], "qubits": qs})
    elif s == -0.5:
        out.append({"op": "rz", "qubits": qs, "params": [_angle(e, where)]})
    else:
        out.append({"op": "p", "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, PI * s, where))
    return True


def _h_h(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "h", "qubits": qs})
        return True
    return False


def _fixed(name: str) -> Callable[[Reader, Any, list[int], list[Instruction], str], bool]:
    """A handler for a gate that is ``name`` at exponent 1 (and decomposed otherwise)."""

    def handler(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
        if not hasattr(gate, "exponent"):
            out.append({"op": name, "qubits": qs})
            return True
        e, s = _pow_parts(r, gate)
        if _is(e, 0):
            return True
        if _is(e, 1):
            out.append({"op": name, "qubits": qs})
            r.add_phase(PI * s)
            return True
        return False

    return handler


def _h_cz(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "cz", "qubits": qs})
    else:
        out.append({"op": "cp", "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, PI * s, where))
    return True


def _h_cx(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "cx", "qubits": qs})
        return True
    # CX^e = p(πe/2) on the control, then controlled rx(πe); plus the global shift.
    out.append({"op": "p", "qubits": [qs[0]], "params": [_scaled(e, PI / 2, where)]})
    out.append({"op": "crx", "qubits": qs, "params": [_angle(e, where)]})
    r.add_phase(_scaled(e, PI * s, where))
    return True


def _h_iswap(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate, period=4)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "iswap", "qubits": qs})
        return True
    out.append({"op": "xx_plus_yy", "qubits": qs, "params": [_scaled(e, -PI, where), 0.0]})
    r.add_phase(_scaled(e, PI * s, where))
    return True


def _h_fsim(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    out.append(
        {
            "op": "fsim",
            "qubits": qs,
            "params": [to_expr(gate.theta, where), to_expr(gate.phi, where)],
        }
    )
    return True


def _h_pair(name: str) -> Callable[[Reader, Any, list[int], list[Instruction], str], bool]:
    """XX/YY/ZZPowGate(e, s) = r{xx,yy,zz}(πe) times ``e^{iπe(s + 1/2)}``."""

    def handler(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
        e, s = _pow_parts(r, gate)
        out.append({"op": name, "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, PI * (s + 0.5), where))
        return True

    return handler


def _h_phased_x(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = gate.exponent, float(gate.global_shift)
    out.append(
        {"op": "r", "qubits": qs, "params": [_angle(e, where), _angle(gate.phase_exponent, where)]}
    )
    r.add_phase(_scaled(e, PI * (s + 0.5), where))
    return True


def _h_phased_xz(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    """``Z**z · Z**a · X**x · Z**-a`` is ``rz(-πa)``, ``rx(πx)``, ``rz(π(a + z))`` in time
    order, times ``e^{iπ(x + z)/2}``: native wherever ``rx`` and ``rz`` are, which is what
    Cirq's ``CZTargetGateset`` leaves for a CZ device."""
    x, z, a = gate.x_exponent, gate.z_exponent, gate.axis_phase_exponent
    if not _is(a, 0):
        out.append({"op": "rz", "qubits": qs, "params": [_scaled(a, -PI, where)]})
    out.append({"op": "rx", "qubits": qs, "params": [_angle(x, where)]})
    if not _is(a + z, 0):
        out.append({"op": "rz", "qubits": qs, "params": [_angle(a + z, where)]})
    r.add_phase(_scaled(x, PI / 2, where))
    r.add_phase(_scaled(z, PI / 2, where))
    return True


def _h_identity(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    out.extend({"op": "id", "qubits": [q]} for q in qs)
    return True


def _h_measure(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    r.measure(gate, qs, out, where)
    return True


def _h_reset(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    out.extend({"op": "reset", "qubits": [q]} for q in qs)
    return True


def _h_wait(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if cirq.is_parameterized(gate.duration):
        raise ConversionError("a parameterised WaitGate duration is not supported")
    nanos = float(gate.duration.total_nanos())
    out.extend({"op": "delay", "qubits": [q], "params": [nanos], "unit": "ns"} for q in qs)
    return True


def _h_global_phase(
    r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str
) -> bool:
    coefficient = gate.coefficient
    if cirq.is_parameterized(coefficient):
        if not isinstance(coefficient, sympy.exp):
            raise ConversionError(f"global phase {coefficient} is not of the form exp(i*angle)")
        r.add_phase(to_expr(sympy.expand(coefficient.args[0] / sympy.I), where))
    else:
        r.add_phase(float(np.angle(complex(coefficient))))
    return True


def _h_matrix(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if any(d != 2 for d in cirq.qid_shape(gate)):
        raise ConversionError("only qubit matrix gates are supported")
    out.append(
        {
            "op": "unitary",
            "qubits": list(reversed(qs)),
            "matrix": matrix_to_wire(cirq.unitary(gate)),
        }
    )
    return True


def _h_controlled(r: Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    controls = gate.num_controls()
    if any(values != (1,) for values in gate.control_values):
        return False
    if getattr(gate, "control_qid_shape", (2,) * controls) != (2,) * controls:
        return False
    sub = gate.sub_gate
    if controls == 1 and isinstance(sub, cirq.Rx | cirq.Ry | cirq.Rz):
        name = {cirq.Rx: "crx", cirq.Ry: "cry", cirq.Rz: "crz"}[type(sub)]
        out.append({"op": name, "qubits": qs, "params": [_rads(sub, where)]})
        return True
    fixed = _CONTROLLED.get(controls, {})
    for candidate, name in fixed.items():
        if sub == candidate:
            out.append({"op": name, "qubits": qs})
            return True
    return False


#: Controlled gates with an op of their own: number of controls -> sub gate -> op.
_CONTROLLED: Final[dict[int, dict[Any, str]]] = {
    1: {cirq.H: "ch", cirq.Y: "cy", cirq.X**0.5: "csx", cirq.X: "cx", cirq.Z: "cz"},
    2: {cirq.X: "ccx", cirq.Z: "ccz"},
    3: {cirq.X**0.5: "c3sx"},
}


HANDLERS: Final[dict[type, _Handler]] = {
    cirq.XPowGate: _h_x,
    cirq.YPowGate: _h_y,
    cirq.ZPowGate: _h_z,
    cirq.HPowGate: _h_h,
    cirq.CZPowGate: _h_cz,
    cirq.CXPowGate: _h_cx,
    cirq.SwapPowGate: _fixed("swap"),
    cirq.ISwapPowGate: _h_iswap,
    cirq.FSimGate: _h_fsim,
    cirq.PhasedXPowGate: _h_phased_x,
    cirq.PhasedXZGate: _h_phased_xz,
    cirq.CCXPowGate: _fixed("ccx"),
    cirq.CCZPowGate: _fixed("ccz"),
    cirq.CSwapGate: _fixed("cswap"),
    cirq.XXPowGate: _h_pair("rxx"),
    cirq.YYPowGate: _h_pair("ryy"),
    cirq.ZZPowGate: _h_pair("rzz"),
    cirq.IdentityGate: _h_identity,
    cirq.MeasurementGate: _h_measure,
    cirq.ResetChannel: _h_reset,
    cirq.WaitGate: _h_wait,
    cirq.GlobalPhaseGate: _h_global_phase,
    cirq.MatrixGate: _h_matrix,
    cirq.ControlledGate: _h_controlled,
}
