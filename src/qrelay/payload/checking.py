"""The circuit's checker: one pass over its instructions that raises on the first fault.

:class:`CircuitChecker` is what :class:`~qrelay.payload.circuit.Circuit` runs once its
fields are typed: qubit and clbit ranges, arities, declared symbols, finite numbers,
unitary matrices, registers, and (through :mod:`qrelay.payload.control`) the blocks of
control flow. Each error names the instruction index, op, qubit, register or symbol at
fault. Instructions fresh from a JSON parse have their types checked on the same walk
(see :class:`~qrelay.payload.circuit.CheckedAfterJsonParse`).
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from qrelay.errors import PayloadError
from qrelay.payload import control, expressions
from qrelay.payload.circuit import MAX_INSTRUCTIONS, UNITARY_ATOL, Condition, Instruction
from qrelay.payload.classical import Scope
from qrelay.payload.expressions import Expr
from qrelay.payload.ops import DELAY_UNITS, OPS, OpKind
from qrelay.payload.parsing import payload_error

if TYPE_CHECKING:
    from qrelay.payload.circuit import Circuit

__all__ = ["CircuitChecker", "instruction_adapter"]

#: Gate name to (qubits, parameters), for the fast path of the checker.
_FAST_GATES: Final = {
    name: (spec.num_qubits, spec.num_params)
    for name, spec in OPS.items()
    if spec.kind is OpKind.GATE and spec.num_qubits is not None
}


@cache
def instruction_adapter() -> TypeAdapter[Instruction]:
    """The typed validation of one instruction, for those the checker's fast path refuses."""
    return TypeAdapter(Instruction)


class CircuitChecker:
    """One pass over a circuit that raises on the first fault, naming where it is."""

    def __init__(self, circuit: Circuit, *, typed: bool = True) -> None:
        self.circuit = circuit
        #: False when the instructions come as parsed from JSON, their types unchecked.
        self.typed = typed
        self.num_qubits = circuit.num_qubits
        self.num_clbits = circuit.num_clbits
        self.declared = frozenset(circuit.parameters)
        self.offsets = circuit.register_offsets()
        self.count = 0
        self.scope = Scope(
            self.num_clbits,
            {name: size for name, (_, size) in self.offsets.items()},
            {var.name: var.classical_type for var in circuit.variables},
        )
        #: How deep in blocks, and in loops, the instruction being checked is.
        self.nesting = 0
        self.loops = 0

    def run(self) -> None:
        c = self.circuit
        if len(self.declared) != len(c.parameters):
            raise PayloadError("parameters: a symbol is declared twice")
        if len(self.offsets) != len(c.registers):
            raise PayloadError("registers: a register name is used twice")
        if len(self.scope.variables) != len(c.variables):
            raise PayloadError("variables: a variable name is used twice")
        if c.qubit_labels is not None and len(c.qubit_labels) != c.num_qubits:
            raise PayloadError(
                f"qubit_labels: {len(c.qubit_labels)} labels for {c.num_qubits} qubits"
            )
        if c.qubit_registers is not None:
            total = sum(reg.size for reg in c.qubit_registers)
            if total != c.num_qubits:
                raise PayloadError(
                    f"qubit_registers: sizes add up to {total}, not num_qubits={c.num_qubits}"
                )
        if c.layout is not None:
            for entry in c.layout:
                if entry.register_name not in self.offsets:
                    raise PayloadError(f"layout: unknown register {entry.register_name!r}")
        expressions.check(c.global_phase, self.declared, "global_phase")
        if type(c.instructions) is not list:
            raise PayloadError(
                f"instructions: must be a list, not {type(c.instructions).__name__}",
                location=("instructions",),
            )
        self.block(c.instructions, "", self.typed)

    def block(self, instructions: list[Instruction], prefix: str, typed: bool) -> None:
        """Check instructions: a fast path for plain gates and measurements, the full check else.

        The fast path only accepts, and checks types as it goes (``type(q) is int``), so it
        also accepts instructions as parsed from JSON. Anything it is unsure of (a non-gate
        op, an extra field, a symbol, a wrong type, a fault) goes through :meth:`one`, which
        types the instruction where ``typed`` is false and raises the error that names the
        fault. So both paths accept exactly the same instructions.

        Kept as one loop, longer than most functions here: it runs once per instruction of
        every circuit the service, the workers and the front ends read, so the fast path is
        written in line rather than through calls.
        """
        self.count += len(instructions)
        if self.count > MAX_INSTRUCTIONS:
            raise PayloadError(
                f"instructions: more than {MAX_INSTRUCTIONS} instructions (block bodies included)"
            )
        n = self.num_qubits
        fast = _FAST_GATES
        declared = self.declared
        num_clbits = self.num_clbits
        one = self.one
        for index, inst in enumerate(instructions):
            try:
                if type(inst) is not dict:
                    raise TypeError
                op = inst["op"]
                entry = fast.get(op)
                if entry is None:
                    # A measurement with its one qubit and one clbit in range, and nothing else.
                    if op == "measure" and len(inst) == 3:
                        qubits = inst["qubits"]
                        clbits = inst["clbits"]
                        if len(qubits) == 1 and len(clbits) == 1:
                            q = qubits[0]
                            b = clbits[0]
                            if (
                                type(q) is int
                                and type(b) is int
                                and 0 <= q < n
                                and 0 <= b < num_clbits
                            ):
                                continue
                else:
                    nq, npar = entry
                    qubits = inst["qubits"]
                    # "op" and "qubits" are required and no other field is admitted: two
                    # fields is a bare gate, three with "params" a gate with parameters;
                    # anything else (a label, a stray field) takes the full check.
                    size = len(inst)
                    if size == 2:
                        ok = npar == 0
                    elif size == 3 and "params" in inst:
                        params = inst["params"]
                        if npar == 1 and len(params) == 1 and type(params[0]) is float:
                            first = params[0]  # most gates take one number: no call for it
                            ok = first - first == 0.0  # False for NaN and infinities
                        else:
                            ok = len(params) == npar and _plain_params(params, declared)
                    else:
                        ok = False
                    # Unpacking and chained comparisons beat ``set``/``min``/``max`` calls
                    # several times over; no gate acts on more than four qubits (a wider
                    # one would take the full check).
                    if ok and len(qubits) == nq:
                        if nq == 1:
                            a = qubits[0]
                            if type(a) is int and 0 <= a < n:
                                continue
                        elif nq == 2:
                            a, b = qubits
                            if (
                                type(a) is int
                                and type(b) is int
                                and a != b
                                and 0 <= a < n
                                and 0 <= b < n
                            ):
                                continue
                        elif nq == 3:
                            a, b, c = qubits
                            if (
                                type(a) is int
                                and type(b) is int
                                and type(c) is int
                                and a != b != c != a
                                and 0 <= a < n
                                and 0 <= b < n
                                and 0 <= c < n
                            ):
                                continue
                        elif nq == 4:
                            a, b, c, d = qubits
                            if (
                                type(a) is int
                                and type(b) is int
                                and type(c) is int
                                and type(d) is int
                                and a != b != c != d != a != c
                                and b != d
                                and 0 <= a < n
                                and 0 <= b < n
                                and 0 <= c < n
                                and 0 <= d < n
                            ):
                                continue
            except (TypeError, KeyError, ValueError):
                pass  # a field missing or of the wrong type: the full check names it
            checked = one(inst, prefix, index, typed)
            if checked is not inst:
                instructions[index] = checked

    def one(self, inst: Any, prefix: str, index: int, typed: bool) -> Instruction:
        """The full check of one instruction; raises on the first fault.

        Returns the instruction as checked: typed by pydantic where ``typed`` is false
        (so a JSON ``1`` among the parameters becomes ``1.0``).
        """
        if not typed:
            try:
                inst = instruction_adapter().validate_python(inst)
            except PydanticValidationError as exc:
                # Only the top level comes untyped (bodies are typed with their ``if``).
                raise payload_error(exc, "Circuit", at=("instructions", index)) from exc
        num_qubits = self.num_qubits
        op = inst["op"]
        spec = OPS.get(op)
        where = f"instruction {prefix}{index} ({op})"
        if spec is None:
            raise PayloadError(
                f"instruction {prefix}{index}: unknown op {op!r}; see qrelay.payload.ops.OPS"
            )
        qubits = inst["qubits"]
        for q in qubits:
            if not 0 <= q < num_qubits:
                raise PayloadError(f"{where}: qubit {q} is out of range for {num_qubits} qubits")
        if len(set(qubits)) != len(qubits):
            raise PayloadError(f"{where}: a qubit is repeated in {qubits}")
        if spec.num_qubits is not None and len(qubits) != spec.num_qubits:
            raise PayloadError(f"{where}: takes {spec.num_qubits} qubit(s), got {len(qubits)}")
        params = inst.get("params", ())
        if len(params) != spec.num_params:
            raise PayloadError(
                f"{where}: takes {spec.num_params} parameter(s) {list(spec.params)}, "
                f"got {len(params)}"
            )
        for param in params:
            if type(param) is float:
                if not math.isfinite(param):
                    raise PayloadError(f"{where}: parameter value {param!r} is not finite")
            else:
                expressions.check(param, self.declared, where)
        kind = spec.kind
        clbits = inst.get("clbits")
        if kind is OpKind.MEASURE:
            if clbits is None or len(clbits) != 1:
                raise PayloadError(f"{where}: measure needs exactly one clbit")
            self.clbit(clbits[0], where)
        elif clbits:
            raise PayloadError(f"{where}: only measure writes clbits")
        if kind is not OpKind.GATE:
            self.special(inst, kind, where, prefix, index)
        else:
            self.forbid(inst, where, "unit", "matrix", *control.CONTROL_FIELDS)
        checked: Instruction = inst
        return checked

    def special(self, inst: Instruction, kind: OpKind, where: str, prefix: str, index: int) -> None:
        if kind is OpKind.DELAY:
            unit = inst.get("unit", "dt")
            if unit not in DELAY_UNITS:
                raise PayloadError(f"{where}: unit {unit!r} is not one of {sorted(DELAY_UNITS)}")
            duration = inst["params"][0]
            if isinstance(duration, int | float) and duration < 0:
                raise PayloadError(f"{where}: duration {duration} is negative")
            self.forbid(inst, where, "matrix", *control.CONTROL_FIELDS)
        elif kind is OpKind.UNITARY:
            self.forbid(inst, where, "unit", *control.CONTROL_FIELDS)
            self.matrix(inst, where)
        elif kind in (OpKind.CONTROL, OpKind.JUMP, OpKind.STORE):
            self.control(inst, kind, where, f"{prefix}{index}.")
        else:
            self.forbid(inst, where, "unit", "matrix", *control.CONTROL_FIELDS)
            if kind is OpKind.BARRIER and not inst["qubits"]:
                raise PayloadError(f"{where}: barrier needs at least one qubit")

    def control(self, inst: Instruction, kind: OpKind, where: str, path: str) -> None:
        """Check a block, a jump or a store, and the bodies of a block."""
        self.forbid(inst, where, "unit", "matrix")
        control.check(self, inst, kind, where, path)

    def clbit(self, clbit: int, where: str) -> None:
        if not 0 <= clbit < self.num_clbits:
            raise PayloadError(
                f"{where}: clbit {clbit} is out of range; the registers hold "
                f"{self.num_clbits} bit(s)"
            )

    def condition(self, cond: Condition | None, where: str) -> None:
        if cond is None:
            raise PayloadError(f"{where}: 'if' needs a condition or a test")
        has_register = "register" in cond
        if has_register == ("clbit" in cond):
            raise PayloadError(f"{where}: condition names exactly one of 'register' or 'clbit'")
        value = cond["value"]
        if has_register:
            name = cond["register"]
            if name not in self.offsets:
                raise PayloadError(f"{where}: condition reads unknown register {name!r}")
            size = self.offsets[name][1]
            if not 0 <= value < (1 << size):
                raise PayloadError(
                    f"{where}: value {value} does not fit register {name!r} of {size} bit(s)"
                )
        else:
            self.clbit(cond["clbit"], where)
            if value not in (0, 1):
                raise PayloadError(f"{where}: a clbit condition compares with 0 or 1")

    def matrix(self, inst: Instruction, where: str) -> None:
        rows = inst.get("matrix")
        if rows is None:
            raise PayloadError(f"{where}: unitary needs a matrix")
        n = len(inst["qubits"])
        dim = 1 << n
        if n == 0 or len(rows) != dim or any(len(row) != dim for row in rows):
            raise PayloadError(f"{where}: matrix must be {dim}x{dim} for {n} qubit(s)")
        array = np.asarray(rows, dtype=float)
        if not np.isfinite(array).all():
            raise PayloadError(f"{where}: matrix has a value that is not finite")
        u = array[..., 0] + 1j * array[..., 1]
        deviation = float(np.abs(u.conj().T @ u - np.eye(dim)).max())
        if deviation > UNITARY_ATOL:
            raise PayloadError(f"{where}: matrix is not unitary (max |U†U - I| = {deviation:.2e})")

    @staticmethod
    def forbid(inst: Instruction, where: str, *keys: str) -> None:
        for key in keys:
            if key in inst:
                raise PayloadError(f"{where}: field {key!r} does not belong to this op")


def _plain_params(params: list[Expr], declared: frozenset[str]) -> bool:
    """True when ``params`` is a list of finite floats and declared symbols (the fast path).

    ``False`` only sends the instruction to the full check, which names the fault.
    """
    if type(params) is not list:
        return False
    for param in params:
        if type(param) is float:
            if param - param != 0.0:  # NaN and infinities
                return False
        elif type(param) is not str or param not in declared:
            return False
    return True
