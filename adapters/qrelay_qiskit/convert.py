"""Qiskit ``QuantumCircuit`` to payload ``Circuit`` and back.

The payload addresses classical bits by one global index over its registers; Qiskit by
the position of a ``Clbit`` in ``QuantumCircuit.clbits`` (its memory slot). The converter
keeps the two equal, so a measurement lands in the same memory slot after a round trip.
When Qiskit's registers do not simply tile the clbits in order (loose clbits, registers
sharing bits, out-of-order bits), the payload gets registers that do tile them and the
real Qiskit registers are recorded in ``metadata["qiskit.cregs"]`` (and likewise
``"qiskit.qregs"`` for qubits) so :func:`to_qiskit` rebuilds them exactly.

Gates are dispatched by name through tables built once from ``qrelay.payload.ops.OPS``
and Qiskit's standard-gate mapping; payload to Qiskit uses the Rust-side standard-gate
fast path, which keeps both directions to a few microseconds per instruction.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Final

import numpy as np
from qiskit.circuit import (
    Barrier,
    CircuitInstruction,
    ClassicalRegister,
    Clbit,
    Delay,
    IfElseOp,
    Measure,
    ParameterExpression,
    ParameterVectorElement,
    QuantumCircuit,
    QuantumRegister,
    Qubit,
    Reset,
)
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping

from qrelay.errors import ConversionError, PayloadError, QRelayError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import (
    Circuit,
    Condition,
    Instruction,
    Register,
    matrix_from_wire,
    matrix_to_wire,
)
from qrelay.payload.expressions import Expr
from qrelay.payload.limits import InstructionBudget
from qrelay.payload.ops import OPS, OpKind
from qrelay.payload.parsing import parse
from qrelay_qiskit.expressions import SymbolTable, from_expr, to_expr
from qrelay_qiskit.gates import FSimGate

__all__ = ["expanded_count", "from_qiskit", "to_qiskit"]

log = logging.getLogger(__name__)

#: Metadata keys this adapter writes (and strips again on the way back).
META_PREFIX: Final = "qiskit."
META_CREGS: Final = "qiskit.cregs"
META_QREGS: Final = "qiskit.qregs"
META_VECTORS: Final = "qiskit.parameter_vectors"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\[\].:\-]*$")

#: Qiskit gates with no op of their own but a direct op equivalent: name -> (op, params).
_ALIASES: Final[Mapping[str, Callable[[list[Expr]], tuple[str, list[Expr]]]]] = {
    "u1": lambda p: ("p", p),
    "u3": lambda p: ("u", p),
    "u2": lambda p: ("u", [math.pi / 2, p[0], p[1]]),
    "cu1": lambda p: ("cp", p),
    "cu3": lambda p: ("cu", [*p, 0.0]),
}


@cache
def _standard_gates() -> dict[str, Any]:
    """Payload gate op -> Qiskit ``StandardGate`` (the Rust fast path), where one exists."""
    mapping = get_standard_gate_name_mapping()
    table: dict[str, Any] = {}
    for name, spec in OPS.items():
        if spec.kind is OpKind.GATE and name in mapping:
            std = getattr(mapping[name], "_standard_gate", None)
            if std is not None:
                table[name] = std
    return table


@cache
def _gate_params() -> dict[str, int]:
    """Gate op -> its number of parameters (Qiskit names these gates the same way)."""
    return {name: spec.num_params for name, spec in OPS.items() if spec.kind is OpKind.GATE}


# ------------------------------------------------------------------ Qiskit -> payload


def from_qiskit(
    qc: QuantumCircuit, *, validate: bool = True, budget: InstructionBudget | None = None
) -> Circuit:
    """The payload circuit of ``qc``: gates, measurements, registers, parameters, phase.

    Gates without an op are decomposed through their Qiskit definitions; a parameter-free
    opaque gate becomes a ``unitary``. Raises :class:`ConversionError` naming the
    instruction index and name of what cannot be converted. Instruction labels are not
    carried (reading them costs as much as the rest of the conversion).

    ``validate=False`` skips the payload's own validation pass (about half the cost): the
    converter builds a valid circuit by construction, and whoever parses it from JSON
    (service, worker) validates it again. Use it on hot paths that serialise at once.

    ``budget`` counts the instructions as gate definitions are expanded and stops the
    conversion (a :class:`PayloadError` naming the limit) as soon as they pass it, so a
    circuit of nested definitions cannot grow without bound (see :func:`expanded_count`
    for the count made before expanding anything).
    """
    if not isinstance(qc, QuantumCircuit):
        raise ConversionError(f"expected a qiskit QuantumCircuit, got {type(qc).__name__}")
    if budget is not None:
        budget.spend(len(qc.data))
    metadata: dict[str, Any] = _user_metadata(qc.metadata)
    qubit_registers = _qubit_layout(qc, metadata)
    registers = _classical_layout(qc, metadata)
    vectors: dict[str, int] = {}
    names: list[str] = []
    for param in qc.parameters:
        names.append(param.name)
        if isinstance(param, ParameterVectorElement):
            vectors[param.vector.name] = len(param.vector)
    if vectors:
        metadata[META_VECTORS] = vectors
    reader = _Reader(qc, {reg.name for reg in registers}, budget)
    instructions = reader.block(
        qc.data,
        {bit: i for i, bit in enumerate(qc.qubits)},
        reader.clbit_index,
        "",
        by_index=_single_register(qc),
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
    if not validate:
        return Circuit.model_construct(**fields)
    try:
        return parse(Circuit, fields)
    except PayloadError as exc:
        raise ConversionError(f"circuit {qc.name!r} does not make a valid payload: {exc}") from exc


def _single_register(qc: QuantumCircuit) -> bool:
    """True when one quantum register owns every qubit in order (so ``bit._index`` is its
    position in the circuit, which saves a dict lookup per qubit on the hot path)."""
    if len(qc.qregs) != 1 or len(qc.qregs[0]) != qc.num_qubits:
        return False
    register = qc.qregs[0]
    return all(
        getattr(bit, "_index", None) == i and getattr(bit, "_register", None) == register
        for i, bit in enumerate(qc.qubits)
    )


def _user_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON-able part of a circuit's metadata; other entries are logged and dropped."""
    kept: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or key.startswith(META_PREFIX):
            log.warning("circuit metadata key %r is reserved or not a string; dropped", key)
            continue
        try:
            kept[key] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            log.warning("circuit metadata %r is not JSON-able; dropped from the payload", key)
    return kept


def _tiles(bits: Sequence[Any], regs: Sequence[Any], index: Mapping[Any, int]) -> bool:
    """True when ``regs`` hold every bit exactly once, in order, under valid names."""
    pos = 0
    for reg in regs:
        if not _NAME.match(reg.name):
            return False
        for j, bit in enumerate(reg):
            if index[bit] != pos + j:
                return False
        pos += len(reg)
    return pos == len(bits)


def _qubit_layout(qc: QuantumCircuit, metadata: dict[str, Any]) -> list[Register] | None:
    index = {bit: i for i, bit in enumerate(qc.qubits)}
    if qc.qregs and _tiles(qc.qubits, qc.qregs, index):
        return [Register(name=reg.name, size=len(reg)) for reg in qc.qregs]
    metadata[META_QREGS] = [[reg.name, [index[b] for b in reg]] for reg in qc.qregs]
    return None


def _classical_layout(qc: QuantumCircuit, metadata: dict[str, Any]) -> list[Register]:
    """Payload registers tiling the clbits in Qiskit's order (memory slot = global clbit)."""
    clbits = qc.clbits
    index = {bit: i for i, bit in enumerate(clbits)}
    cregs = qc.cregs
    if _tiles(clbits, cregs, index):
        return [Register(name=reg.name, size=len(reg)) for reg in cregs]
    metadata[META_CREGS] = [[reg.name, [index[b] for b in reg]] for reg in cregs]
    starts: dict[int, Any] = {}
    taken: set[int] = set()
    used_names: set[str] = set()
    for reg in cregs:
        if not len(reg) or not _NAME.match(reg.name) or reg.name in used_names:
            continue
        first = index[reg[0]]
        span = range(first, first + len(reg))
        if any(index[bit] != first + j for j, bit in enumerate(reg)) or taken.intersection(span):
            continue
        starts[first] = reg
        taken.update(span)
        used_names.add(reg.name)
    registers: list[Register] = []
    i = 0
    while i < len(clbits):
        reg = starts.get(i)
        if reg is not None:
            registers.append(Register(name=reg.name, size=len(reg)))
            i += len(reg)
            continue
        j = i
        while j < len(clbits) and j not in starts:
            j += 1
        name = f"_clbits{i}"
        while name in used_names:
            name = "_" + name
        used_names.add(name)
        registers.append(Register(name=name, size=j - i))
        i = j
    return registers


def _indices(qs: tuple[Qubit, ...], qmap: Mapping[Qubit, int], by_index: bool) -> list[int]:
    """The payload indices of an instruction's qubits.

    With ``by_index`` (one register holds every qubit in order) a qubit's ``_index`` is its
    position, read without hashing the qubit. Unpacking beats a comprehension for the
    one- to three-qubit gates that make up nearly every circuit.
    """
    n = len(qs)
    if by_index:
        if n == 1:
            return [qs[0]._index]
        if n == 2:
            a, b = qs
            return [a._index, b._index]
        if n == 3:
            a, b, c = qs
            return [a._index, b._index, c._index]
        return [q._index for q in qs]
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
        self.gate_params = _gate_params()
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
        *,
        by_index: bool = False,
    ) -> list[Instruction]:
        out: list[Instruction] = []
        append = out.append
        gate_params = self.gate_params
        aliases = _ALIASES
        index = 0
        name = ""
        try:
            for index, ci in enumerate(data):
                name = ci.name
                num_params = gate_params.get(name)
                if num_params is not None:
                    qs = ci.qubits
                    if not by_index:
                        qubits = _indices(qs, qmap, by_index)
                    elif len(qs) == 1:  # inlined from _indices: most gates take this path
                        qubits = [qs[0]._index]
                    elif len(qs) == 2:
                        a, b = qs
                        qubits = [a._index, b._index]
                    elif len(qs) == 3:
                        a, b, c = qs
                        qubits = [a._index, b._index, c._index]
                    elif len(qs) == 4:  # c3sx, rcccx, c3x: a quarter of a random circuit
                        a, b, c, d = qs
                        qubits = [a._index, b._index, c._index, d._index]
                    else:
                        qubits = [q._index for q in qs]
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
                    qubits = _indices(ci.qubits, qmap, by_index)
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
        elif name == "if_else":
            out.append(self.if_else(ci, qmap, cmap, where))
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
                f"instruction {where} ({name}): control flow other than if_else is not "
                "supported by payload.v1"
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
        target, value, negated = _condition_of(op, where)
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
    {"measure", "reset", "barrier", "delay", "global_phase", "fsim", "unitary", "if_else"}
)


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
    direct = _DIRECT.union(_gate_params(), _ALIASES)
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
                if name == "if_else":
                    total += sum(size_of(block.data, depth + 1) for block in ci.operation.blocks)
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
    if direct.issuperset(ops) and "if_else" not in ops:
        return len(qc.data)
    return size_of(qc.data, 0)


def _condition_of(op: IfElseOp, where: str) -> tuple[Any, int, bool]:
    """``(clbit or register, value, negated)`` of an ``if_else`` condition.

    Besides the classic ``(bit_or_register, value)`` tuple, the simple classical
    expressions Qiskit builds for the same tests are read: ``bit``, ``!bit``,
    ``register == value`` and ``register != value``.
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
    raise ConversionError(
        f"instruction {where} (if_else): only a condition on a clbit or a register value is "
        f"supported, not {condition!r}"
    )


# ------------------------------------------------------------------ payload -> Qiskit


def to_qiskit(
    circuit: Circuit, *, bindings_row: Mapping[str, float] | None = None
) -> QuantumCircuit:
    """The Qiskit circuit of a payload circuit, registers, memory slots and names restored.

    With ``bindings_row`` every parameter is replaced by its value (the circuit comes back
    bound); without it, symbols become ``Parameter`` / ``ParameterVector`` elements with
    their payload names.
    """
    metadata = circuit.metadata
    qc = QuantumCircuit(name=circuit.name or None)
    _add_qubits(qc, circuit, metadata.get(META_QREGS))
    _add_clbits(qc, circuit, metadata.get(META_CREGS))
    vector_lengths = metadata.get(META_VECTORS)
    table = SymbolTable(
        list(circuit.parameters),
        vector_lengths if isinstance(vector_lengths, dict) else None,  # type: ignore[arg-type]
    )
    writer = _Writer(qc, circuit, table, bindings_row)
    writer.block(qc, circuit.instructions, writer.qubits, list(qc.clbits), "")
    qc.global_phase = writer.value(circuit.global_phase, "global_phase")
    user = {k: v for k, v in metadata.items() if not k.startswith(META_PREFIX)}
    qc.metadata = user
    return qc


def _add_qubits(qc: QuantumCircuit, circuit: Circuit, qregs: Any) -> None:
    if circuit.qubit_registers is not None:
        for reg in circuit.qubit_registers:
            qc.add_register(QuantumRegister(reg.size, reg.name))
        return
    if qregs is not None:
        bits = [Qubit() for _ in range(circuit.num_qubits)]
        qc.add_bits(bits)
        for name, indices in _bit_groups(qregs, circuit.num_qubits, META_QREGS):
            qc.add_register(QuantumRegister(name=name, bits=[bits[i] for i in indices]))
        return
    if circuit.num_qubits:
        qc.add_register(QuantumRegister(circuit.num_qubits, "q"))


def _add_clbits(qc: QuantumCircuit, circuit: Circuit, cregs: Any) -> None:
    if cregs is None:
        for reg in circuit.registers:
            qc.add_register(ClassicalRegister(reg.size, reg.name))
        return
    bits = [Clbit() for _ in range(circuit.num_clbits)]
    qc.add_bits(bits)
    for name, indices in _bit_groups(cregs, circuit.num_clbits, META_CREGS):
        qc.add_register(ClassicalRegister(name=name, bits=[bits[i] for i in indices]))


def _bit_groups(value: Any, width: int, key: str) -> list[tuple[str, list[int]]]:
    groups: list[tuple[str, list[int]]] = []
    if not isinstance(value, list):
        raise ConversionError(f"metadata[{key!r}] must be a list of [name, [bit, ...]]")
    for entry in value:
        ok = (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], list)
            and all(type(i) is int and 0 <= i < width for i in entry[1])
        )
        if not ok:
            raise ConversionError(
                f"metadata[{key!r}]: entry {entry!r} is not [name, [bit index < {width}, ...]]"
            )
        groups.append((entry[0], entry[1]))
    return groups


_MEASURE: Final = Measure()
_RESET: Final = Reset()


class _Writer:
    """Emits payload instructions into Qiskit circuits (the top level and ``if`` bodies)."""

    def __init__(
        self,
        qc: QuantumCircuit,
        circuit: Circuit,
        table: SymbolTable,
        bindings: Mapping[str, float] | None,
    ) -> None:
        self.table = table
        self.bindings = bindings
        self.standard = _standard_gates()
        self.cregs = {reg.name: reg for reg in qc.cregs}
        self.offsets = circuit.register_offsets()
        #: True when the circuit declares no symbols, so every parameter is a number
        #: (validation refuses undeclared symbols).
        self.numeric = not circuit.parameters
        self.qubits: list[Qubit] = list(qc.qubits)
        self.singles: list[tuple[Qubit]] = [(q,) for q in self.qubits]

    def value(self, expr: Expr, where: str) -> float | ParameterExpression:
        if type(expr) is float:
            return expr
        if self.bindings is not None:
            try:
                return pexpr.evaluate(expr, self.bindings)
            except PayloadError as exc:
                raise ConversionError(f"{where}: {exc}") from exc
        return from_expr(expr, self.table)

    def block(
        self,
        qc: QuantumCircuit,
        instructions: Sequence[Instruction],
        qubits: Sequence[Qubit],
        clbits: Sequence[Clbit],
        prefix: str,
    ) -> None:
        standard = self.standard
        # Instructions built here are complete and in range (the payload was validated),
        # so they go straight into the circuit's data, skipping ``append``'s checks. They
        # are collected and added by one ``extend`` per run of plain instructions (cheaper
        # than an ``append`` each); ``pending`` is flushed before an op ``special`` appends.
        pending: list[CircuitInstruction] = []
        data_append = pending.append
        extend = qc._data.extend
        from_standard = CircuitInstruction.from_standard
        value = self.value
        numeric = self.numeric
        # One-qubit argument tuples, built once: most gates of a circuit take one.
        singles = self.singles if qubits is self.qubits else [(q,) for q in qubits]
        index = 0
        op = ""
        try:
            for index, inst in enumerate(instructions):
                op = inst["op"]
                std = standard.get(op)
                if std is not None:
                    qs = inst["qubits"]
                    if len(qs) == 1:
                        qargs: tuple[Qubit, ...] = singles[qs[0]]
                    elif len(qs) == 2:
                        a, b = qs
                        qargs = (qubits[a], qubits[b])
                    elif len(qs) == 3:
                        a, b, c = qs
                        qargs = (qubits[a], qubits[b], qubits[c])
                    elif len(qs) == 4:
                        a, b, c, d = qs
                        qargs = (qubits[a], qubits[b], qubits[c], qubits[d])
                    else:
                        qargs = tuple([qubits[q] for q in qs])
                    if len(inst) == 2:  # "op" and "qubits" only: no parameters, no label
                        data_append(from_standard(std, qargs, ()))
                        continue
                    params = inst.get("params")
                    if not params:
                        values: Sequence[Any] = ()
                    elif numeric:  # no symbols anywhere: the numbers go in as they are
                        values = params
                    else:
                        values = [p if type(p) is float else value(p, op) for p in params]
                    if "label" in inst:
                        data_append(from_standard(std, qargs, values, label=inst["label"]))
                    else:
                        data_append(from_standard(std, qargs, values))
                elif op == "measure":
                    data_append(
                        CircuitInstruction(
                            _MEASURE, (qubits[inst["qubits"][0]],), (clbits[inst["clbits"][0]],)
                        )
                    )
                else:
                    if pending:
                        extend(pending)
                        pending.clear()
                    self.special(qc, inst, op, qubits, clbits, where=f"{prefix}{index}")
        except (IndexError, KeyError, TypeError) as exc:
            raise ConversionError(
                f"instruction {prefix}{index} ({op}): bad qubit, clbit or field ({exc!r})"
            ) from exc
        extend(pending)
        qc._duration = None
        qc._unit = "dt"

    def special(
        self,
        qc: QuantumCircuit,
        inst: Instruction,
        op: str,
        qubits: Sequence[Qubit],
        clbits: Sequence[Clbit],
        *,
        where: str,
    ) -> None:
        qargs = tuple(qubits[q] for q in inst["qubits"])
        if op == "reset":
            qc._append(CircuitInstruction(_RESET, qargs, ()))
        elif op == "barrier":
            qc._append(CircuitInstruction(Barrier(len(qargs), label=inst.get("label")), qargs, ()))
        elif op == "delay":
            duration = self.value(inst["params"][0], where)
            unit = inst.get("unit", "dt")
            if unit == "dt" and isinstance(duration, float) and duration.is_integer():
                duration = int(duration)
            qc._append(CircuitInstruction(Delay(duration, unit), qargs, ()))
        elif op == "unitary":
            gate = UnitaryGate(matrix_from_wire(inst["matrix"]), check_input=False)
            qc._append(CircuitInstruction(gate, qargs, ()))
        elif op == "fsim":
            theta, phi = (self.value(p, where) for p in inst["params"])
            qc._append(CircuitInstruction(FSimGate(theta, phi, label=inst.get("label")), qargs, ()))
        elif op == "if":
            self.if_op(qc, inst, qubits, clbits, where)
        else:
            raise ConversionError(f"instruction {where} ({op}): no Qiskit equivalent")

    def if_op(
        self,
        qc: QuantumCircuit,
        inst: Instruction,
        qubits: Sequence[Qubit],
        clbits: Sequence[Clbit],
        where: str,
    ) -> None:
        cond = inst["condition"]
        cond_bits: list[int]
        target: Any
        if "clbit" in cond:
            target = clbits[cond["clbit"]]
            cond_bits = [cond["clbit"]]
        else:
            name = cond["register"]
            start, size = self._register_span(name)
            cond_bits = list(range(start, start + size))
            target = self.cregs.get(name)
            if target is None or [clbits[i] for i in cond_bits] != list(target):
                target = ClassicalRegister(name=name, bits=[clbits[i] for i in cond_bits])
        body = inst.get("body", [])
        else_body = inst.get("else_body")
        used_q: set[int] = set()
        used_c: set[int] = set(cond_bits)
        for sub in _walk(body, else_body or []):
            used_q.update(sub["qubits"])
            used_c.update(sub.get("clbits", ()))
            sub_cond = sub.get("condition")
            if sub_cond is not None:
                if "clbit" in sub_cond:
                    used_c.add(sub_cond["clbit"])
                else:
                    s, n = self._register_span(sub_cond["register"])
                    used_c.update(range(s, s + n))
        qlist = [qubits[i] for i in sorted(used_q)]
        clist = [clbits[i] for i in sorted(used_c)]
        true_qc = QuantumCircuit(qlist, clist)
        self.block(true_qc, body, qubits, clbits, f"{where}.body.")
        false_qc = None
        if else_body is not None:
            false_qc = QuantumCircuit(qlist, clist)
            self.block(false_qc, else_body, qubits, clbits, f"{where}.else_body.")
        if_op = IfElseOp((target, cond["value"]), true_qc, false_qc, label=inst.get("label"))
        qc._append(CircuitInstruction(if_op, tuple(qlist), tuple(clist)))

    def _register_span(self, name: str) -> tuple[int, int]:
        try:
            return self.offsets[name]
        except KeyError:
            raise ConversionError(f"condition reads unknown register {name!r}") from None


def _walk(*blocks: Sequence[Instruction]) -> Iterable[Instruction]:
    for block in blocks:
        for inst in block:
            yield inst
            if inst["op"] == "if":
                yield from _walk(inst.get("body", []), inst.get("else_body", []))
