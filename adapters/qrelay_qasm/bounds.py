"""Bounds on an OpenQASM program, checked before it is expanded.

A few hundred bytes of OpenQASM can declare a register of a hundred million qubits, or
nest gate definitions that each call the one before twice and so expand to ``2**L``
instructions. The parsers expand such programs before anything downstream could count
them (Qiskit's OpenQASM 3 importer copies every definition into each caller, and both
importers build every qubit and every broadcast instruction). So the program is sized
here first, each gate definition once, in a time that follows the length of the text:

- register declarations against the most qubits (and the payload's most bits per register);
- the instructions the program expands to, against an :class:`InstructionBudget`;
- ``include``: only the standard libraries resolve, and every other file gets one answer
  that neither names nor depends on the file system (:func:`include_refused`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from qrelay.errors import ConversionError, PayloadError
from qrelay.payload.circuit import MAX_REGISTER_SIZE
from qrelay.payload.limits import InstructionBudget

__all__ = [
    "MAX_DEFINITION_COPIES",
    "STANDARD_INCLUDES",
    "check_qasm2_source",
    "check_qasm3_nesting",
    "check_qasm3_program",
    "check_qasm3_text",
    "include_refused",
]

#: The only files an ``include`` may name, per OpenQASM version (both are built in: no
#: file is read for them).
STANDARD_INCLUDES: Final = {2: "qelib1.inc", 3: "stdgates.inc"}

#: The most copies of gate definitions Qiskit's OpenQASM 3 importer may make: it copies
#: a definition, with every definition it calls, into each call, at a cost per copy
#: far above that of an instruction.
MAX_DEFINITION_COPIES: Final = 10_000

#: The most characters of one OpenQASM 3 statement (comments aside), and on average per
#: allowed statement: the reference parser's time grows faster than a statement's length.
MAX_STATEMENT_CHARS: Final = 8_192
AVERAGE_STATEMENT_CHARS: Final = 32

#: The deepest nesting of braces, and of parentheses, the reference parser is given: it
#: recurses a few frames per level (a ``switch`` case about ten), so past Python's
#: recursion limit a deeper program would fail with no location.
MAX_PARSE_NESTING: Final = 64

#: A ``ctrl @`` modifier on a defined gate makes Qiskit synthesise a controlled copy of
#: the gate's definition, several instructions for each one; this is their bound here.
_CONTROL_FACTOR: Final = 16

_LINE_COMMENT: Final = re.compile(r"//[^\n]*")
_ANY_COMMENT: Final = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_NOT_NEWLINE: Final = re.compile(r"[^\n]")
_REGISTER2: Final = re.compile(r"\b(qreg|creg)\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]")
_GATE_BODY2: Final = re.compile(r"\{[^{}]*\}")
_TOKEN2: Final = re.compile(r";|([A-Za-z_]\w*)(\s*\[)?")


def include_refused(
    version: int, line: int | None = None, column: int | None = None
) -> ConversionError:
    """The one answer to an ``include`` of anything but the standard library.

    It names neither the file nor anything about it, so the answer is the same whether
    such a file exists or not.
    """
    allowed = STANDARD_INCLUDES[version]
    message = f'include: only "{allowed}" can be included in OpenQASM {version}'
    if line is None or column is None:
        return ConversionError(f"OpenQASM {version}: {message}")
    return ConversionError(
        f"OpenQASM {version}, line {line}, column {column}: {message}",
        location=("line", line, "column", column),
    )


def _line_of(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def _register_error(
    version: int, where: tuple[int, int] | None, kind: str, detail: str
) -> PayloadError:
    if where is None:
        return PayloadError(f"OpenQASM {version}: {kind} {detail}", location=(kind,))
    line, column = where
    return PayloadError(
        f"OpenQASM {version}, line {line}, column {column}: {kind} {detail}",
        location=("line", line, "column", column),
    )


class _Registers:
    """Declared register sizes, checked as they are declared."""

    def __init__(self, version: int, max_qubits: int) -> None:
        self.version = version
        self.max_qubits = max_qubits
        self.qubits: dict[str, int] = {}
        self.total = 0

    def quantum(self, name: str, size: int, where: tuple[int, int] | None) -> None:
        self.total += size
        if self.total > self.max_qubits:
            raise _register_error(
                self.version,
                where,
                "qubits",
                f"{name}[{size}]: {self.total} qubits declared exceed the limit of "
                f"{self.max_qubits}",
            )
        self.qubits[name] = size

    def classical(self, name: str, size: int, where: tuple[int, int] | None) -> None:
        if size > MAX_REGISTER_SIZE:
            raise _register_error(
                self.version,
                where,
                "bits",
                f"{name}[{size}]: {size} bits exceed the limit of {MAX_REGISTER_SIZE} per register",
            )


def check_qasm2_source(text: str, budget: InstructionBudget, max_qubits: int) -> None:
    """Refuse an OpenQASM 2 program whose registers or broadcasts are too large to parse.

    Qiskit's OpenQASM 2 parser keeps gate definitions as they are (they are expanded, and
    counted, on conversion) but builds every qubit and every instruction of a broadcast
    over a register (``h q;``), so those are sized from the text, with each top-level
    statement counted as wide as the widest whole quantum register it names.
    """
    body = _LINE_COMMENT.sub("", text)
    registers = _Registers(2, max_qubits)
    for match in _REGISTER2.finditer(body):
        kind, name, size = match.group(1), match.group(2), int(match.group(3))
        where = _line_of(body, match.start())
        if kind == "qreg":
            registers.quantum(name, size, where)
        else:
            registers.classical(name, size, where)
    statements = body.count(";")
    widest = max(registers.qubits.values(), default=1)
    if statements * widest <= budget.limit - budget.count:
        return  # even broadcasting every statement over the widest register fits
    top_level = _GATE_BODY2.sub(";", body)
    total = 0
    width = 1
    for match in _TOKEN2.finditer(top_level):
        name = match.group(1)
        if name is None:
            total += width
            width = 1
        elif match.group(2) is None:
            width = max(width, registers.qubits.get(name, 1))
    budget.check(total)


def check_qasm3_text(text: str, max_statements: int) -> None:
    """Refuse OpenQASM 3 text (comments removed) too long for the reference parser.

    Its time follows the number of statements (counted by their ``;``), at most
    ``max_statements``, and grows faster than the length of one: a statement may have
    at most :data:`MAX_STATEMENT_CHARS` characters, and the program
    :data:`AVERAGE_STATEMENT_CHARS` per allowed statement.
    """
    statements = text.count(";")
    if statements > max_statements:
        raise ConversionError(
            f"OpenQASM 3: the program has more than {max_statements} statements, the limit "
            "for one program",
            location=("statements",),
        )
    most = max_statements * AVERAGE_STATEMENT_CHARS
    if len(text) > most:
        raise ConversionError(
            f"OpenQASM 3: the program has more than {most} characters besides comments, "
            f"the limit for one program of at most {max_statements} statements",
            location=("statements",),
        )
    start = 0
    while start < len(text):
        end = text.find(";", start)
        end = len(text) if end < 0 else end
        if end - start > MAX_STATEMENT_CHARS:
            raise ConversionError(
                f"OpenQASM 3: a statement is longer than {MAX_STATEMENT_CHARS} characters "
                "(comments aside), the limit for one statement",
                location=("statements",),
            )
        start = end + 1


def check_qasm3_nesting(text: str) -> None:
    """Refuse OpenQASM 3 text whose braces or parentheses nest deeper than
    :data:`MAX_PARSE_NESTING`, naming the line and column of the first one too deep.

    Comments are blanked (their newlines kept, so lines and columns stay the text's).
    """
    body = _ANY_COMMENT.sub(lambda match: _NOT_NEWLINE.sub(" ", match.group()), text)
    depth = {"{": 0, "(": 0}
    closing = {"}": "{", ")": "("}
    for offset, char in enumerate(body):
        if char in depth:
            depth[char] += 1
            if depth[char] > MAX_PARSE_NESTING:
                line, column = _line_of(body, offset)
                raise ConversionError(
                    f"OpenQASM 3, line {line}, column {column}: {char!r} nests deeper than "
                    f"{MAX_PARSE_NESTING} levels, the limit for one program",
                    location=("line", line, "column", column),
                )
        elif char in closing:
            depth[closing[char]] = max(0, depth[closing[char]] - 1)


def check_qasm3_program(program: Any, budget: InstructionBudget, max_qubits: int) -> None:
    """Refuse an OpenQASM 3 program (its ``openqasm3`` AST) that is too large to import.

    Checks the includes, the declared registers, and the instructions the program and
    its gate definitions expand to: Qiskit's importer copies a definition, in full, into
    each gate that calls it, so the definitions are bounded as well as the program.
    """
    _Sizer(budget, max_qubits).program(program)


class _Sizer:
    """One pass over an OpenQASM 3 AST that sizes every statement, definitions once."""

    def __init__(self, budget: InstructionBudget, max_qubits: int) -> None:
        from openqasm3 import ast

        self.ast = ast
        self.budget = budget
        self.limit = budget.limit - budget.count
        self.registers = _Registers(3, max_qubits)
        self.gates: dict[str, int] = {}
        #: Per defined gate, the definitions copied along with it when it is called.
        self.nested: dict[str, int] = {}
        self.defined = 0
        self.copies = 0

    def program(self, program: Any) -> None:
        total = self.block(program.statements, top=True)
        self.budget.check(total)
        if self.copies > MAX_DEFINITION_COPIES:
            raise PayloadError(
                f"instructions: the calls of gates defined in the program copy "
                f"{self.copies} definitions when expanded, more than the limit of "
                f"{MAX_DEFINITION_COPIES} for one OpenQASM 3 program",
                location=("instructions",),
            )

    def block(self, statements: Iterable[Any], *, top: bool = False) -> int:
        ast = self.ast
        total = 0
        for node in statements:
            if isinstance(node, ast.Include):
                if node.filename != STANDARD_INCLUDES[3]:
                    where = self.where(node)
                    raise include_refused(3, *(where or (None, None)))
            elif isinstance(node, ast.QubitDeclaration):
                size = 1 if node.size is None else self.literal(node.size, "qubits")
                self.registers.quantum(node.qubit.name, size, self.where(node))
            elif isinstance(node, ast.ClassicalDeclaration) and isinstance(node.type, ast.BitType):
                if node.type.size is not None:
                    size = self.literal(node.type.size, "bits")
                    self.registers.classical(node.identifier.name, size, self.where(node))
            elif isinstance(node, ast.QuantumGateDefinition):
                before = self.copies
                size = self.block(node.body)
                self.gates[node.name.name] = size
                self.nested[node.name.name] = self.copies - before
                self.defined += size
                if self.defined > self.limit:
                    raise self.budget.exceeded(self.defined)
            elif isinstance(node, ast.QuantumGate):
                total += self.width(node.qubits) * self.call(node)
            else:
                total += self.other(node)
            if top and total > self.limit:
                raise self.budget.exceeded(total)
        return total

    def call(self, node: Any) -> int:
        name = node.name.name
        size = self.gates.get(name, 1)
        if name in self.nested:
            self.copies += 1 + self.nested[name]
        for modifier in node.modifiers:
            if modifier.modifier is self.ast.GateModifierName.ctrl or (
                modifier.modifier is self.ast.GateModifierName.negctrl
            ):
                size *= _CONTROL_FACTOR
        return size

    def other(self, node: Any) -> int:
        """Any other statement: one instruction per qubit it names, plus its blocks (a
        ``for`` body once per value, as :mod:`qrelay.payload.limits` counts it)."""
        ast = self.ast
        if isinstance(node, ast.ForInLoop):
            return 1 + self.iterations(node) * self.block(node.block)
        if isinstance(node, ast.SwitchStatement):
            bodies = [case.statements for _, case in node.cases]
            if node.default is not None:
                bodies.append(node.default.statements)
            return 1 + sum(self.block(body) for body in bodies)
        if isinstance(node, ast.QuantumMeasurementStatement):
            return self.width([node.measure.qubit])
        if isinstance(node, ast.QuantumReset):
            return self.width([node.qubits])
        if isinstance(node, ast.QuantumBarrier | ast.QuantumPhase):
            return 1
        if isinstance(node, ast.DelayInstruction):
            return self.width(node.qubits)
        total = 1
        for field in ("body", "block", "if_block", "else_block", "statements"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                total += self.block(inner)
        return total

    def iterations(self, node: Any) -> int:
        """How many values a ``for`` loop runs over: integer literals only, so the count
        is known (and bounded) before the loop is expanded."""
        ast = self.ast
        values = node.set_declaration
        if isinstance(values, ast.DiscreteSet):
            return len(values.values)
        if isinstance(values, ast.RangeDefinition):
            start, end = self.integer(values.start), self.integer(values.end)
            step = 1 if values.step is None else self.integer(values.step)
            if start is not None and end is not None and step:
                return len(range(start, end + (1 if step > 0 else -1), step))
        line, column = self.where(node) or (0, 0)
        raise ConversionError(
            f"OpenQASM 3, line {line}, column {column}: a for loop runs over integer "
            "literals ({a, b} or [start:step:end]), so its size is known before it is expanded",
            location=("line", line, "column", column),
        )

    def integer(self, node: Any) -> int | None:
        """An integer literal, or its negation; ``None`` for anything else."""
        ast = self.ast
        if isinstance(node, ast.IntegerLiteral):
            return int(node.value)
        if (
            isinstance(node, ast.UnaryExpression)
            and node.op is ast.UnaryOperator["-"]
            and isinstance(node.expression, ast.IntegerLiteral)
        ):
            return -int(node.expression.value)
        return None

    def width(self, operands: Sequence[Any]) -> int:
        """The instructions a broadcast over ``operands`` makes: its widest register."""
        ast = self.ast
        widest = 1
        for operand in operands:
            if isinstance(operand, ast.Identifier):
                widest = max(widest, self.registers.qubits.get(operand.name, 1))
            elif isinstance(operand, ast.IndexedIdentifier):
                ranged = any(
                    isinstance(index, ast.DiscreteSet)
                    or (
                        isinstance(index, list)
                        and any(isinstance(i, ast.RangeDefinition) for i in index)
                    )
                    for index in operand.indices
                )
                if ranged:
                    widest = max(widest, self.registers.qubits.get(operand.name.name, 1))
        return widest

    def literal(self, expression: Any, kind: str) -> int:
        """A register size: an integer literal (an expression would be evaluated unbounded)."""
        if isinstance(expression, self.ast.IntegerLiteral):
            return int(expression.value)
        raise _register_error(
            3, self.where(expression), kind, "size: must be an integer literal in a declaration"
        )

    @staticmethod
    def where(node: Any) -> tuple[int, int] | None:
        span = getattr(node, "span", None)
        if span is None:
            return None
        return int(span.start_line), int(span.start_column) + 1
