"""Qiskit ``QuantumCircuit`` to payload ``Circuit``: :func:`from_qiskit` and its helpers.

Registers that do not simply tile the clbits (or qubits) in order are recorded in
``metadata["qiskit.cregs"]`` / ``"qiskit.qregs"`` (see :mod:`qrelay_qiskit.convert`), so
:func:`~qrelay_qiskit.convert_writer.to_qiskit` rebuilds them exactly. Gates are
dispatched by name through the tables of :mod:`qrelay_qiskit.convert_common`; gates
without an op are decomposed through their Qiskit definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
from qiskit.circuit import (
    CircuitInstruction,
    ClassicalRegister,
    Clbit,
    IfElseOp,
    ParameterVectorElement,
    QuantumCircuit,
    Qubit,
)

from qrelay.errors import ConversionError, PayloadError, QRelayError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import Circuit, Condition, Instruction, matrix_to_wire
from qrelay.payload.expressions import Expr
from qrelay.payload.limits import InstructionBudget
from qrelay.payload.parsing import parse
from qrelay_qiskit.convert_classical import variable_of
from qrelay_qiskit.convert_common import ALIASES, META_VECTORS, gate_params
from qrelay_qiskit.convert_control import CONTROL_NAMES, read_control
from qrelay_qiskit.convert_registers import classical_layout, qubit_layout, user_metadata
from qrelay_qiskit.expressions import to_expr

__all__ = ["expanded_count", "from_qiskit"]


def from_qiskit(
    qc: QuantumCircuit, *, validate: bool = True, budget: InstructionBudget | None = None
) -> Circuit:
    """The payload circuit of ``qc``: gates, measurements, registers, parameters, phase.

    Gates without an op are decomposed through their Qiskit definitions; a parameter-free
    opaque gate becomes a ``unitary``. Raises :class:`ConversionError` naming the
    instruction index and name of what cannot be converted. Instruction labels are not
    carried.

    ``validate=False`` skips the payload's own validation pass, most of the conversion's
    cost (figures: "Design measurements" in ``docs/performance.md``): the converter builds
    a valid circuit by construction, and whoever parses it from JSON (service, worker)
    validates it again. Use it on hot paths that serialise at once.

    ``budget`` counts the instructions as gate definitions are expanded and stops the
    conversion (a :class:`PayloadError` naming the limit) as soon as they pass it, so a
    circuit of nested definitions cannot grow without bound (see :func:`expanded_count`
    for the count made before expanding anything).
    """
    if not isinstance(qc, QuantumCircuit):
        raise ConversionError(f"expected a qiskit QuantumCircuit, got {type(qc).__name__}")
    if budget is not None:
        budget.spend(len(qc.data))
    metadata: dict[str, Any] = user_metadata(qc.metadata)
    qubit_registers = qubit_layout(qc, metadata)
    registers = classical_layout(qc, metadata)
    vectors: dict[str, int] = {}
    names: list[str] = []
    for param in qc.parameters:
        names.append(param.name)
        if isinstance(param, ParameterVectorElement):
            vectors[param.vector.name] = len(param.vector)
    if vectors:
        metadata[META_VECTORS] = vectors
    if qc.num_input_vars:
        raise ConversionError(
            f"circuit {qc.name!r}: input variables have no payload form; declare them instead"
        )
    variables = [variable_of(var, f"circuit {qc.name!r}") for var in qc.iter_declared_vars()]
    reader = _Reader(qc, {reg.name for reg in registers}, budget)
    instructions = reader.block(
        qc.data,
        {bit: i for i, bit in enumerate(qc.qubits)},
        reader.clbit_index,
        "",
    )
    phase = pexpr.add(to_expr(qc.global_phase, "global_phase"), reader.extra_phase)
    for symbol in pexpr.symbols(reader.extra_phase):
        if symbol not in names:
            names.append(symbol)
    fields = {
        "num_qubits": qc.num_qubits,
        "registers": registers,
        "parameters": names,
        "instructions": instructions,
        "global_phase": phase,
        "name": qc.name,
        "metadata": metadata,
        "qubit_registers": qubit_registers,
        "qubit_labels": None,
        "layout": None,
    }
    if variables:
        fields["variables"] = variables
    if not validate:
        return Circuit.model_construct(**fields)
    try:
        return parse(Circuit, fields)
    except PayloadError as exc:
        raise ConversionError(f"circuit {qc.name!r} does not make a valid payload: {exc}") from exc


def _indices(qs: tuple[Qubit, ...], qmap: Mapping[Qubit, int]) -> list[int]:
    """The payload indices of an instruction's qubits (their positions in ``qmap``).

    Unpacking beats a comprehension for the one- and two-qubit gates that make up nearly
    every circuit.
    """
    n = len(qs)
    if n == 1:
        return [qmap[qs[0]]]
    if n == 2:
        a, b = qs
        return [qmap[a], qmap[b]]
    return [qmap[q] for q in qs]


def _params(params: Sequence[Any], name: str) -> list[Expr]:
    """A gate's parameters as payload expressions (numbers stay floats)."""
    return [p if type(p) is float else to_expr(p, f"{name} parameter") for p in params]


class _Reader:
    """One pass over a Qiskit circuit's instructions, producing payload instructions."""

    def __init__(
        self,
        qc: QuantumCircuit,
        payload_registers: set[str],
        budget: InstructionBudget | None = None,
    ) -> None:
        self.clbit_index: dict[Clbit, int] = {bit: i for i, bit in enumerate(qc.clbits)}
        self.payload_registers = payload_registers
        self.extra_phase: Expr = 0.0
        self.gate_params = gate_params()
        #: Counts instructions as definitions and ``if`` bodies are expanded: each
        #: instruction is counted as one before it is read, and a definition's
        #: instructions replace the one call they expand.
        self.budget = budget

    def block(
        self,
        data: Iterable[CircuitInstruction],
        qmap: Mapping[Qubit, int],
        cmap: Mapping[Clbit, int],
        prefix: str,
    ) -> list[Instruction]:
        """The payload instructions of ``data``, one Qiskit instruction at a time.

        Kept as one loop, longer than most functions here: it runs once per instruction
        of every converted circuit, so the common gates (qubit indices, one float
        parameter, measures, aliases) are handled in line rather than through calls;
        everything else goes to :meth:`special`.
        """
        out: list[Instruction] = []
        append = out.append
        gate_params = self.gate_params
        aliases = ALIASES
        index = 0
        name = ""
        try:
            for index, ci in enumerate(data):
                name = ci.name
                num_params = gate_params.get(name)
                if num_params is not None:
                    qs = ci.qubits
                    if len(qs) == 1:  # inlined from _indices: most gates take this path
                        qubits = [qmap[qs[0]]]
                    elif len(qs) == 2:
                        a, b = qs
                        qubits = [qmap[a], qmap[b]]
                    elif len(qs) == 3:
                        a, b, c = qs
                        qubits = [qmap[a], qmap[b], qmap[c]]
                    elif len(qs) == 4:  # c3sx, rcccx, c3x: a quarter of a random circuit
                        a, b, c, d = qs
                        qubits = [qmap[a], qmap[b], qmap[c], qmap[d]]
                    else:
                        qubits = [qmap[q] for q in qs]
                    if not num_params:
                        append({"op": name, "qubits": qubits})
                        continue
                    # Most gates with parameters take one number: its list is built in line,
                    # as a comprehension is a call of its own.
                    ps = ci.params
                    if len(ps) == 1 and type(ps[0]) is float:
                        params: list[Expr] = [ps[0]]
                    else:
                        params = _params(ps, name)
                    append({"op": name, "qubits": qubits, "params": params})
                elif name == "measure":
                    append(
                        {
                            "op": "measure",
                            "qubits": [qmap[ci.qubits[0]]],
                            "clbits": [cmap[ci.clbits[0]]],
                        }
                    )
                elif name in aliases:  # u1, u2, u3, cu1, cu3: common in older circuits
                    params = [
                        p if type(p) is float and p - p == 0.0 else to_expr(p, f"{name} parameter")
                        for p in ci.params
                    ]
                    op_name, op_params = aliases[name](params)
                    qubits = _indices(ci.qubits, qmap)
                    append({"op": op_name, "qubits": qubits, "params": op_params})
                else:
                    self.special(ci, name, qmap, cmap, out=out, where=f"{prefix}{index}")
        except QRelayError as exc:
            if isinstance(exc, ConversionError) and str(exc).startswith("instruction "):
                raise
            if isinstance(exc, PayloadError) and exc.location == ("instructions",):
                raise  # a budget's limit is the program's, not this instruction's
            raise ConversionError(f"instruction {prefix}{index} ({name}): {exc}") from exc
        return out

    def special(
        self,
        ci: CircuitInstruction,
        name: str,
        qmap: Mapping[Qubit, int],
        cmap: Mapping[Clbit, int],
        *,
        out: list[Instruction],
        where: str,
    ) -> None:
        qubits = [qmap[q] for q in ci.qubits]
        if name == "reset":
            out.append({"op": "reset", "qubits": qubits})
        elif name == "barrier":
            if qubits:
                inst: Instruction = {"op": "barrier", "qubits": qubits}
                if ci.label is not None:
                    inst["label"] = ci.label
                out.append(inst)
        elif name == "delay":
            op = ci.operation
            duration = op.params[0]
            if not isinstance(duration, int | float | np.number):
                raise ConversionError(
                    f"instruction {where} (delay): duration {duration!r} is not a number"
                )
            out.extend(
                {"op": "delay", "qubits": [q], "params": [float(duration)], "unit": op.unit}
                for q in qubits
            )
        elif name == "global_phase":
            self.extra_phase = pexpr.add(self.extra_phase, to_expr(ci.params[0], "global_phase"))
        elif name == "if_else" and _condition_of(ci.operation) is not None:
            out.append(self.if_else(ci, qmap, cmap, where))
        elif name in CONTROL_NAMES:
            out.append(read_control(self, ci, qmap, cmap, where))
        elif name == "fsim" and len(qubits) == 2 and len(ci.params) == 2:
            params = [to_expr(p, "fsim parameter") for p in ci.params]
            out.append({"op": "fsim", "qubits": qubits, "params": params})
        elif name == "unitary" and not ci.clbits:
            out.append(
                {
                    "op": "unitary",
                    "qubits": qubits,
                    "matrix": matrix_to_wire(ci.operation.to_matrix()),
                }
            )
        elif ci.is_control_flow():
            raise ConversionError(
                f"instruction {where} ({name}): this control flow has no payload form"
            )
        else:
            self.decompose(ci, name, qmap, cmap, out=out, where=where)

    def if_else(
        self,
        ci: CircuitInstruction,
        qmap: Mapping[Qubit, int],
        cmap: Mapping[Clbit, int],
        where: str,
    ) -> Instruction:
        op = ci.operation
        found = _condition_of(op)
        assert found is not None  # :meth:`special` sends other conditions elsewhere
        target, value, negated = found
        condition: Condition
        if isinstance(target, Clbit):
            condition = {"clbit": cmap[target], "value": int(value)}
        else:
            if target.name not in self.payload_registers:
                raise ConversionError(
                    f"instruction {where} (if_else): condition register {target.name!r} "
                    "shares or reorders clbits and cannot be addressed in the payload"
                )
            condition = {"register": target.name, "value": int(value)}
        true_body = op.blocks[0]
        false_body = op.blocks[1] if len(op.blocks) > 1 else None
        inst: Instruction = {"op": "if", "qubits": [], "condition": condition}
        if self.budget is not None:
            self.budget.spend(
                len(true_body.data) + (0 if false_body is None else len(false_body.data))
            )
        inner_q = dict(zip(true_body.qubits, (qmap[q] for q in ci.qubits), strict=True))
        inner_c = dict(zip(true_body.clbits, (cmap[c] for c in ci.clbits), strict=True))
        body = self.block(true_body.data, inner_q, inner_c, f"{where}.body.")
        else_body: list[Instruction] | None = None
        if false_body is not None:
            inner_q = dict(zip(false_body.qubits, (qmap[q] for q in ci.qubits), strict=True))
            inner_c = dict(zip(false_body.clbits, (cmap[c] for c in ci.clbits), strict=True))
            else_body = self.block(false_body.data, inner_q, inner_c, f"{where}.else_body.")
        if negated:  # "x != v": run the true block in the payload's else branch
            body, else_body = else_body or [], body
        inst["body"] = body
        if else_body is not None:
            inst["else_body"] = else_body
        return inst

    def decompose(
        self,
        ci: CircuitInstruction,
        name: str,
        qmap: Mapping[Qubit, int],
        cmap: Mapping[Clbit, int],
        *,
        out: list[Instruction],
        where: str,
    ) -> None:
        op = ci.operation
        definition = getattr(op, "definition", None)
        if definition is not None:
            inner_q = dict(zip(definition.qubits, (qmap[q] for q in ci.qubits), strict=True))
            inner_c = dict(zip(definition.clbits, (cmap[c] for c in ci.clbits), strict=True))
            if self.budget is not None:
                # the call was counted as one: its definition's instructions replace it
                self.budget.spend(len(definition.data) - 1)
            out.extend(self.block(definition.data, inner_q, inner_c, f"{where}.{name}."))
            self.extra_phase = pexpr.add(
                self.extra_phase, to_expr(definition.global_phase, "global_phase")
            )
            return
        if not ci.clbits and not ci.is_parameterized() and hasattr(op, "to_matrix"):
            try:
                matrix = op.to_matrix()
            except Exception as exc:
                raise ConversionError(
                    f"instruction {where} ({name}): opaque gate without a matrix"
                ) from exc
            out.append(
                {
                    "op": "unitary",
                    "qubits": [qmap[q] for q in ci.qubits],
                    "matrix": matrix_to_wire(matrix),
                }
            )
            return
        raise ConversionError(
            f"instruction {where} ({name}): no payload op, no definition and no matrix"
        )


#: Instructions read as one payload instruction each (delays: one per qubit).
_DIRECT: Final = frozenset(
    {"measure", "reset", "barrier", "delay", "global_phase", "fsim", "unitary"}
).union(CONTROL_NAMES)


def expanded_count(qc: QuantumCircuit, limit: int, *, max_depth: int = 64) -> int:
    """How many payload instructions ``qc`` becomes, counted without expanding anything.

    Each gate definition is sized once (by name and width) and its size reused wherever
    it is called, so nested definitions that double at every level are counted in a time
    that follows the program's length, not its expansion. Counting stops once it passes
    ``limit`` (the answer is then some number over it). Definitions nested deeper than
    ``max_depth`` raise :class:`PayloadError`. The count can differ from the converted
    circuit's by the few instructions that become none (a global phase, an empty barrier);
    :func:`from_qiskit`'s ``budget`` counts exactly.
    """
    direct = _DIRECT.union(gate_params(), ALIASES)
    sizes: dict[tuple[str, int, int], int] = {}

    def size_of(data: Iterable[CircuitInstruction], depth: int) -> int:
        if depth > max_depth:
            raise PayloadError(
                f"instructions: gate definitions nest deeper than {max_depth} levels",
                location=("instructions",),
            )
        total = 0
        for ci in data:
            name = ci.name
            if name in direct:
                total += 1
                if name in CONTROL_NAMES:
                    op = ci.operation
                    times = len(op.params[0]) if name == "for_loop" else 1
                    # break, continue and store are control ops without blocks
                    blocks = getattr(op, "blocks", ())
                    total += times * sum(size_of(block.data, depth + 1) for block in blocks)
            else:
                op = ci.operation
                key = (name, op.num_qubits, op.num_clbits)
                size = sizes.get(key)
                if size is None:
                    definition = getattr(op, "definition", None)
                    size = 1 if definition is None else size_of(definition.data, depth + 1)
                    sizes[key] = size
                total += size
            if total > limit:
                break
        return total

    if len(qc.data) > limit:
        return len(qc.data)
    ops = qc.count_ops()
    if direct.issuperset(ops) and CONTROL_NAMES.isdisjoint(ops):
        return len(qc.data)
    return size_of(qc.data, 0)


def _condition_of(op: IfElseOp) -> tuple[Any, int, bool] | None:
    """``(clbit or register, value, negated)`` of an ``if_else`` condition, or ``None``.

    Besides the classic ``(bit_or_register, value)`` tuple, the simple classical
    expressions Qiskit builds for the same tests are read: ``bit``, ``!bit``,
    ``register == value`` and ``register != value``. These stay payload.v1's
    ``condition``; any other expression is read as a payload.v2 ``test``
    (:mod:`qrelay_qiskit.convert_control`).
    """
    condition = op.condition
    if isinstance(condition, tuple) and len(condition) == 2:
        return condition[0], int(condition[1]), False
    from qiskit.circuit.classical import expr

    if isinstance(condition, expr.Var) and isinstance(condition.var, Clbit):
        return condition.var, 1, False
    if (
        isinstance(condition, expr.Unary)
        and condition.op is expr.Unary.Op.LOGIC_NOT
        and isinstance(condition.operand, expr.Var)
        and isinstance(condition.operand.var, Clbit)
    ):
        return condition.operand.var, 0, False
    if isinstance(condition, expr.Binary) and condition.op in (
        expr.Binary.Op.EQUAL,
        expr.Binary.Op.NOT_EQUAL,
    ):
        left, right = condition.left, condition.right
        if isinstance(left, expr.Value):
            left, right = right, left
        while isinstance(left, expr.Cast):
            left = left.operand
        if (
            isinstance(left, expr.Var)
            and isinstance(left.var, Clbit | ClassicalRegister)
            and isinstance(right, expr.Value)
            and isinstance(right.value, bool | int)
        ):
            return left.var, int(right.value), condition.op is expr.Binary.Op.NOT_EQUAL
    return None
