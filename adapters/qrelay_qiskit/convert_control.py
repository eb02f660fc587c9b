"""Control flow both ways: Qiskit's control-flow ops and payload.v2 blocks.

Read: ``IfElseOp``, ``WhileLoopOp``, ``ForLoopOp``, ``SwitchCaseOp``, ``BreakLoopOp``,
``ContinueLoopOp`` and ``Store`` become the payload's ``if``, ``while``, ``for``,
``switch``, ``break``, ``continue`` and ``store`` (:mod:`qrelay.payload.control`). An
``if`` on a clbit or register value keeps payload.v1's ``condition``, so a circuit that
only has those stays payload.v1.

Written: a circuit with payload.v2 blocks is built through Qiskit's control-flow builder
(``if_test``, ``while_loop``, ``for_loop``, ``switch``), which works out the bits and
variables each body uses. Circuits without them keep the plain writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from qiskit.circuit import (
    CASE_DEFAULT,
    CircuitInstruction,
    ClassicalRegister,
    Clbit,
    QuantumCircuit,
    Qubit,
)
from qiskit.circuit.classical import expr, types

from qrelay.errors import ConversionError
from qrelay.payload import control
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import Circuit, Condition, Instruction, SwitchCase
from qrelay.payload.classical import ClassicalExpr
from qrelay_qiskit.convert_classical import FromQiskit, ToQiskit, qiskit_type

if TYPE_CHECKING:
    from qrelay_qiskit.convert_reader import _Reader
    from qrelay_qiskit.convert_writer import _Writer

#: Qiskit control-flow instruction names this module reads.
CONTROL_NAMES: Final = frozenset(
    {"if_else", "while_loop", "for_loop", "switch_case", "break_loop", "continue_loop", "store"}
)
#: Payload ops the builder writes (every block, once a circuit has any payload.v2 part).
_WRITTEN: Final = control.BLOCK_OPS | control.JUMP_OPS | {"store"}


# ---------------------------------------------------------------------- reading
def read_control(
    reader: _Reader,
    ci: CircuitInstruction,
    qmap: Mapping[Qubit, int],
    cmap: Mapping[Clbit, int],
    where: str,
) -> Instruction:
    """The payload instruction of one Qiskit control-flow instruction, bodies included."""
    op = ci.operation
    name = ci.name
    exprs = FromQiskit(cmap, reader.payload_registers, f"{where} ({name})")
    if name == "break_loop":
        return {"op": "break", "qubits": []}
    if name == "continue_loop":
        return {"op": "continue", "qubits": []}
    if name == "store":
        return {
            "op": "store",
            "qubits": [],
            "lvalue": exprs.target(op.lvalue),
            "rvalue": exprs.read(op.rvalue),
        }
    inst: Instruction
    if name == "switch_case":
        cases: list[SwitchCase] = []
        inst = {"op": "switch", "qubits": [], "test": exprs.target(op.target)}
        for number, (values, block) in enumerate(op.cases_specifier()):
            body = _body(reader, ci, block, qmap, cmap, prefix=f"{where}.cases.{number}.body.")
            plain = [int(v) for v in values if v is not CASE_DEFAULT]
            if len(plain) != len(values):
                inst["default"] = body
            if plain:
                cases.append({"values": plain, "body": body})
        inst["cases"] = cases
        return inst
    if name == "for_loop":
        indexset, parameter, block = op.params
        inst = {"op": "for", "qubits": []}
        if isinstance(indexset, range):
            inst["loop_range"] = (indexset.start, indexset.stop, indexset.step)
        else:
            inst["loop_values"] = [int(v) for v in indexset]
        if parameter is not None:
            inst["loop_parameter"] = parameter.name
        inst["body"] = _body(
            reader, ci, block, qmap, cmap, prefix=f"{where}.body.", iterations=len(indexset)
        )
        return inst
    test = _condition(op.condition, exprs, cmap)
    inst = {"op": "if" if name == "if_else" else "while", "qubits": [], **test}  # type: ignore[typeddict-item]
    inst["body"] = _body(reader, ci, op.blocks[0], qmap, cmap, prefix=f"{where}.body.")
    if name == "if_else" and len(op.blocks) > 1 and op.blocks[1] is not None:
        inst["else_body"] = _body(
            reader, ci, op.blocks[1], qmap, cmap, prefix=f"{where}.else_body."
        )
    return inst


def _condition(condition: Any, exprs: FromQiskit, cmap: Mapping[Clbit, int]) -> dict[str, Any]:
    """``{"condition": ...}`` for a clbit or register compared with a value, else
    ``{"test": <expression>}``."""
    if isinstance(condition, tuple) and len(condition) == 2:
        target, value = condition
        found: Condition
        if isinstance(target, Clbit):
            found = {"clbit": cmap[target], "value": int(value)}
        else:
            found = {"register": exprs.register(target)["register"], "value": int(value)}
        return {"condition": found}
    return {"test": exprs.read(condition)}


def _body(
    reader: _Reader,
    ci: CircuitInstruction,
    block: QuantumCircuit,
    qmap: Mapping[Qubit, int],
    cmap: Mapping[Clbit, int],
    *,
    prefix: str,
    iterations: int = 1,
) -> list[Instruction]:
    """A block's body, its bits mapped to the circuit's, counted against the budget."""
    if reader.budget is not None:
        reader.budget.spend_block(len(block.data), iterations)
    inner_q = dict(zip(block.qubits, (qmap[q] for q in ci.qubits), strict=True))
    inner_c = dict(zip(block.clbits, (cmap[c] for c in ci.clbits), strict=True))
    return reader.block(block.data, inner_q, inner_c, prefix)


def needs_builder(circuit: Circuit) -> bool:
    """True when ``circuit`` has payload.v2 blocks or variables (see :func:`write_dynamic`)."""
    return control.required_version([circuit]) != "payload.v1"


# ---------------------------------------------------------------------- writing
class ControlWriter:
    """Writes a payload circuit into ``qc`` through Qiskit's control-flow builder."""

    def __init__(self, writer: _Writer, qc: QuantumCircuit, circuit: Circuit) -> None:
        self.writer = writer
        self.qc = qc
        self.qubits: list[Qubit] = list(qc.qubits)
        self.clbits: list[Clbit] = list(qc.clbits)
        registers: dict[str, ClassicalRegister] = {}
        for name, (start, size) in circuit.register_offsets().items():
            bits = self.clbits[start : start + size]
            reg = writer.cregs.get(name)
            if reg is None or list(reg) != bits:
                reg = ClassicalRegister(name=name, bits=bits)
            registers[name] = reg
        variables = {}
        for var in circuit.variables:
            variables[var.name] = made = expr.Var.new(var.name, qiskit_type(var))
            qc.add_uninitialized_var(made)
        self.exprs = ToQiskit(self.clbits, registers, variables)
        self.registers = registers

    def emit(self, instructions: Sequence[Instruction], prefix: str) -> None:
        """Append ``instructions`` to the circuit, or to the block being built."""
        run: list[Instruction] = []
        for index, inst in enumerate(instructions):
            if inst["op"] not in _WRITTEN:
                run.append(inst)
                continue
            self.flush(run, prefix)
            self.one(inst, f"{prefix}{index}")
        self.flush(run, prefix)

    def flush(self, run: list[Instruction], prefix: str) -> None:
        for ci in self.writer.block(run, self.qubits, self.clbits, prefix):
            self.qc.append(ci)
        run.clear()

    def one(self, inst: Instruction, where: str) -> None:
        qc = self.qc
        op = inst["op"]
        if op == "break":
            qc.break_loop()
        elif op == "continue":
            qc.continue_loop()
        elif op == "store":
            qc.store(self.exprs.lvalue(inst["lvalue"]), self.exprs.build(inst["rvalue"]))
        elif op == "if":
            with qc.if_test(self.condition(inst)) as else_:
                self.emit(inst.get("body", []), f"{where}.body.")
            if "else_body" in inst:
                with else_:
                    self.emit(inst["else_body"], f"{where}.else_body.")
        elif op == "while":
            with qc.while_loop(self.condition(inst)):
                self.emit(inst.get("body", []), f"{where}.body.")
        elif op == "for":
            values = control.loop_values(inst)
            name = inst.get("loop_parameter")
            # a parameter nothing reads is left out: Aer fails to bind one its body lacks
            read = name is not None and _reads(inst.get("body", []), name)
            parameter = self.writer.table.get(name) if read and name is not None else None
            with qc.for_loop(values, parameter):
                self.emit(inst.get("body", []), f"{where}.body.")
        elif op == "switch":
            self.switch(inst, where)
        else:
            raise ConversionError(f"instruction {where} ({op}): no Qiskit equivalent")

    def condition(self, inst: Instruction) -> Any:
        """The Qiskit condition of an ``if`` or ``while``: a tuple or a bool expression."""
        cond = inst.get("condition")
        if cond is not None:
            if "clbit" in cond:
                return (self.clbits[cond["clbit"]], cond["value"])
            return (self.registers[cond["register"]], cond["value"])
        return _as_bool(self.exprs.build(inst["test"]))

    def switch(self, inst: Instruction, where: str) -> None:
        subject: ClassicalExpr = inst["test"]
        target: Any = self.exprs.build(subject)
        if "register" in subject:
            target = self.registers[subject["register"]]
        elif "clbit" in subject:
            target = self.clbits[subject["clbit"]]
        with self.qc.switch(target) as case:
            for number, entry in enumerate(inst.get("cases", [])):
                with case(*entry["values"]):
                    self.emit(entry["body"], f"{where}.cases.{number}.body.")
            if "default" in inst:
                with case(case.DEFAULT):
                    self.emit(inst["default"], f"{where}.default.")


def _reads(instructions: Sequence[Instruction], name: str) -> bool:
    """True when a parameter of ``instructions`` (bodies included) reads symbol ``name``."""
    for inst in instructions:
        for param in inst.get("params", ()):
            if not isinstance(param, float) and name in pexpr.symbols(param):
                return True
        if any(_reads(body, name) for _, body in control.blocks(inst)):
            return True
    return False


def _as_bool(value: Any) -> Any:
    """A condition as Qiskit wants it: an unsigned integer reads as "non-zero"."""
    if isinstance(value.type, types.Bool):
        return value
    return expr.cast(value, types.Bool())
