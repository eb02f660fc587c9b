"""Cirq ``Circuit`` to payload ``Circuit``: :func:`from_cirq` and its reading state.

Qubits are numbered in Cirq's own sort order and their identities kept in
``Circuit.qubit_labels``. Each measurement (one key, one occurrence) becomes one payload
register, described in ``Circuit.layout``. Gates go through the handlers of
:mod:`qrelay_cirq.convert_reader_gates`; what none handles is decomposed, or becomes a
``unitary``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cirq

from qrelay.errors import ConversionError, PayloadError, QRelayError
from qrelay.payload import control
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import (
    Circuit,
    Condition,
    Instruction,
    KeyLayout,
    Register,
    matrix_to_wire,
)
from qrelay.payload.expressions import Expr
from qrelay.payload.parsing import parse
from qrelay_cirq.convert_common import DT_TAG, qubit_label
from qrelay_cirq.convert_conditions import conditions_expr, group_of, repeat_until
from qrelay_cirq.convert_reader_gates import HANDLERS

__all__ = ["from_cirq"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\[\].:\-]*$")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_\[\].:\-]")


@dataclass
class Reader:
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
            handler = HANDLERS.get(type(op.gate))
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
        if isinstance(op, cirq.CircuitOperation) and op.repeat_until is not None:
            repeat_until(self, op, out, where)
            return
        if isinstance(op, cirq.CircuitOperation):
            self.operations(op.mapped_circuit(deep=False).all_operations(), out, f"{where}.")
            return
        gate = op.gate
        if gate is None:
            self.fallback(op, out, where)
            return
        handler = HANDLERS.get(type(gate))
        if handler is None:
            for cls in type(gate).__mro__[1:]:
                handler = HANDLERS.get(cls)
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
        if not all(isinstance(c, cirq.KeyCondition) for c in op.classical_controls):
            # a sympy condition: a payload.v2 classical expression
            test = conditions_expr(self, op.classical_controls)
            out.append({"op": "if", "qubits": [], "test": test, "body": body})
            return
        for condition in op.classical_controls:
            assert isinstance(condition, cirq.KeyCondition)  # others took the branch above
            name, start, size, mask = group_of(self, str(condition.key), condition.index)
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
    reader = Reader(qmap={q: i for i, q in enumerate(qubits)}, labels=labels)
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
        for _, body in control.blocks(inst):
            yield from _walk(body)
