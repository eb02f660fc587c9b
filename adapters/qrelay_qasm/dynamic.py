"""OpenQASM 3 control flow the Qiskit importer refuses: ``switch`` and compound conditions.

``qiskit-qasm3-import`` reads ``if``/``else`` and ``while`` on a bit or on ``bits == int``,
and refuses ``switch`` and conditions with ``&&``, ``||``, ``!``, ``!=`` or ``<``... This
module reads those statements from the ``openqasm3`` AST itself and hands the rest to the
importer:

- every block (a case, a default, a branch, a loop body) is converted by the importer as a
  program of its own: the declarations before the statement, then the block's statements
  (the same procedure, so blocks nest);
- the statement itself is replaced, for the importer, by a call of an empty gate on the
  first qubit, whose name no OpenQASM program can spell; in the circuit it returns, that
  call is replaced by the Qiskit op (:class:`~qiskit.circuit.SwitchCaseOp`,
  :class:`~qiskit.circuit.IfElseOp`, :class:`~qiskit.circuit.WhileLoopOp`) over the bits
  declared before it, its condition built with :mod:`qiskit.circuit.classical.expr`.

Statements the importer reads on its own stay with it. Nesting and the number of blocks are
bounded (:data:`MAX_NESTING`, :data:`MAX_BLOCKS`): each block costs one conversion of the
declarations before it. Errors are :class:`~qrelay.errors.ConversionError` naming the line,
column and construct.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Final

from qrelay.errors import ConversionError

__all__ = [
    "MAX_BLOCKS",
    "MAX_NESTING",
    "MAX_REPEATED_STATEMENTS",
    "import_program",
    "importer_refuses",
]

#: The deepest nesting of statements read here (a ``switch`` in an ``if`` in a ``switch``...).
MAX_NESTING: Final = 16
#: The most blocks (cases, defaults, branches, loop bodies) read here in one program.
MAX_BLOCKS: Final = 256
#: The most declaration statements (a gate definition with its body) converted again for
#: the blocks: each block is converted after the declarations before it.
MAX_REPEATED_STATEMENTS: Final = 10_000

#: A gate name no OpenQASM identifier can spell, so no program's gate can take it.
_MARKER: Final = "qrelay block {}"

_COMPARISONS: Final = {
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
    "&&": "logic_and",
    "||": "logic_or",
    "&": "bit_and",
    "|": "bit_or",
    "^": "bit_xor",
}


def _located(node: Any, message: str) -> ConversionError:
    span = getattr(node, "span", None)
    if span is None:
        return ConversionError(f"OpenQASM 3: {message}")
    line, column = int(span.start_line), int(span.start_column) + 1
    return ConversionError(
        f"OpenQASM 3, line {line}, column {column}: {message}",
        location=("line", line, "column", column),
    )


def _plain(condition: Any) -> bool:
    """True for the conditions the importer reads: a bit, or a bit or register ``==`` a literal."""
    from openqasm3 import ast

    named = (ast.Identifier, ast.IndexExpression)
    if isinstance(condition, named):
        return True
    return (
        isinstance(condition, ast.BinaryExpression)
        and condition.op is ast.BinaryOperator["=="]
        and isinstance(condition.lhs, named)
        and isinstance(condition.rhs, ast.IntegerLiteral | ast.BooleanLiteral)
    )


def _blocks(node: Any) -> list[list[Any]]:
    """The statement lists a control-flow statement holds."""
    from openqasm3 import ast

    if isinstance(node, ast.SwitchStatement):
        found = [case.statements for _, case in node.cases]
        return found + ([node.default.statements] if node.default is not None else [])
    if isinstance(node, ast.BranchingStatement):
        return [node.if_block, node.else_block]
    if isinstance(node, ast.WhileLoop | ast.ForInLoop | ast.Box):
        return [node.block if not isinstance(node, ast.Box) else node.body]
    return []


def importer_refuses(node: Any) -> bool:
    """True when ``node`` holds a statement the importer refuses and this module reads."""
    from openqasm3 import ast

    if isinstance(node, ast.SwitchStatement):
        return True
    if isinstance(node, ast.BranchingStatement) and not _plain(node.condition):
        return True
    if isinstance(node, ast.WhileLoop) and not _plain(node.while_condition):
        return True
    return any(importer_refuses(inner) for block in _blocks(node) for inner in block)


def import_program(program: Any, convert: Callable[[Any], Any]) -> Any:
    """The Qiskit circuit of ``program`` (an ``openqasm3`` AST), ``convert`` being the importer."""
    blocks = declarations = repeated = 0
    for node in program.statements:
        if importer_refuses(node):
            size = _size(node, 1)
            blocks += size
            repeated += size * declarations
            if blocks > MAX_BLOCKS:
                raise _located(
                    node,
                    f"more than {MAX_BLOCKS} blocks (cases, branches, loop bodies) in switch "
                    "statements and compound conditions, the limit for one program",
                )
            if repeated > MAX_REPEATED_STATEMENTS:
                raise _located(
                    node,
                    f"{_kind(node)}: its blocks would convert the declarations before them "
                    f"{repeated} "
                    f"statements in all, past the limit of {MAX_REPEATED_STATEMENTS}; declare "
                    "fewer gates or use fewer cases",
                )
        elif _declares(node):
            declarations += 1 + len(getattr(node, "body", ()))
    return _Translator(convert).circuit([], program.statements, depth=0)


def _declares(node: Any) -> bool:
    """True for the statements every block is converted after (see :class:`_Translator`)."""
    from openqasm3 import ast

    kinds = (
        ast.Include,
        ast.QubitDeclaration,
        ast.IODeclaration,
        ast.QuantumGateDefinition,
        ast.ClassicalDeclaration,
    )
    return isinstance(node, kinds)


def _size(node: Any, depth: int) -> int:
    """The blocks of ``node`` and of everything in them, refused past :data:`MAX_NESTING`;
    checked before any block is converted."""
    if depth > MAX_NESTING:
        raise _located(node, f"control flow nested deeper than {MAX_NESTING} levels, the limit")
    blocks = _blocks(node)
    total = len(blocks)
    for block in blocks:
        for inner in block:
            if _blocks(inner):
                total += _size(inner, depth + 1)
                if total > MAX_BLOCKS:
                    break
    return total


class _Translator:
    """Reads the statements the importer refuses, naming their markers apart."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        from openqasm3 import ast

        self.ast = ast
        self.convert = convert
        self.markers = 0

    def circuit(self, prelude: Sequence[Any], statements: Sequence[Any], *, depth: int) -> Any:
        """The circuit of ``prelude`` (declarations) followed by ``statements``."""
        ast = self.ast
        declared = list(prelude)
        kept: list[Any] = list(prelude)
        pending: dict[str, tuple[Any, list[Any]]] = {}
        for node in statements:
            if importer_refuses(node):
                if isinstance(node, ast.ForInLoop | ast.Box):
                    raise _located(
                        node,
                        "a switch or a compound condition inside a for loop or a box cannot "
                        "be read; write the loop's body out or move the switch outside it",
                    )
                name = _MARKER.format(self.markers)
                self.markers += 1
                pending[name] = (node, self.bodies(declared, node, depth + 1))
                kept += self.marker(declared, node, name)
                continue
            kept.append(node)
            declaration = self.declaration(node)
            if declaration is not None and depth > 0:
                raise _located(node, "a declaration inside a switch case or branch")
            if declaration is not None:
                declared.append(declaration)
        qc = self._convert(kept)
        if not pending:
            return qc
        return self.replace(qc, declared, pending)

    def _convert(self, statements: list[Any]) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.convert(self.ast.Program(statements=statements, version="3.0"))

    def declaration(self, node: Any) -> Any | None:
        """What a block converted after ``node`` must know of it (``None``: nothing)."""
        ast = self.ast
        if not _declares(node):
            return None
        if isinstance(node, ast.ClassicalDeclaration):
            copy = ast.ClassicalDeclaration(node.type, node.identifier)
            copy.span = node.span  # errors in a block name the declaration's line
            return copy
        return node

    def bodies(self, declared: list[Any], node: Any, depth: int) -> list[Any]:
        """The circuits of a statement's blocks, each a program of its own (their number
        and nesting checked beforehand by :func:`import_program`)."""
        return [self.circuit(declared, block, depth=depth) for block in _blocks(node)]

    def marker(self, declared: list[Any], node: Any, name: str) -> list[Any]:
        """An empty gate's definition and its call on the first qubit: the statement's place."""
        ast = self.ast
        first = next((d for d in declared if isinstance(d, ast.QubitDeclaration)), None)
        if first is None:
            raise _located(node, "control flow before any qubit is declared")
        qubit: Any = first.qubit
        if first.size is not None:
            qubit = ast.IndexedIdentifier(name=first.qubit, indices=[[ast.IntegerLiteral(0)]])
        identifier = ast.Identifier(name)
        return [
            ast.QuantumGateDefinition(identifier, [], [ast.Identifier("q")], []),
            ast.QuantumGate([], identifier, [], [qubit]),
        ]

    def replace(self, qc: Any, declared: list[Any], pending: dict[str, Any]) -> Any:
        """``qc`` with each marker replaced by the op of its statement."""
        out = qc.copy_empty_like()
        names = _Names(self.ast, qc, declared)
        for instruction in qc.data:
            found = pending.get(instruction.operation.name)
            if found is None:
                out.append(instruction)
                continue
            node, bodies = found
            for body in bodies:
                _share_parameters(body, qc)
            op = _Op(self.ast, names).build(node, bodies)
            width, bits = bodies[0].num_qubits, bodies[0].num_clbits
            try:
                out.append(op, qc.qubits[:width], qc.clbits[:bits])
            except Exception as exc:
                raise _located(node, f"{_kind(node)}: {exc}") from exc
        return out


def _share_parameters(body: Any, qc: Any) -> None:
    """Bind a block's ``input float`` parameters to the program's of the same name: each
    conversion makes its own, and one circuit cannot hold two of one name (so they pass
    through names no OpenQASM identifier can spell)."""
    from qiskit.circuit import Parameter

    outer = {parameter.name: parameter for parameter in qc.parameters}
    own = [p for p in body.parameters if p.name in outer and p != outer[p.name]]
    if not own:
        return
    moved = {p: Parameter(f"{p.name} (block)") for p in own}
    body.assign_parameters(moved, inplace=True)
    body.assign_parameters({moved[p]: outer[p.name] for p in own}, inplace=True)


def _kind(node: Any) -> str:
    from openqasm3 import ast

    if isinstance(node, ast.SwitchStatement):
        return "switch"
    return "while" if isinstance(node, ast.WhileLoop) else "if"


class _Names:
    """The circuit's bits and registers by their OpenQASM names (declaration order)."""

    def __init__(self, ast: Any, qc: Any, declared: list[Any]) -> None:
        self.values: dict[str, Any] = {}
        index = 0
        for node in declared:
            if not isinstance(node, ast.ClassicalDeclaration):
                continue
            name = node.identifier.name
            if not isinstance(node.type, ast.BitType):
                continue
            if node.type.size is None:
                self.values[name] = qc.clbits[index]
                index += 1
                continue
            size = int(node.type.size.value)
            bits = list(qc.clbits[index : index + size])
            index += size
            self.values[name] = next(r for r in qc.cregs if list(r) == bits)


class _Op:
    """A statement's Qiskit op from its blocks' circuits and its condition's expression."""

    def __init__(self, ast: Any, names: _Names) -> None:
        self.ast = ast
        self.names = names

    def build(self, node: Any, bodies: list[Any]) -> Any:
        from qiskit.circuit import CASE_DEFAULT, IfElseOp, SwitchCaseOp, WhileLoopOp

        ast = self.ast
        if isinstance(node, ast.BranchingStatement):
            condition = self.condition(node.condition)
            return IfElseOp(condition, bodies[0], bodies[1] if node.else_block else None)
        if isinstance(node, ast.WhileLoop):
            return WhileLoopOp(self.condition(node.while_condition), bodies[0])
        target = self.value(node.target)
        cases: list[tuple[Any, Any]] = []
        for (values, _), body in zip(node.cases, bodies, strict=False):
            cases.append((tuple(self.case_value(value) for value in values), body))
        if node.default is not None:
            cases.append((CASE_DEFAULT, bodies[-1]))
        if not cases:
            raise _located(node, "switch: a switch needs at least one case")
        try:
            return SwitchCaseOp(target, cases)
        except Exception as exc:
            raise _located(node, f"switch: {exc}") from exc

    def case_value(self, value: Any) -> int:
        if isinstance(value, self.ast.IntegerLiteral):
            return int(value.value)
        raise _located(value, "switch: a case value must be an integer literal")

    def condition(self, node: Any) -> Any:
        from qiskit.circuit.classical import expr, types

        value = self.value(node)
        if isinstance(value, bool | int) or value.type.kind is not types.Bool:
            raise _located(node, "condition: must be a bool (a bit, a comparison or a logic)")
        return expr.lift(value) if not isinstance(value, expr.Expr) else value

    def value(self, node: Any) -> Any:
        """The expression of ``node``: a Qiskit ``Expr``, or a Python literal."""
        from qiskit.circuit.classical import expr

        ast = self.ast
        if isinstance(node, ast.BooleanLiteral):
            return expr.lift(bool(node.value))
        if isinstance(node, ast.IntegerLiteral):
            return int(node.value)
        if isinstance(node, ast.Identifier):
            found = self.names.values.get(node.name)
            if found is None:
                raise _located(node, f"condition: {node.name!r} is not a declared bit or register")
            return expr.lift(found)
        if isinstance(node, ast.IndexExpression):
            return expr.lift(self.index(node))
        try:
            if isinstance(node, ast.UnaryExpression) and node.op.name in ("!", "~"):
                inner = self.value(node.expression)
                return expr.logic_not(inner) if node.op.name == "!" else expr.bit_not(inner)
            if isinstance(node, ast.BinaryExpression) and node.op.name in _COMPARISONS:
                function = getattr(expr, _COMPARISONS[node.op.name])
                return function(self.value(node.lhs), self.value(node.rhs))
        except (TypeError, ValueError) as exc:
            raise _located(node, f"condition: {exc}") from exc
        operator = getattr(getattr(node, "op", None), "name", None)
        what = f"operator {operator!r}" if operator else type(node).__name__
        raise _located(node, f"condition: {what} is not supported in a condition")

    def index(self, node: Any) -> Any:
        ast = self.ast
        register = self.names.values.get(getattr(node.collection, "name", None) or "")
        index = node.index
        if (
            register is None
            or not hasattr(register, "size")
            or not isinstance(index, list)
            or len(index) != 1
            or not isinstance(index[0], ast.IntegerLiteral)
            or not 0 <= int(index[0].value) < register.size
        ):
            raise _located(node, "condition: a bit of a declared register, by a literal index")
        return register[int(index[0].value)]
