"""Payload ``Circuit`` to Cirq ``Circuit``: :func:`to_cirq`, and gate matrices through it.

Qubits come from ``Circuit.qubit_labels``; measurement keys follow
:func:`~qrelay_cirq.convert_keys.measurement_plan`. Operations are built from the tables
of :mod:`qrelay_cirq.convert_writer_gates` and placed in moments by :class:`_Packer`;
control flow (expression conditions, ``repeat_until`` and ``repetitions`` loops) takes
the shapes of :mod:`qrelay_cirq.convert_writer_flow`. Matrices are converted from the
payload's little-endian order by reversing the qubits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import cirq
import numpy as np
import sympy

from qrelay.errors import ConversionError, QRelayError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import Circuit, Instruction, matrix_from_wire
from qrelay.payload.classical import ClassicalExpr
from qrelay.payload.expressions import Expr
from qrelay_cirq.convert_common import DT_TAG, qubit_from_label
from qrelay_cirq.convert_keys import KeyGroup, Locator, measurement_plan
from qrelay_cirq.convert_writer_flow import (
    SympyConditions,
    done_expr,
    folded_loops,
    repetitions,
)
from qrelay_cirq.convert_writer_gates import BUILDERS, FIXED_GATES, gate_op
from qrelay_cirq.expressions import from_expr

__all__ = ["instruction_unitaries", "to_cirq"]


_UNIT_NANOS: Final = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3}


class _Packer:
    """Places operations in the earliest moment, as ``cirq.InsertStrategy.EARLIEST`` does.

    Qubits and measurement keys are wires: an operation goes after the last moment that
    touches one of its qubits; a measurement also after every earlier write or read of its
    key; a classically controlled operation after the last write of the keys it reads.
    The writer knows every operation's keys as it emits it, so they are placed here rather
    than by ``cirq.Circuit``, which would rediscover each operation's qubits and keys
    through its protocols (figures: "Design measurements" in ``docs/performance.md``).
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

    def add_block(self, op: cirq.Operation, writes: Iterable[str], reads: Iterable[str]) -> None:
        """A block that measures several keys: after every earlier use of each."""
        writes = list(writes)
        index = max(
            [self.qubit_at.get(q, -1) for q in op.qubits]
            + [max(self.write_at.get(k, -1), self.read_at.get(k, -1)) for k in writes]
            + [self.write_at.get(k, -1) for k in reads]
            + [-1]
        )
        index += 1
        if index == len(self.moments):
            self.moments.append([op])
        else:
            self.moments[index].append(op)
        for q in op.qubits:
            self.qubit_at[q] = index
        for key in writes:
            self.write_at[key] = index
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
        self.locate = Locator(circuit)
        self.offsets = circuit.register_offsets()
        #: global clbit -> (key, instance, position in the key, key width, inverted)
        self.writer: dict[int, tuple[str, int, int, int, bool]] = {}
        self.instances: dict[str, int] = {}
        #: keys measured inside a loop: conditions read their latest measurement
        self.looped: set[str] = set()
        self.packer = _Packer()

    def value(self, expr: Expr) -> Any:
        if type(expr) is float:
            return expr
        if self.bindings is not None:
            return pexpr.evaluate(expr, self.bindings)
        return from_expr(expr, self.symbols)

    def top(self) -> None:
        instructions = self.circuit.instructions
        fixed_gates = FIXED_GATES
        qubits = self.qubits
        folds = folded_loops(instructions)
        skip_to = 0
        for index, inst in enumerate(instructions):
            if index < skip_to:
                continue
            try:
                if index in folds:
                    end, resets = folds[index]
                    skip_to = end + 1
                    self.repeat_until(index, end, resets)
                    continue
                if inst["op"] == "measure":
                    group = self.plan.get(index)
                    if group is not None:
                        self.measure(group)
                    continue
                fixed = fixed_gates.get(inst["op"])
                if fixed is not None:
                    self.packer.add(gate_op(fixed, tuple([qubits[q] for q in inst["qubits"]])))
                else:
                    self.other(inst, f"instruction {index}")
            except ConversionError:
                raise
            except (QRelayError, ValueError, TypeError, KeyError, IndexError) as exc:
                raise ConversionError(f"instruction {index} ({inst['op']}): {exc}") from exc

    def other(self, inst: Instruction, where: str) -> None:
        """A top-level instruction that is neither a measurement nor a fixed gate."""
        add = self.packer.add
        op = inst["op"]
        if op in ("if", "switch"):
            for cop, reads in self.controlled_ops(inst, where):
                add(cop, None, reads)
        elif op == "for":
            count = repetitions(inst, where)
            ops: list[cirq.Operation] = []
            for j, sub in enumerate(inst.get("body", [])):
                ops += self.instruction(sub, f"{where}.body.{j}", ())
            if count and ops:
                body = cirq.FrozenCircuit(ops)
                add(cirq.CircuitOperation(body, repetitions=count, use_repetition_ids=False))
        elif op == "while":
            raise ConversionError(
                f"{where} (while): Cirq's repeat_until runs its body at least once and "
                "cannot hold this loop; write the body, then 'while' of the same body "
                "that measures what its test reads"
            )
        else:
            for gop in self.instruction(inst, where, ()):
                add(gop)

    def repeat_until(self, start: int, end: int, resets: int) -> None:
        """Instructions ``start..end-1`` and the ``while`` at ``end`` that repeats them
        (after its first ``resets`` resets, of fresh qubits), as one ``CircuitOperation``
        with ``repeat_until``."""
        where = f"instruction {end}"
        measures = sum(
            1 for i in range(start, end) if self.circuit.instructions[i]["op"] == "measure"
        )
        planned = sum(len(g.bits) for i, g in self.plan.items() if start <= i < end)
        if measures != planned:
            raise ConversionError(
                f"{where} (while): a measurement of the loop's body joins one outside it "
                "in one Cirq key; measure into another register before the loop"
            )
        outer = self.packer
        self.packer = _Packer()
        loop = self.circuit.instructions[end]
        try:
            for j in range(resets):
                self.other(loop["body"][j], f"{where}.body.{j}")
            for index in range(start, end):
                inst = self.circuit.instructions[index]
                if inst["op"] == "measure":
                    group = self.plan.get(index)
                    if group is not None:
                        self.measure(group)
                else:
                    self.other(inst, f"instruction {index}")
            body = self.packer
        finally:
            self.packer = outer
        keys = set(body.write_at)
        again = [k for k in keys if self.instances.get(k, 0) > 1]
        if again:
            raise ConversionError(
                f"{where} (while): key {again[0]!r} is measured outside the loop too; Cirq "
                "records cannot tell those measurements apart"
            )
        done = self.until(loop, where)
        reads = {str(k) for k in done.keys}
        if not reads <= keys:
            raise ConversionError(
                f"{where} (while): the test reads {sorted(reads - keys)}, which the loop "
                "body does not measure; Cirq's repeat_until needs the body to measure it"
            )
        self.looped |= keys
        op = cirq.CircuitOperation(
            body.circuit().freeze(), repeat_until=done, use_repetition_ids=False
        )
        self.packer.add_block(op, keys, reads)

    def until(self, inst: Instruction, where: str) -> Any:
        """The Cirq condition that ends a ``while``: a key condition when it is one
        1-bit measurement reading 1, else a sympy condition."""
        done = done_expr(inst)
        if set(done) == {"clbit"}:
            key, _, _, width, inverted = self.writer_of(done["clbit"], where)
            if width == 1 and not inverted:
                return cirq.KeyCondition(cirq.MeasurementKey.parse_serialized(key))
        return cirq.SympyCondition(self.conditions(where).condition(done))

    def conditions(self, where: str) -> SympyConditions:
        def register_bits(name: str) -> range:
            start, size = self.offsets[name]
            return range(start, start + size)

        return SympyConditions(lambda c: self.writer_of(c, where), register_bits, where)

    def writer_of(self, clbit: int, where: str) -> tuple[str, int, int, int, bool]:
        """The latest measurement of ``clbit``, refusing one a condition cannot read."""
        writer = self.writer.get(clbit)
        if writer is None:
            raise ConversionError(
                f"{where}: the condition reads clbit {clbit}, which no earlier measurement writes"
            )
        if self.instances.get(writer[0], 0) - 1 != writer[1]:
            raise ConversionError(
                f"{where}: the condition reads key {writer[0]!r} instance {writer[1]}, "
                "which a later measurement of the same key hides from Cirq's conditions"
            )
        return writer

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
        if op == "switch":
            return self.switch_op(inst, where, controls)
        if op == "measure":
            raise ConversionError(
                f"{where} (measure): a measurement inside 'if' or 'switch' is not supported"
            )
        fixed = FIXED_GATES.get(op)
        builder = BUILDERS.get(op)
        if fixed is None and builder is None:
            raise ConversionError(f"{where} ({op}): no Cirq equivalent")
        params = [self.value(p) for p in inst.get("params", ())]
        if fixed is not None:
            ops: list[cirq.Operation] = [gate_op(fixed, tuple(qs))]
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
        """The operations of a top-level ``if`` or ``switch``, each with the keys its
        conditions read."""
        found = []
        for op in self.instruction(inst, where, ()):
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
        """The classically controlled operations of an ``if``, under ``controls`` too.

        One function, longer than most here, because its cases share the condition's
        writers: a condition on one whole measurement that Cirq's own test expresses
        becomes a key condition, any other a sympy condition over the bits it reads.
        """
        if "test" in inst:
            test = self.conditions(f"{where} (if)").condition(inst["test"])
            holds, fails = cirq.SympyCondition(test), cirq.SympyCondition(sympy.Not(test))
            return self.branches(inst, where, controls, holds, fails)
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
                cirq.MeasurementKey.parse_serialized(key),
                index=-1 if key in self.looped else instance,
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
        return self.branches(inst, where, controls, positive, negative)

    def switch_op(
        self, inst: Instruction, where: str, controls: tuple[Any, ...]
    ) -> list[cirq.Operation]:
        """A ``switch`` as classically controlled operations: each case's body under the
        sympy condition that the test equals one of its values, the default under the
        condition that it equals none of them. Cirq has no switch; the reader reads these
        back as ``if`` blocks with the same conditions."""
        test: ClassicalExpr = inst["test"]
        conditions = self.conditions(f"{where} (switch)")
        _, is_bool = conditions.read(test)
        taken = []
        ops: list[cirq.Operation] = []
        for number, case in enumerate(inst.get("cases", ())):
            holds = sympy.Or(
                *[self.case_holds(conditions, test, v, is_bool) for v in case["values"]]
            )
            taken.append(holds)
            ops += self.guarded(case["body"], f"{where}.cases.{number}.body", controls, holds)
        default = inst.get("default", [])
        if default:
            none = sympy.And(*[sympy.Not(holds) for holds in taken])
            ops += self.guarded(default, f"{where}.default", controls, none)
        return ops

    @staticmethod
    def case_holds(
        conditions: SympyConditions, test: ClassicalExpr, value: int, is_bool: bool
    ) -> Any:
        """The sympy condition that a switch's test equals the case value ``value``."""
        if is_bool:
            truth = conditions.condition(test)
            return truth if value else sympy.Not(truth)
        # a register that is one whole measurement compares as its key's value
        lit: ClassicalExpr = {"lit": int(value), "width": 64}
        return conditions.condition({"op": "equal", "args": [test, lit]})

    def guarded(
        self, body: list[Instruction], where: str, controls: tuple[Any, ...], holds: Any
    ) -> list[cirq.Operation]:
        """``body`` under the sympy condition ``holds`` (dropped when it never holds)."""
        if holds is sympy.false:
            return []
        more = controls if holds is sympy.true else (*controls, cirq.SympyCondition(holds))
        ops: list[cirq.Operation] = []
        for j, sub in enumerate(body):
            ops += self.instruction(sub, f"{where}.{j}", more)
        return ops

    def branches(
        self, inst: Instruction, where: str, controls: tuple[Any, ...], positive: Any, negative: Any
    ) -> list[cirq.Operation]:
        """The body under ``positive`` and the else branch under ``negative``."""
        body = inst.get("body", [])
        else_body = inst.get("else_body", [])
        ops = []
        for j, sub in enumerate(body):
            ops += self.instruction(sub, f"{where}.body.{j}", (*controls, positive))
        for j, sub in enumerate(else_body):
            ops += self.instruction(sub, f"{where}.else_body.{j}", (*controls, negative))
        return ops


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
