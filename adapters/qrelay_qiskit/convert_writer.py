"""Payload ``Circuit`` to Qiskit ``QuantumCircuit``: :func:`to_qiskit` and its helpers.

Registers, memory slots and names are restored, including the Qiskit registers recorded
in ``metadata["qiskit.cregs"]`` / ``"qiskit.qregs"`` by
:func:`~qrelay_qiskit.convert_reader.from_qiskit`. Gates with a Qiskit standard gate
are copied from a template instruction of that gate with ``CircuitInstruction.replace``
(tables in :mod:`qrelay_qiskit.convert_common`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from qiskit.circuit import (
    Barrier,
    CircuitInstruction,
    ClassicalRegister,
    Clbit,
    Delay,
    Gate,
    IfElseOp,
    Measure,
    ParameterExpression,
    QuantumCircuit,
    Qubit,
    Reset,
)
from qiskit.circuit.library import UnitaryGate

from qrelay.errors import ConversionError, PayloadError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import Circuit, Instruction, matrix_from_wire
from qrelay.payload.expressions import Expr
from qrelay_qiskit.convert_common import (
    META_CREGS,
    META_PREFIX,
    META_QREGS,
    META_VECTORS,
    gate_templates,
    standard_gates,
)
from qrelay_qiskit.convert_control import ControlWriter, needs_builder
from qrelay_qiskit.convert_registers import add_clbits, add_qubits
from qrelay_qiskit.expressions import SymbolTable, from_expr
from qrelay_qiskit.gates import FSimGate

__all__ = ["to_qiskit"]


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
    add_qubits(qc, circuit, metadata.get(META_QREGS))
    add_clbits(qc, circuit, metadata.get(META_CREGS))
    vector_lengths = metadata.get(META_VECTORS)
    table = SymbolTable(
        list(circuit.parameters),
        vector_lengths if isinstance(vector_lengths, dict) else None,  # type: ignore[arg-type]
    )
    writer = _Writer(qc, circuit, table, bindings_row)
    if needs_builder(circuit):
        return _dynamic(writer, qc, circuit)
    items = writer.block(circuit.instructions, writer.qubits, list(qc.clbits), "")
    # ``from_instructions`` is Qiskit's public way to build a circuit from instructions
    # that are already complete (no checks per instruction); the registers made above
    # then join it, over the bits they already hold.
    out = QuantumCircuit.from_instructions(
        items,
        qubits=qc.qubits,
        clbits=qc.clbits,
        name=qc.name,
        global_phase=writer.value(circuit.global_phase, "global_phase"),
        metadata={k: v for k, v in metadata.items() if not k.startswith(META_PREFIX)},
    )
    out.add_register(*qc.qregs, *qc.cregs)
    return out


def _dynamic(writer: _Writer, qc: QuantumCircuit, circuit: Circuit) -> QuantumCircuit:
    """A circuit with payload.v2 blocks, built through Qiskit's control-flow builder."""
    # a ``for`` loop's parameter is a symbol the payload does not declare
    writer.numeric = False
    ControlWriter(writer, qc, circuit).emit(circuit.instructions, "")
    qc.global_phase = writer.value(circuit.global_phase, "global_phase")
    qc.metadata = {k: v for k, v in circuit.metadata.items() if not k.startswith(META_PREFIX)}
    return qc


_MEASURE: Final = Measure()
_RESET: Final = Reset()
#: A measure instruction whose copies (``replace``) name each measure's qubit and clbit.
_MEASURE_AT: Final = CircuitInstruction(_MEASURE)


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
        self.standard = standard_gates()
        self.templates = gate_templates()
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
        instructions: Sequence[Instruction],
        qubits: Sequence[Qubit],
        clbits: Sequence[Clbit],
        prefix: str,
    ) -> list[CircuitInstruction]:
        """The Qiskit instructions of ``instructions``, in order.

        Kept as one loop, longer than most functions here: it runs once per instruction
        of every converted circuit, so standard gates and measures are built in line
        rather than through calls (a standard gate is a copy of its template, see
        :func:`~qrelay_qiskit.convert_common.gate_templates`; one with a label, or without
        a template, is built from its gate class); everything else goes to
        :meth:`special`. The instructions are complete and in range (the payload was
        validated), so the caller builds its circuit from them with
        ``QuantumCircuit.from_instructions``.
        """
        standard = self.standard
        templates = self.templates
        pending: list[CircuitInstruction] = []
        data_append = pending.append
        value = self.value
        numeric = self.numeric
        # One-qubit argument tuples, built once: most gates of a circuit take one.
        singles = self.singles if qubits is self.qubits else [(q,) for q in qubits]
        index = 0
        op = ""
        try:
            for index, inst in enumerate(instructions):
                op = inst["op"]
                gate = standard.get(op)
                if gate is not None:
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
                    template = templates.get(op)
                    if template is None or "label" in inst:
                        data_append(self.gate_object(inst, op, gate, qargs))
                        continue
                    params = inst.get("params")
                    if not params:
                        data_append(template.replace(qubits=qargs))
                    elif numeric:  # no symbols anywhere: the numbers go in as they are
                        data_append(template.replace(qubits=qargs, params=params))
                    else:
                        values = [p if type(p) is float else value(p, op) for p in params]
                        data_append(template.replace(qubits=qargs, params=values))
                elif op == "measure":
                    data_append(
                        _MEASURE_AT.replace(
                            qubits=(qubits[inst["qubits"][0]],), clbits=(clbits[inst["clbits"][0]],)
                        )
                    )
                else:
                    data_append(self.special(inst, op, qubits, clbits, where=f"{prefix}{index}"))
        except (IndexError, KeyError, TypeError) as exc:
            raise ConversionError(
                f"instruction {prefix}{index} ({op}): bad qubit, clbit or field ({exc!r})"
            ) from exc
        return pending

    def gate_object(
        self, inst: Instruction, op: str, gate: type[Gate], qargs: tuple[Qubit, ...]
    ) -> CircuitInstruction:
        """A standard gate built from its class: one with a label, or one with no template."""
        values = [self.value(p, op) for p in inst.get("params", ())]
        if "label" in inst:
            return CircuitInstruction(gate(*values, label=inst["label"]), qargs, ())
        return CircuitInstruction(gate(*values), qargs, ())

    def special(
        self,
        inst: Instruction,
        op: str,
        qubits: Sequence[Qubit],
        clbits: Sequence[Clbit],
        *,
        where: str,
    ) -> CircuitInstruction:
        """The Qiskit instruction of an op without a standard gate (reset, barrier, ...)."""
        qargs = tuple(qubits[q] for q in inst["qubits"])
        if op == "reset":
            return CircuitInstruction(_RESET, qargs, ())
        if op == "barrier":
            return CircuitInstruction(Barrier(len(qargs), label=inst.get("label")), qargs, ())
        if op == "delay":
            duration = self.value(inst["params"][0], where)
            unit = inst.get("unit", "dt")
            if unit == "dt" and isinstance(duration, float) and duration.is_integer():
                duration = int(duration)
            return CircuitInstruction(Delay(duration, unit), qargs, ())
        if op == "unitary":
            gate = UnitaryGate(matrix_from_wire(inst["matrix"]), check_input=False)
            return CircuitInstruction(gate, qargs, ())
        if op == "fsim":
            theta, phi = (self.value(p, where) for p in inst["params"])
            return CircuitInstruction(FSimGate(theta, phi, label=inst.get("label")), qargs, ())
        if op == "if":
            return self.if_op(inst, qubits, clbits, where)
        raise ConversionError(f"instruction {where} ({op}): no Qiskit equivalent")

    def if_op(
        self,
        inst: Instruction,
        qubits: Sequence[Qubit],
        clbits: Sequence[Clbit],
        where: str,
    ) -> CircuitInstruction:
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
        true_qc = QuantumCircuit.from_instructions(
            self.block(body, qubits, clbits, f"{where}.body."), qubits=qlist, clbits=clist
        )
        false_qc = None
        if else_body is not None:
            false_qc = QuantumCircuit.from_instructions(
                self.block(else_body, qubits, clbits, f"{where}.else_body."),
                qubits=qlist,
                clbits=clist,
            )
        if_op = IfElseOp((target, cond["value"]), true_qc, false_qc, label=inst.get("label"))
        return CircuitInstruction(if_op, tuple(qlist), tuple(clist))

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
