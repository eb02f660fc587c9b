"""Cirq ``Circuit`` to payload ``Circuit`` and back, with the user's qubits and keys.

Qubits are numbered in Cirq's own sort order and their identities kept in
``Circuit.qubit_labels`` (``line:3``, ``grid:0,1``, ``named:foo``). Each measurement
(one key, one occurrence) becomes one payload register; ``Circuit.layout`` says which key
and which instance (repetition of that key) it holds, which qubits it measured, and which
bits Cirq's ``invert_mask`` flips. Readouts carry the raw measured bits; the inversion is
applied when results are decoded back into Cirq's form (see :func:`register_arrays`).

Gates follow Cirq's definitions: ``XPowGate(e, s)`` is ``rx(πe)`` times a global phase
``πe(s + 1/2)``, ``ZPowGate(e, s)`` is ``p(πe)`` times ``e^{iπes}`` and so on; a symbolic
exponent ``e`` becomes the expression ``π·e``. Matrices are converted between Cirq's
big-endian and the payload's little-endian order by reversing the qubits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import cirq
import numpy as np
import sympy

from qrelay.errors import ConversionError, PayloadError, QRelayError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import (
    Circuit,
    Condition,
    Instruction,
    KeyLayout,
    Register,
    matrix_from_wire,
    matrix_to_wire,
)
from qrelay.payload.expressions import Expr
from qrelay.payload.parsing import parse
from qrelay_cirq.expressions import from_expr, to_expr

__all__ = [
    "KeyGroup",
    "from_cirq",
    "instruction_unitaries",
    "measurement_plan",
    "qubit_from_label",
    "qubit_label",
    "register_arrays",
    "to_cirq",
]

#: Tag put on a ``WaitGate`` made from a delay in ``dt`` (its duration is then in dt).
DT_TAG: Final = "qrelay:dt"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\[\].:\-]*$")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_\[\].:\-]")
_PI: Final = math.pi


# ------------------------------------------------------------------ qubit identities


def qubit_label(qubit: cirq.Qid) -> str:
    """The payload label of a Cirq qubit: ``line:3``, ``grid:0,1`` or ``named:foo``."""
    if isinstance(qubit, cirq.LineQubit):
        return f"line:{qubit.x}"
    if isinstance(qubit, cirq.GridQubit):
        return f"grid:{qubit.row},{qubit.col}"
    if isinstance(qubit, cirq.NamedQubit):
        return f"named:{qubit.name}"
    raise ConversionError(
        f"qubit {qubit!r}: only LineQubit, GridQubit and NamedQubit are supported"
    )


def qubit_from_label(label: str) -> cirq.Qid:
    """The Cirq qubit a payload label names (the inverse of :func:`qubit_label`)."""
    kind, _, rest = label.partition(":")
    try:
        if kind == "line":
            return cirq.LineQubit(int(rest))
        if kind == "grid":
            row, col = rest.split(",")
            return cirq.GridQubit(int(row), int(col))
        if kind == "named":
            return cirq.NamedQubit(rest)
    except ValueError:
        pass
    raise ConversionError(
        f"qubit label {label!r}: expected 'line:<int>', 'grid:<row>,<col>' or 'named:<name>'"
    )


# ------------------------------------------------------------------ Cirq -> payload


def _angle(exponent: Any, where: str) -> Expr:
    """``π·e`` as a payload expression (a number when ``e`` is one).

    A symbolic exponent is multiplied in sympy first, so ``π·(θ/π)`` (what :func:`to_cirq`
    writes for an angle θ) comes back as plain ``θ``.
    """
    if isinstance(exponent, sympy.Basic) and exponent.free_symbols:
        return to_expr(sympy.expand(sympy.pi * exponent), where)
    e = to_expr(exponent, where)
    if isinstance(e, float):
        return _PI * e
    return pexpr.mul(_PI, e)


def _scaled(exponent: Any, factor: float, where: str) -> Expr:
    """``factor·e`` as a payload expression; ``factor`` is a multiple of π or 0."""
    if factor == 0.0:
        return 0.0
    if isinstance(exponent, sympy.Basic) and exponent.free_symbols:
        ratio = factor / _PI
        return to_expr(sympy.expand(sympy.pi * sympy.nsimplify(ratio) * exponent), where)
    e = to_expr(exponent, where)
    if isinstance(e, float):
        return factor * e
    return pexpr.mul(factor, e)


def _is(value: Any, target: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == target


@dataclass
class _Reader:
    """State of one Cirq -> payload conversion."""

    qmap: dict[cirq.Qid, int]
    labels: list[str]
    registers: list[Register] = field(default_factory=list)
    layout: list[KeyLayout] = field(default_factory=list)
    num_clbits: int = 0
    phase_const: float = 0.0
    phase_terms: Expr = 0.0
    instances: dict[str, int] = field(default_factory=dict)
    #: (key, instance) -> (register name, first clbit, size, inverted mask as raw int)
    groups: dict[tuple[str, int], tuple[str, int, int, int]] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)

    def add_phase(self, value: Expr) -> None:
        if isinstance(value, float):
            self.phase_const += value
        elif self.phase_terms == 0.0:
            self.phase_terms = value
        else:
            self.phase_terms = pexpr.add(self.phase_terms, value)

    @property
    def phase(self) -> Expr:
        """The global phase collected so far, its numeric part folded into one number."""
        if self.phase_terms == 0.0:
            return self.phase_const
        if self.phase_const == 0.0:
            return self.phase_terms
        return pexpr.add(self.phase_terms, self.phase_const)

    def operations(
        self, ops: Iterable[cirq.Operation], out: list[Instruction], prefix: str
    ) -> None:
        for index, op in enumerate(ops):
            where = f"operation {prefix}{index}"
            try:
                self.operation(op, out, where)
            except ConversionError as exc:
                if str(exc).startswith("operation "):
                    raise
                raise ConversionError(f"{where} ({op}): {exc}") from exc
            except (QRelayError, ValueError, TypeError) as exc:
                raise ConversionError(f"{where} ({op}): {exc}") from exc

    def operation(self, op: cirq.Operation, out: list[Instruction], where: str) -> None:
        if type(op) is cirq.GateOperation:  # the common case: skip the wrapper checks
            handler = _HANDLERS.get(type(op.gate))
            if handler is not None:
                qmap = self.qmap
                if handler(self, op.gate, [qmap[q] for q in op.qubits], out, where):
                    return
        if isinstance(op, cirq.TaggedOperation):
            if DT_TAG in op.tags and isinstance(op.untagged.gate, cirq.WaitGate):
                self.wait(op.untagged, out, "dt")
                return
            op = op.untagged
        if isinstance(op, cirq.ClassicallyControlledOperation):
            self.controlled(op, out, where)
            return
        if isinstance(op, cirq.CircuitOperation):
            self.operations(op.mapped_circuit(deep=False).all_operations(), out, f"{where}.")
            return
        gate = op.gate
        if gate is None:
            self.fallback(op, out, where)
            return
        handler = _HANDLERS.get(type(gate))
        if handler is None:
            for cls in type(gate).__mro__[1:]:
                handler = _HANDLERS.get(cls)
                if handler is not None:
                    break
        qubits = [self.qmap[q] for q in op.qubits]
        if handler is not None and handler(self, gate, qubits, out, where):
            return
        self.fallback(op, out, where)

    def fallback(self, op: cirq.Operation, out: list[Instruction], where: str) -> None:
        if not isinstance(op.gate, cirq.MatrixGate):
            decomposed = cirq.decompose_once(op, default=None)
            if decomposed is not None:
                self.operations(decomposed, out, f"{where}.")
                return
        if cirq.has_unitary(op) and not cirq.is_parameterized(op):
            out.append(
                {
                    "op": "unitary",
                    "qubits": [self.qmap[q] for q in reversed(op.qubits)],
                    "matrix": matrix_to_wire(cirq.unitary(op)),
                }
            )
            return
        raise ConversionError("no payload op, no decomposition and no unitary")

    def measure(
        self, gate: cirq.MeasurementGate, qubits: list[int], out: list[Instruction], where: str
    ) -> None:
        if gate.confusion_map:
            raise ConversionError(
                "a measurement with a confusion map cannot be represented in the payload"
            )
        if any(d != 2 for d in cirq.qid_shape(gate)):
            raise ConversionError("only qubit measurements are supported")
        key = str(gate.mkey)
        instance = self.instances.get(key, 0)
        self.instances[key] = instance + 1
        name = self.register_name(key, instance)
        start = self.num_clbits
        size = len(qubits)
        mask = gate.full_invert_mask()
        inverted = [j for j, flip in enumerate(mask) if flip]
        self.registers.append(Register(name=name, size=size))
        self.layout.append(
            KeyLayout(
                register_name=name,
                key=key,
                instance=instance,
                qubits=[self.labels[q] for q in qubits],
                inverted=inverted or None,
            )
        )
        self.groups[(key, instance)] = (name, start, size, sum(1 << j for j in inverted))
        self.num_clbits += size
        out.extend(
            {"op": "measure", "qubits": [q], "clbits": [start + j]} for j, q in enumerate(qubits)
        )

    def register_name(self, key: str, instance: int) -> str:
        base = key if _NAME.match(key) else _BAD_CHARS.sub("_", key)
        if not base or not (base[0].isalpha() or base[0] == "_"):
            base = "_" + base
        name = base if instance == 0 else f"{base}__{instance}"
        while name in self.used_names:
            name += "_"
        self.used_names.add(name)
        return name

    def wait(self, op: cirq.Operation, out: list[Instruction], unit: str) -> None:
        gate = op.gate
        assert isinstance(gate, cirq.WaitGate)
        duration = gate.duration
        if cirq.is_parameterized(duration):
            raise ConversionError("a parameterised WaitGate duration is not supported")
        nanos = float(duration.total_nanos())
        out.extend(
            {"op": "delay", "qubits": [self.qmap[q]], "params": [nanos], "unit": unit}
            for q in op.qubits
        )

    def controlled(
        self, op: cirq.ClassicallyControlledOperation, out: list[Instruction], where: str
    ) -> None:
        body: list[Instruction] = []
        self.operation(op.without_classical_controls(), body, where)
        for condition in op.classical_controls:
            if not isinstance(condition, cirq.KeyCondition):
                raise ConversionError(
                    f"classical control {condition} is not supported (only key conditions)"
                )
            key = str(condition.key)
            count = self.instances.get(key, 0)
            instance = condition.index if condition.index >= 0 else count + condition.index
            group = self.groups.get((key, instance))
            if group is None:
                raise ConversionError(
                    f"classical control reads key {key!r} (index {condition.index}) before "
                    "it is measured"
                )
            name, start, size, mask = group
            # Cirq's test is "measured value != 0"; on raw bits that is "raw != mask".
            if size == 1:
                cond: Condition = {"clbit": start, "value": 1 - mask}
                body = [{"op": "if", "qubits": [], "condition": cond, "body": body}]
            else:
                cond = {"register": name, "value": mask}
                body = [
                    {"op": "if", "qubits": [], "condition": cond, "body": [], "else_body": body}
                ]
        out.extend(body)


# ---- gate handlers: return True when they converted the gate


def _pow_parts(r: _Reader, gate: Any, period: int = 2) -> tuple[Any, float]:
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
        r.add_phase(_PI * (float(e) - reduced) * s)
    return reduced, s


def _h_x(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if isinstance(gate, cirq.Rx):
        out.append({"op": "rx", "qubits": qs, "params": [to_expr(gate._rads, where)]})
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
        r.add_phase(_scaled(e, _PI * (s + 0.5), where))
    return True


def _h_y(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if isinstance(gate, cirq.Ry):
        out.append({"op": "ry", "qubits": qs, "params": [to_expr(gate._rads, where)]})
        return True
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "y", "qubits": qs})
    else:
        out.append({"op": "ry", "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, _PI * (s + 0.5), where))
    return True


_Z_FIXED: Final = {1.0: "z", 0.5: "s", -0.5: "sdg", 0.25: "t", -0.25: "tdg"}


def _h_z(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if isinstance(gate, cirq.Rz):
        out.append({"op": "rz", "qubits": qs, "params": [to_expr(gate._rads, where)]})
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
        r.add_phase(_scaled(e, _PI * s, where))
    return True


def _h_h(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "h", "qubits": qs})
        return True
    return False


def _fixed(name: str) -> Callable[[_Reader, Any, list[int], list[Instruction], str], bool]:
    """A handler for a gate that is ``name`` at exponent 1 (and decomposed otherwise)."""

    def handler(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
        if not hasattr(gate, "exponent"):
            out.append({"op": name, "qubits": qs})
            return True
        e, s = _pow_parts(r, gate)
        if _is(e, 0):
            return True
        if _is(e, 1):
            out.append({"op": name, "qubits": qs})
            r.add_phase(_PI * s)
            return True
        return False

    return handler


def _h_cz(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "cz", "qubits": qs})
    else:
        out.append({"op": "cp", "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, _PI * s, where))
    return True


def _h_cx(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "cx", "qubits": qs})
        return True
    # CX^e = p(πe/2) on the control, then controlled rx(πe); plus the global shift.
    out.append({"op": "p", "qubits": [qs[0]], "params": [_scaled(e, _PI / 2, where)]})
    out.append({"op": "crx", "qubits": qs, "params": [_angle(e, where)]})
    r.add_phase(_scaled(e, _PI * s, where))
    return True


def _h_iswap(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = _pow_parts(r, gate, period=4)
    if _is(e, 0):
        return True
    if s == 0.0 and _is(e, 1):
        out.append({"op": "iswap", "qubits": qs})
        return True
    out.append({"op": "xx_plus_yy", "qubits": qs, "params": [_scaled(e, -_PI, where), 0.0]})
    r.add_phase(_scaled(e, _PI * s, where))
    return True


def _h_fsim(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    out.append(
        {
            "op": "fsim",
            "qubits": qs,
            "params": [to_expr(gate.theta, where), to_expr(gate.phi, where)],
        }
    )
    return True


def _h_pair(name: str) -> Callable[[_Reader, Any, list[int], list[Instruction], str], bool]:
    """XX/YY/ZZPowGate(e, s) = r{xx,yy,zz}(πe) times ``e^{iπe(s + 1/2)}``."""

    def handler(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
        e, s = _pow_parts(r, gate)
        out.append({"op": name, "qubits": qs, "params": [_angle(e, where)]})
        r.add_phase(_scaled(e, _PI * (s + 0.5), where))
        return True

    return handler


def _h_phased_x(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    e, s = gate.exponent, float(gate.global_shift)
    out.append(
        {"op": "r", "qubits": qs, "params": [_angle(e, where), _angle(gate.phase_exponent, where)]}
    )
    r.add_phase(_scaled(e, _PI * (s + 0.5), where))
    return True


def _h_phased_xz(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    """``Z**z · Z**a · X**x · Z**-a`` is ``rz(-πa)``, ``rx(πx)``, ``rz(π(a + z))`` in time
    order, times ``e^{iπ(x + z)/2}``: native wherever ``rx`` and ``rz`` are, which is what
    Cirq's ``CZTargetGateset`` leaves for a CZ device."""
    x, z, a = gate.x_exponent, gate.z_exponent, gate.axis_phase_exponent
    if not _is(a, 0):
        out.append({"op": "rz", "qubits": qs, "params": [_scaled(a, -_PI, where)]})
    out.append({"op": "rx", "qubits": qs, "params": [_angle(x, where)]})
    if not _is(a + z, 0):
        out.append({"op": "rz", "qubits": qs, "params": [_angle(a + z, where)]})
    r.add_phase(_scaled(x, _PI / 2, where))
    r.add_phase(_scaled(z, _PI / 2, where))
    return True


def _h_identity(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    out.extend({"op": "id", "qubits": [q]} for q in qs)
    return True


def _h_measure(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    r.measure(gate, qs, out, where)
    return True


def _h_reset(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    out.extend({"op": "reset", "qubits": [q]} for q in qs)
    return True


def _h_wait(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    if cirq.is_parameterized(gate.duration):
        raise ConversionError("a parameterised WaitGate duration is not supported")
    nanos = float(gate.duration.total_nanos())
    out.extend({"op": "delay", "qubits": [q], "params": [nanos], "unit": "ns"} for q in qs)
    return True


def _h_global_phase(
    r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str
) -> bool:
    coefficient = gate.coefficient
    if cirq.is_parameterized(coefficient):
        if not isinstance(coefficient, sympy.exp):
            raise ConversionError(f"global phase {coefficient} is not of the form exp(i*angle)")
        r.add_phase(to_expr(sympy.expand(coefficient.args[0] / sympy.I), where))
    else:
        r.add_phase(float(np.angle(complex(coefficient))))
    return True


def _h_matrix(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
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


def _h_controlled(r: _Reader, gate: Any, qs: list[int], out: list[Instruction], where: str) -> bool:
    controls = gate.num_controls()
    if any(values != (1,) for values in gate.control_values):
        return False
    if getattr(gate, "control_qid_shape", (2,) * controls) != (2,) * controls:
        return False
    sub = gate.sub_gate
    if controls == 1 and isinstance(sub, cirq.Rx | cirq.Ry | cirq.Rz):
        name = {cirq.Rx: "crx", cirq.Ry: "cry", cirq.Rz: "crz"}[type(sub)]
        out.append({"op": name, "qubits": qs, "params": [to_expr(sub._rads, where)]})
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


_Handler = Callable[[_Reader, Any, list[int], list[Instruction], str], bool]
_HANDLERS: Final[dict[type, _Handler]] = {
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


def from_cirq(circuit: cirq.AbstractCircuit, *, validate: bool = True) -> Circuit:
    """The payload circuit of a Cirq circuit, its qubits, keys and parameters kept.

    Raises :class:`ConversionError` naming the operation (its position in
    ``circuit.all_operations()``) when something cannot be represented, such as a
    measurement with a confusion map or a noise channel.
    """
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise ConversionError(f"expected a cirq.Circuit, got {type(circuit).__name__}")
    qubits = sorted(circuit.all_qubits())
    labels = [qubit_label(q) for q in qubits]
    reader = _Reader(qmap={q: i for i, q in enumerate(qubits)}, labels=labels)
    instructions: list[Instruction] = []
    reader.operations(circuit.all_operations(), instructions, "")
    params: set[str] = set(pexpr.symbols(reader.phase))
    for inst in _walk(instructions):
        for p in inst.get("params", ()):
            if not isinstance(p, float):
                params |= pexpr.symbols(p)
    fields: dict[str, Any] = {
        "num_qubits": len(qubits),
        "registers": reader.registers,
        "parameters": sorted(params),
        "instructions": instructions,
        "global_phase": reader.phase,
        "name": None,
        "metadata": {},
        "qubit_registers": None,
        "qubit_labels": labels,
        "layout": reader.layout,
    }
    if not validate:
        return Circuit.model_construct(**fields)
    try:
        return parse(Circuit, fields)
    except PayloadError as exc:
        raise ConversionError(f"the circuit does not make a valid payload: {exc}") from exc


def _walk(instructions: Sequence[Instruction]) -> Iterable[Instruction]:
    for inst in instructions:
        yield inst
        if inst["op"] == "if":
            yield from _walk(inst.get("body", []))
            yield from _walk(inst.get("else_body", []))


# ------------------------------------------------------------------ measurement plan


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
    locate = _Locator(circuit)
    runs: list[tuple[int, str, list[tuple[int, int]]]] = []  # (index, register, [(q, bit)])
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


class _Locator:
    """Global clbit -> (register, bit), with the offsets computed once."""

    def __init__(self, circuit: Circuit) -> None:
        self.table: list[tuple[str, int]] = []
        for reg in circuit.registers:
            self.table.extend((reg.name, j) for j in range(reg.size))

    def __call__(self, clbit: int) -> tuple[str, int]:
        return self.table[clbit]


def register_arrays(
    circuit: Circuit, records: Mapping[str, np.ndarray[Any, Any]], shots: int | None = None
) -> dict[str, np.ndarray[Any, np.dtype[np.uint8]]]:
    """Per payload register, the shots x width raw bits from a Cirq result's ``records``.

    ``records`` is ``cirq.Result.records`` of a run of ``to_cirq(circuit)`` (key -> array
    of shots x instances x qubits). Cirq's inversions are undone, so the arrays hold raw
    measured bits; a bit written twice keeps its last value; unmeasured bits are 0.
    """
    if shots is None:
        shots = next((len(v) for v in records.values()), 0)
    arrays = {reg.name: np.zeros((shots, reg.size), dtype=np.uint8) for reg in circuit.registers}
    for group in measurement_plan(circuit):
        data = records.get(group.key)
        if data is None:
            raise ConversionError(f"the result has no measurement key {group.key!r}")
        values = np.asarray(data[:, group.instance, :], dtype=np.uint8)
        target = arrays[group.register]
        for k, bit in enumerate(group.bits):
            column = values[:, k]
            target[:, bit] = column ^ 1 if group.inverted[k] else column
    return arrays


# ------------------------------------------------------------------ payload -> Cirq


_UNIT_NANOS: Final = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3}


class _Packer:
    """Places operations in the earliest moment, as ``cirq.InsertStrategy.EARLIEST`` does.

    Qubits and measurement keys are wires: an operation goes after the last moment that
    touches one of its qubits; a measurement also after every earlier write or read of its
    key; a classically controlled operation after the last write of the keys it reads.
    Doing this here, with the keys already known, is several times faster than letting
    ``cirq.Circuit`` rediscover them through its protocols.
    """

    def __init__(self) -> None:
        self.qubit_at: dict[cirq.Qid, int] = {}
        self.write_at: dict[str, int] = {}
        self.read_at: dict[str, int] = {}
        self.moments: list[list[cirq.Operation]] = []

    def add(
        self,
        op: cirq.Operation,
        writes: str | None = None,
        reads: Iterable[str] = (),
    ) -> None:
        qubit_at = self.qubit_at
        index = -1
        for q in op.qubits:
            at = qubit_at.get(q, -1)
            index = max(index, at)
        if writes is not None:
            index = max(index, self.write_at.get(writes, -1), self.read_at.get(writes, -1))
        for key in reads:
            index = max(index, self.write_at.get(key, -1))
        index += 1
        if index == len(self.moments):
            self.moments.append([op])
        else:
            self.moments[index].append(op)
        for q in op.qubits:
            qubit_at[q] = index
        if writes is not None:
            self.write_at[writes] = index
        for key in reads:
            self.read_at[key] = max(self.read_at.get(key, -1), index)

    def circuit(self) -> cirq.Circuit:
        return cirq.Circuit.from_moments(*(cirq.Moment.from_ops(*ops) for ops in self.moments))


class _Writer:
    """Emits Cirq operations for payload instructions."""

    def __init__(
        self, circuit: Circuit, qubits: list[cirq.Qid], bindings: Mapping[str, float] | None
    ) -> None:
        self.circuit = circuit
        self.qubits = qubits
        self.bindings = bindings
        self.symbols = {name: sympy.Symbol(name) for name in circuit.parameters}
        self.plan = {g.index: g for g in measurement_plan(circuit)}
        self.locate = _Locator(circuit)
        self.offsets = circuit.register_offsets()
        #: global clbit -> (key, instance, position in the key, key width, inverted)
        self.writer: dict[int, tuple[str, int, int, int, bool]] = {}
        self.instances: dict[str, int] = {}
        self.packer = _Packer()

    def value(self, expr: Expr) -> Any:
        if type(expr) is float:
            return expr
        if self.bindings is not None:
            return pexpr.evaluate(expr, self.bindings)
        return from_expr(expr, self.symbols)

    def top(self) -> None:
        instructions = self.circuit.instructions
        fixed_gates = _FIXED_GATES
        qubits = self.qubits
        for index, inst in enumerate(instructions):
            try:
                if inst["op"] == "measure":
                    group = self.plan.get(index)
                    if group is not None:
                        self.measure(group)
                    continue
                add = self.packer.add
                fixed = fixed_gates.get(inst["op"])
                if fixed is not None:
                    add(_op(fixed, tuple([qubits[q] for q in inst["qubits"]])))
                elif inst["op"] == "if":
                    for op, reads in self.controlled_ops(inst, f"instruction {index}"):
                        add(op, None, reads)
                else:
                    for op in self.instruction(inst, f"instruction {index}", ()):
                        add(op)
            except ConversionError:
                raise
            except (QRelayError, ValueError, TypeError, KeyError, IndexError) as exc:
                raise ConversionError(f"instruction {index} ({inst['op']}): {exc}") from exc

    def measure(self, group: KeyGroup) -> None:
        qubits = [self.qubits[q] for q in group.qubits]
        self.packer.add(
            cirq.measure(
                *qubits,
                key=cirq.MeasurementKey.parse_serialized(group.key),
                invert_mask=group.inverted if any(group.inverted) else (),
            ),
            str(cirq.MeasurementKey.parse_serialized(group.key)),
        )
        self.instances[group.key] = group.instance + 1
        offset = self.offsets[group.register][0]
        width = len(group.bits)
        for k, bit in enumerate(group.bits):
            self.writer[offset + bit] = (group.key, group.instance, k, width, group.inverted[k])

    def instruction(
        self, inst: Instruction, where: str, controls: tuple[Any, ...]
    ) -> list[cirq.Operation]:
        op = inst["op"]
        qs = [self.qubits[q] for q in inst["qubits"]]
        if op == "if":
            return self.if_op(inst, where, controls)
        if op == "measure":
            raise ConversionError(f"{where} (measure): a measurement inside 'if' is not supported")
        fixed = _FIXED_GATES.get(op)
        builder = _BUILDERS.get(op)
        if fixed is None and builder is None:
            raise ConversionError(f"{where} ({op}): no Cirq equivalent")
        params = [self.value(p) for p in inst.get("params", ())]
        if fixed is not None:
            ops: list[cirq.Operation] = [_op(fixed, tuple(qs))]
        elif builder is None:
            raise ConversionError(f"{where} ({op}): no Cirq equivalent")
        elif op == "unitary":
            ops = [cirq.MatrixGate(matrix_from_wire(inst["matrix"])).on(*reversed(qs))]
        elif op == "delay":
            ops = [self.delay(inst, params[0], qs)]
        else:
            ops = builder(params, qs)
        if controls:
            ops = [o.with_classical_controls(*controls) for o in ops]
        return ops

    def controlled_ops(
        self, inst: Instruction, where: str
    ) -> list[tuple[cirq.Operation, tuple[str, ...]]]:
        """The operations of a top-level ``if``, each with the keys its conditions read."""
        found = []
        for op in self.if_op(inst, where, ()):
            keys = tuple(str(key) for cond in op.classical_controls for key in cond.keys)
            found.append((op, keys))
        return found

    def delay(self, inst: Instruction, duration: Any, qs: list[cirq.Qid]) -> cirq.Operation:
        unit = inst.get("unit", "dt")
        if unit == "dt":
            return cirq.WaitGate(cirq.Duration(nanos=duration)).on(*qs).with_tags(DT_TAG)
        return cirq.WaitGate(cirq.Duration(nanos=duration * _UNIT_NANOS[unit])).on(*qs)

    def if_op(
        self, inst: Instruction, where: str, controls: tuple[Any, ...]
    ) -> list[cirq.Operation]:
        cond = inst["condition"]
        body = inst.get("body", [])
        else_body = inst.get("else_body", [])
        if "clbit" in cond:
            clbits = [cond["clbit"]]
        else:
            start, size = self.offsets[cond["register"]]
            clbits = list(range(start, start + size))
        value = cond["value"]
        writers = []
        for clbit in clbits:
            writer = self.writer.get(clbit)
            if writer is None:
                raise ConversionError(
                    f"{where} (if): the condition reads clbit {clbit}, which no earlier "
                    "measurement writes"
                )
            writers.append(writer)
        key, instance, _, width, _ = writers[0]
        same_group = all(w[0] == key and w[1] == instance for w in writers) and width == len(
            writers
        )
        positive: Any
        negative: Any
        if same_group:
            # Cirq's own test: value of (key, instance) != 0, i.e. raw bits != inversion mask.
            mask = sum(1 << j for j, w in enumerate(writers) if w[4])
            key_condition = cirq.KeyCondition(
                cirq.MeasurementKey.parse_serialized(key), index=instance
            )
            if value == mask and not body:
                ops = []
                for j, sub in enumerate(else_body):
                    ops += self.instruction(
                        sub, f"{where}.else_body.{j}", (*controls, key_condition)
                    )
                return ops
            if len(writers) == 1 and value == 1 - mask and not else_body:
                ops = []
                for j, sub in enumerate(body):
                    ops += self.instruction(sub, f"{where}.body.{j}", (*controls, key_condition))
                return ops
        terms = []
        for j, (wkey, winstance, position, wwidth, inverted) in enumerate(writers):
            if self.instances.get(wkey, 0) - 1 != winstance:
                raise ConversionError(
                    f"{where} (if): the condition reads key {wkey!r} instance {winstance}, "
                    "which a later measurement of the same key hides from Cirq's conditions"
                )
            bit = sympy.Mod(sympy.floor(sympy.Symbol(wkey) / 2 ** (wwidth - 1 - position)), 2)
            if inverted:
                bit = 1 - bit
            terms.append(bit * 2**j)
        total = sympy.Add(*terms)
        positive = cirq.SympyCondition(sympy.Eq(total, value))
        negative = cirq.SympyCondition(sympy.Ne(total, value))
        ops = []
        for j, sub in enumerate(body):
            ops += self.instruction(sub, f"{where}.body.{j}", (*controls, positive))
        for j, sub in enumerate(else_body):
            ops += self.instruction(sub, f"{where}.else_body.{j}", (*controls, negative))
        return ops


def _zpow(angle: Any) -> cirq.ZPowGate:
    return cirq.ZPowGate(exponent=angle / _pi_like(angle))


def _pi_like(angle: Any) -> Any:
    return sympy.pi if isinstance(angle, sympy.Basic) else _PI


def _e(angle: Any) -> Any:
    """Cirq's exponent for a payload angle: ``angle / π``."""
    return angle / _pi_like(angle)


_new_operation = object.__new__


def _op(gate: cirq.Gate, qubits: tuple[cirq.Qid, ...]) -> cirq.GateOperation:
    """``gate.on(*qubits)`` without re-validating what the payload validation has checked.

    ``GateOperation.__init__`` only validates the qubits (count, dimension, repeats) and
    stores the gate and the qubit tuple; the payload checker has already refused bad
    qubit lists, and every qubit here is a two-level Line/Grid/NamedQubit.
    """
    op = _new_operation(cirq.GateOperation)
    op._gate = gate
    op._qubits = qubits
    return op


#: Payload ops that are one fixed Cirq gate (made once, shared by every operation).
_FIXED_GATES: Final[dict[str, cirq.Gate]] = {
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
_BUILDERS: Final[dict[str, _Builder]] = {
    "rx": lambda p, q: [_op(cirq.rx(p[0]), (q[0],))],
    "ry": lambda p, q: [_op(cirq.ry(p[0]), (q[0],))],
    "rz": lambda p, q: [_op(cirq.rz(p[0]), (q[0],))],
    "p": lambda p, q: [_op(_zpow(p[0]), (q[0],))],
    "u": lambda p, q: [
        _op(_zpow(p[2]), (q[0],)),
        _op(cirq.ry(p[0]), (q[0],)),
        _op(_zpow(p[1]), (q[0],)),
    ],
    "r": lambda p, q: [
        _op(
            cirq.PhasedXPowGate(phase_exponent=_e(p[1]), exponent=_e(p[0]), global_shift=-0.5),
            (q[0],),
        )
    ],
    "cp": lambda p, q: [_op(cirq.CZPowGate(exponent=_e(p[0])), tuple(q))],
    "crx": lambda p, q: [_op(cirq.ControlledGate(cirq.rx(p[0])), tuple(q))],
    "cry": lambda p, q: [_op(cirq.ControlledGate(cirq.ry(p[0])), tuple(q))],
    "crz": lambda p, q: [_op(cirq.ControlledGate(cirq.rz(p[0])), tuple(q))],
    "cu": lambda p, q: [
        _op(_zpow(p[3]), (q[0],)),
        _op(cirq.CZPowGate(exponent=_e(p[2])), tuple(q)),
        _op(cirq.ControlledGate(cirq.ry(p[0])), tuple(q)),
        _op(cirq.CZPowGate(exponent=_e(p[1])), tuple(q)),
    ],
    "ecr": lambda p, q: [*_rzx(_PI / 4, *q), cirq.X(q[0]), *_rzx(-_PI / 4, *q)],
    "dcx": lambda p, q: [cirq.CNOT(q[0], q[1]), cirq.CNOT(q[1], q[0])],
    "rxx": lambda p, q: [_op(cirq.XXPowGate(exponent=_e(p[0]), global_shift=-0.5), tuple(q))],
    "ryy": lambda p, q: [_op(cirq.YYPowGate(exponent=_e(p[0]), global_shift=-0.5), tuple(q))],
    "rzz": lambda p, q: [_op(cirq.ZZPowGate(exponent=_e(p[0]), global_shift=-0.5), tuple(q))],
    "rzx": lambda p, q: _rzx(p[0], *q),
    "xx_plus_yy": lambda p, q: [
        _op(cirq.rz(p[1]), (q[0],)),
        _op(cirq.ISwapPowGate(exponent=-_e(p[0])), tuple(q)),
        _op(cirq.rz(-p[1]), (q[0],)),
    ],
    "xx_minus_yy": lambda p, q: [
        _op(cirq.rz(-p[1]), (q[1],)),
        _op(cirq.X, (q[1],)),
        _op(cirq.ISwapPowGate(exponent=-_e(p[0])), tuple(q)),
        _op(cirq.X, (q[1],)),
        _op(cirq.rz(p[1]), (q[1],)),
    ],
    "fsim": lambda p, q: [_op(cirq.FSimGate(theta=p[0], phi=p[1]), tuple(q))],
    "rccx": lambda p, q: _rccx(*q),
    "rcccx": lambda p, q: _rcccx(*q),
    "reset": lambda p, q: [cirq.ResetChannel()(q[0])],
    "barrier": lambda p, q: [],
    "delay": lambda p, q: [],  # built by _Writer.delay (needs the unit)
    "unitary": lambda p, q: [],  # built by _Writer.instruction (needs the matrix)
}


def instruction_unitaries(
    circuit: Circuit,
    inst: Instruction,
    rows: Sequence[Mapping[str, float] | None] = (None,),
) -> np.ndarray[Any, np.dtype[np.complex128]]:
    """The matrix of one gate instruction of ``circuit`` per bindings row, shape (R, d, d).

    The matrix is over the instruction's own qubits with the first one most significant
    (Cirq's order), built from the same Cirq operations :func:`to_cirq` emits, so a
    simulation that applies it agrees with one of the converted circuit. A row of ``None``
    leaves parameters symbolic, which only works for an instruction without them.
    """
    line: list[cirq.Qid] = list(cirq.LineQubit.range(circuit.num_qubits))
    order = [line[q] for q in inst["qubits"]]
    writer = _Writer(circuit, line, None)
    where = f"instruction ({inst['op']})"
    out = np.empty((len(rows), 1 << len(order), 1 << len(order)), dtype=np.complex128)
    for r, row in enumerate(rows):
        writer.bindings = row
        try:
            ops = writer.instruction(inst, where, ())
            out[r] = cirq.Circuit(ops).unitary(
                qubit_order=order, qubits_that_should_be_present=order
            )
        except ConversionError:
            raise
        except (QRelayError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise ConversionError(f"{where}: {exc}") from exc
    return out


def to_cirq(circuit: Circuit, *, bindings_row: Mapping[str, float] | None = None) -> cirq.Circuit:
    """The Cirq circuit of a payload circuit, with the user's qubits and keys when recorded.

    Qubits come from ``circuit.qubit_labels`` (``LineQubit.range(n)`` without them).
    Measurement keys follow :func:`measurement_plan`; results of a run map back to payload
    registers with :func:`register_arrays`. With ``bindings_row`` the circuit comes back
    resolved; without it, parameters are sympy symbols with their payload names.
    Barriers are dropped (Cirq has none).
    """
    if circuit.qubit_labels is not None:
        qubits = [qubit_from_label(label) for label in circuit.qubit_labels]
    else:
        qubits = list(cirq.LineQubit.range(circuit.num_qubits))
    writer = _Writer(circuit, qubits, bindings_row)
    writer.top()
    packer = writer.packer
    phase = writer.value(circuit.global_phase)
    if isinstance(phase, sympy.Basic):
        packer.add(cirq.GlobalPhaseGate(sympy.exp(sympy.I * phase)).on())
    elif phase != 0.0:
        packer.add(cirq.GlobalPhaseGate(complex(np.exp(1j * phase))).on())
    return packer.circuit()
