"""OpenQASM 3 the Qiskit importer refuses: ``switch``, compound conditions, classical
variables and assignments.

``qiskit-qasm3-import`` reads ``if``/``else`` and ``while`` on a bit or on ``bits == int``,
and refuses ``switch``, conditions with ``&&``, ``||``, ``!``, ``!=`` or ``<``..., constant
conditions (``while (true)``), ``bool``/``int``/``uint`` variables and every assignment
(``x = expr;``). This module reads those statements from the ``openqasm3`` AST itself and
hands the rest to the importer:

- every block (a case, a default, a branch, a loop body) is converted by the importer as a
  program of its own: the declarations before the statement, then the block's statements
  (the same procedure, so blocks nest);
- the statement itself is replaced, for the importer, by a call of an empty gate on the
  first qubit, whose name no OpenQASM program can spell; in the circuit it returns, that
  call is replaced by the Qiskit op (:class:`~qiskit.circuit.SwitchCaseOp`,
  :class:`~qiskit.circuit.IfElseOp`, :class:`~qiskit.circuit.WhileLoopOp`,
  :class:`~qiskit.circuit.ForLoopOp`, :class:`~qiskit.circuit.Store`, and the ``break`` /
  ``continue`` of a loop read here) over the bits declared before it, its condition built
  with :mod:`qiskit.circuit.classical.expr`;
- a ``bool``, ``int[n]`` or ``uint[n]`` declaration (top level only) becomes a Qiskit
  ``expr.Var`` of the circuit, captured by every block, and its initialiser a ``Store``;
  ``int[n]`` is read as ``uint[n]`` (Qiskit and the payload have no signed integers), so
  the values stored in it are checked to be non-negative and below ``2**(n-1)``. An
  ``int`` or ``uint`` without a width has :data:`DEFAULT_WIDTH` bits, as ``qasm3.dumps``
  declares the variable of a ``switch`` (``int switch_dummy;``).

Statements the importer reads on its own stay with it. What neither reads (subroutines,
``float``/``angle`` variables, arithmetic assignments...) is refused by
:func:`check_supported` before anything is converted. Nesting and the number of blocks are
bounded (:data:`MAX_NESTING`, :data:`MAX_BLOCKS`): each block costs one conversion of the
declarations before it. Errors are :class:`~qrelay.errors.ConversionError` naming the line,
column and construct.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, NamedTuple

from qrelay.errors import ConversionError
from qrelay.payload.classical import MAX_WIDTH

__all__ = [
    "DEFAULT_WIDTH",
    "MAX_BLOCKS",
    "MAX_NESTING",
    "MAX_REPEATED_STATEMENTS",
    "check_supported",
    "import_program",
    "importer_refuses",
]

#: The deepest nesting of statements read here (a ``switch`` in an ``if`` in a ``switch``...).
MAX_NESTING: Final = 16
#: The most blocks (cases, defaults, branches, loop bodies) read here in one program.
MAX_BLOCKS: Final = 256
#: The most declaration statements (a gate definition with its body) converted again for
#: the blocks: each block is converted after the declarations before it, and captures the
#: variables declared before it.
MAX_REPEATED_STATEMENTS: Final = 10_000
#: The bits of an ``int`` or ``uint`` variable declared without a width.
DEFAULT_WIDTH: Final = 32

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
#: Assignment operators read, to the operation they combine the old value with.
_ASSIGNMENTS: Final = {"=": None, "&=": "bit_and", "|=": "bit_or", "^=": "bit_xor"}
#: Statements neither this module nor the importer reads, to what the refusal calls them.
_REFUSED: Final = {
    "SubroutineDefinition": "subroutines (def) are not supported; write the body out",
    "ExternDeclaration": "extern functions are not supported",
    "FunctionCall": "function calls are not supported",
    "ExpressionStatement": "expression statements are not supported",
    "ReturnStatement": "return is not supported",
    "EndStatement": "end is not supported",
    "ConstantDeclaration": "const declarations are not supported; write the value out",
    "CalibrationDefinition": "defcal is not supported",
    "CalibrationStatement": "cal blocks are not supported",
    "CalibrationGrammarDeclaration": "defcalgrammar is not supported",
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


def _children(node: Any) -> Iterator[Any]:
    """The AST nodes directly under ``node`` (through lists and tuples, nested)."""
    from openqasm3 import ast

    stack: list[Any] = [getattr(node, field.name) for field in dataclasses.fields(node)]
    while stack:
        value = stack.pop()
        if isinstance(value, ast.QASMNode):
            yield value
        elif isinstance(value, list | tuple):
            stack.extend(value)


def _variable_type(node: Any) -> bool:
    """True for the declarations of a typed classical variable (not a bit or register)."""
    from openqasm3 import ast

    return isinstance(node, ast.ClassicalDeclaration) and isinstance(
        node.type, ast.BoolType | ast.IntType | ast.UintType
    )


def check_supported(program: Any) -> None:
    """Refuse, before anything is converted, what neither this module nor the importer
    reads, naming its line and column: subroutines and function calls, ``const``,
    ``extern``, calibrations, variables of types other than ``bool``, ``int[n]``,
    ``uint[n]`` and ``bit``, variables declared inside a block, widths that are not
    literals of 1 to 64, measurements into a variable, and assignments other than ``=``,
    ``&=``, ``|=`` and ``^=``.

    One pass over the syntax tree, whose size the text bounds
    (:func:`~qrelay_qasm.bounds.check_qasm3_text`); the insides of quantum statements,
    which the importer reads alone, are skipped.
    """
    from openqasm3 import ast

    #: statements whose insides the importer reads (and refuses, located) alone
    quantum = (
        ast.QuantumGate,
        ast.QuantumPhase,
        ast.QuantumBarrier,
        ast.QuantumReset,
        ast.QuantumMeasurementStatement,
        ast.QuantumGateDefinition,
        ast.QubitDeclaration,
        ast.Include,
        ast.DelayInstruction,
    )
    variables: set[str] = set()
    stack: list[tuple[Any, bool]] = [(node, True) for node in reversed(program.statements)]
    while stack:
        node, top = stack.pop()
        kind = type(node).__name__
        if kind in _REFUSED:
            raise _located(node, _REFUSED[kind])
        if isinstance(node, ast.ClassicalDeclaration):
            _check_declaration(node, top)
            if _variable_type(node):
                variables.add(node.identifier.name)
        elif isinstance(node, ast.ClassicalAssignment):
            if node.op.name not in _ASSIGNMENTS:
                raise _located(
                    node,
                    f"assignment {node.op.name!r}: only =, &=, |= and ^= are supported "
                    "(no engine runs classical arithmetic)",
                )
        elif isinstance(node, ast.QuantumMeasurementStatement):
            target = node.target
            if isinstance(target, ast.Identifier) and target.name in variables:
                raise _located(
                    node,
                    f"measure into variable {target.name!r}: measure into a bit, then "
                    "assign the bit to the variable",
                )
        if not isinstance(node, quantum):
            stack.extend((child, False) for child in _children(node))


def _check_declaration(node: Any, top: bool) -> None:
    from openqasm3 import ast

    name = node.identifier.name
    if not isinstance(node.type, ast.BitType | ast.BoolType | ast.IntType | ast.UintType):
        kind = type(node.type).__name__.removesuffix("Type").lower()
        raise _located(
            node,
            f"{kind} {name}: variables of type {kind!r} are not supported; classical "
            "variables are bool, int[n], uint[n] and bit",
        )
    if not _variable_type(node):
        return
    if not top:
        raise _located(
            node, f"{name}: a classical variable is declared at the top level, not in a block"
        )
    if isinstance(node.init_expression, ast.QuantumMeasurement):
        raise _located(
            node,
            f"measure into variable {name!r}: measure into a bit, then assign the bit to the "
            "variable",
        )
    size = getattr(node.type, "size", None)
    if size is not None and not (
        isinstance(size, ast.IntegerLiteral) and 1 <= int(size.value) <= MAX_WIDTH
    ):
        raise _located(node, f"{name}: a width must be an integer literal from 1 to {MAX_WIDTH}")


def _plain(condition: Any, variables: frozenset[str]) -> bool:
    """True for the conditions the importer reads: a bit, or a bit or register ``==`` a
    literal (``variables``: the names that are variables, which it does not read)."""
    from openqasm3 import ast

    def named(node: Any) -> bool:
        if isinstance(node, ast.Identifier):
            return node.name not in variables
        return isinstance(node, ast.IndexExpression)

    if named(condition):
        return True
    return (
        isinstance(condition, ast.BinaryExpression)
        and condition.op is ast.BinaryOperator["=="]
        and named(condition.lhs)
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


def importer_refuses(
    node: Any, variables: frozenset[str] = frozenset(), *, jumps: bool = False
) -> bool:
    """True when ``node`` holds a statement the importer refuses and this module reads.

    ``variables`` are the names of the program's classical variables; ``jumps`` says
    whether a ``break`` or ``continue`` here leaves a loop read by this module (the
    importer cannot place it then).
    """
    from openqasm3 import ast

    if isinstance(node, ast.BreakStatement | ast.ContinueStatement):
        return jumps
    if isinstance(node, ast.SwitchStatement | ast.ClassicalAssignment):
        return True
    if isinstance(node, ast.ClassicalDeclaration):
        init = node.init_expression
        return _variable_type(node) or not (
            init is None or isinstance(init, ast.QuantumMeasurement)
        )
    if isinstance(node, ast.BranchingStatement) and not _plain(node.condition, variables):
        return True
    if isinstance(node, ast.WhileLoop | ast.ForInLoop):
        if isinstance(node, ast.WhileLoop) and not _plain(node.while_condition, variables):
            return True
        jumps = False  # the importer places the jumps of a loop it reads
    return any(
        importer_refuses(inner, variables, jumps=jumps)
        for block in _blocks(node)
        for inner in block
    )


def _variable_names(program: Any) -> frozenset[str]:
    return frozenset(node.identifier.name for node in program.statements if _variable_type(node))


def import_program(program: Any, convert: Callable[[Any], Any]) -> Any:
    """The Qiskit circuit of ``program`` (an ``openqasm3`` AST), ``convert`` being the
    importer; the importer alone when nothing in it needs this module."""
    variables = _variable_names(program)
    if not any(importer_refuses(node, variables) for node in program.statements):
        return convert(program)
    blocks = declarations = repeated = 0
    for node in program.statements:
        if importer_refuses(node, variables):
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
                    "fewer gates or variables, or use fewer cases",
                )
        if _declares(node):
            declarations += 1 + len(getattr(node, "body", ()))
    return _Translator(convert, variables).circuit([], program.statements, depth=0)


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


class _Variable(NamedTuple):
    """A classical variable: its Qiskit ``expr.Var``, and its width when declared ``int``
    (read as unsigned, so its values stay below ``2**(width-1)``)."""

    var: Any
    signed: int | None


class _Translator:
    """Reads the statements the importer refuses, naming their markers apart."""

    def __init__(self, convert: Callable[[Any], Any], names: frozenset[str]) -> None:
        from openqasm3 import ast

        self.ast = ast
        self.convert = convert
        self.names = names
        self.markers = 0
        #: the variables declared so far, in order
        self.variables: dict[str, _Variable] = {}

    def circuit(
        self, prelude: Sequence[Any], statements: Sequence[Any], *, depth: int, jumps: bool = False
    ) -> Any:
        """The circuit of ``prelude`` (declarations) followed by ``statements``; ``jumps``:
        a ``break`` or ``continue`` here leaves a loop read by this module."""
        ast = self.ast
        declared = list(prelude)
        kept: list[Any] = list(prelude)
        pending: dict[str, tuple[Any, list[Any], int]] = {}
        #: statements before any qubit is declared: their markers follow its declaration
        waiting: list[tuple[Any, str]] = []
        for node in statements:
            if importer_refuses(node, self.names, jumps=jumps):
                if isinstance(node, ast.Box):
                    raise _located(
                        node,
                        "a switch, a compound condition or a variable inside a box cannot be "
                        "read; move it outside the box",
                    )
                if depth > 0 and isinstance(node, ast.ClassicalDeclaration):
                    raise _located(node, "a declaration inside a switch case or branch")
                if _variable_type(node):
                    self.declare(node)
                    if node.init_expression is None:
                        continue
                elif isinstance(node, ast.ClassicalDeclaration):
                    copy = self.declaration(node)
                    kept.append(copy)
                    declared.append(copy)
                name = _MARKER.format(self.markers)
                self.markers += 1
                bodies = self.bodies(declared, node, depth + 1, jumps)
                pending[name] = (node, bodies, len(self.variables))
                if _first_qubit(declared) is None:
                    waiting.append((node, name))
                else:
                    kept += self.marker(declared, node, name)
                continue
            kept.append(node)
            declaration = self.declaration(node)
            if declaration is not None and depth > 0:
                raise _located(node, "a declaration inside a switch case or branch")
            if declaration is not None:
                declared.append(declaration)
            if waiting and isinstance(node, ast.QubitDeclaration):
                for early, name in waiting:
                    kept += self.marker(declared, early, name)
                waiting = []
        if waiting:
            raise _located(waiting[0][0], "control flow or a store before any qubit is declared")
        qc = self._convert(kept)
        if not pending and not self.variables:
            return qc
        return self.replace(qc, declared, pending, depth)

    def _convert(self, statements: list[Any]) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.convert(self.ast.Program(statements=statements, version="3.0"))

    def declare(self, node: Any) -> None:
        """Make the Qiskit variable of a ``bool``/``int``/``uint`` declaration."""
        from qiskit.circuit.classical import expr, types

        ast = self.ast
        name = node.identifier.name
        if name in self.variables:
            raise _located(node, f"{name}: the variable is already declared")
        if isinstance(node.type, ast.BoolType):
            kind: Any = types.Bool()
            signed = None
        else:
            size = node.type.size
            width = DEFAULT_WIDTH if size is None else int(size.value)
            kind = types.Uint(width)
            signed = width if isinstance(node.type, ast.IntType) else None
        self.variables[name] = _Variable(expr.Var.new(name, kind), signed)

    def declaration(self, node: Any) -> Any | None:
        """What a block converted after ``node`` must know of it (``None``: nothing)."""
        ast = self.ast
        if not _declares(node) or _variable_type(node):
            return None
        if isinstance(node, ast.ClassicalDeclaration):
            copy = ast.ClassicalDeclaration(node.type, node.identifier)
            copy.span = node.span  # errors in a block name the declaration's line
            return copy
        return node

    def bodies(self, declared: list[Any], node: Any, depth: int, jumps: bool) -> list[Any]:
        """The circuits of a statement's blocks, each a program of its own (their number
        and nesting checked beforehand by :func:`import_program`)."""
        ast = self.ast
        if isinstance(node, ast.ForInLoop) and _reads(node.block, node.identifier.name):
            raise _located(
                node,
                f"for loop: its body reads the loop variable {node.identifier.name!r} and holds "
                "a switch, a compound condition or a variable; write the loop's body out",
            )
        inner = jumps or isinstance(node, ast.WhileLoop | ast.ForInLoop)
        return [self.circuit(declared, block, depth=depth, jumps=inner) for block in _blocks(node)]

    def marker(self, declared: list[Any], node: Any, name: str) -> list[Any]:
        """An empty gate's definition and its call on the first qubit: the statement's place."""
        ast = self.ast
        first = _first_qubit(declared)
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

    def replace(self, qc: Any, declared: list[Any], pending: dict[str, Any], depth: int) -> Any:
        """``qc`` with each marker replaced by the op of its statement, and the variables
        declared (at the top level) or captured (in a block)."""
        from qiskit.circuit import BreakLoopOp, ContinueLoopOp

        ast = self.ast
        out = qc.copy_empty_like()
        for variable in self.variables.values():
            if depth == 0:
                out.add_uninitialized_var(variable.var)
            else:
                out.add_capture(variable.var)
        names = _Names(self.ast, qc, declared, self.variables)
        for instruction in qc.data:
            found = pending.get(instruction.operation.name)
            if found is None:
                out.append(instruction)
                continue
            node, bodies, visible = found
            names.visible = visible
            try:
                if isinstance(node, ast.BreakStatement | ast.ContinueStatement):
                    jump = BreakLoopOp if isinstance(node, ast.BreakStatement) else ContinueLoopOp
                    out.append(jump(qc.num_qubits, qc.num_clbits), qc.qubits, qc.clbits)
                    continue
                if not bodies:
                    out.append(_Op(ast, names).store(node))
                    continue
            except ConversionError:
                raise
            except Exception as exc:
                raise _located(node, f"{_kind(node)}: {exc}") from exc
            for body in bodies:
                _share_parameters(body, qc)
            op = _Op(ast, names).build(node, bodies)
            width, bits = bodies[0].num_qubits, bodies[0].num_clbits
            try:
                out.append(op, qc.qubits[:width], qc.clbits[:bits])
            except Exception as exc:
                raise _located(node, f"{_kind(node)}: {exc}") from exc
        return out


def _first_qubit(declared: Sequence[Any]) -> Any | None:
    from openqasm3 import ast

    return next((d for d in declared if isinstance(d, ast.QubitDeclaration)), None)


def _reads(statements: Sequence[Any], name: str) -> bool:
    """True when an identifier ``name`` appears anywhere in ``statements``."""
    from openqasm3 import ast

    stack: list[Any] = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Identifier) and node.name == name:
            return True
        stack.extend(_children(node))
    return False


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

    kinds = {
        ast.SwitchStatement: "switch",
        ast.WhileLoop: "while",
        ast.ForInLoop: "for",
        ast.ClassicalAssignment: "assignment",
        ast.ClassicalDeclaration: "declaration",
        ast.BreakStatement: "break",
        ast.ContinueStatement: "continue",
    }
    return kinds.get(type(node), "if")


class _Names:
    """The circuit's bits, registers and variables by their OpenQASM names (declaration
    order); ``visible``: how many variables the statement being read may see."""

    def __init__(
        self, ast: Any, qc: Any, declared: list[Any], variables: dict[str, _Variable]
    ) -> None:
        self.values: dict[str, Any] = {}
        self.variables = variables
        self.order = {name: n for n, name in enumerate(variables)}
        self.visible = len(variables)
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

    def find(self, name: str) -> Any | None:
        """The bit, register or ``expr.Var`` named ``name``, if declared before."""
        if self.order.get(name, self.visible) < self.visible:
            return self.variables[name].var
        return self.values.get(name)

    def signed(self, target: Any) -> int | None:
        """The width of ``target`` if it is a variable declared ``int``."""
        name = getattr(target, "name", None)
        found = self.variables.get(name) if isinstance(name, str) else None
        return found.signed if found is not None and found.var is target else None


class _Op:
    """A statement's Qiskit op from its blocks' circuits and its expressions."""

    def __init__(self, ast: Any, names: _Names) -> None:
        self.ast = ast
        self.names = names
        self.what = "condition"

    def build(self, node: Any, bodies: list[Any]) -> Any:
        from qiskit.circuit import CASE_DEFAULT, ForLoopOp, IfElseOp, SwitchCaseOp, WhileLoopOp

        ast = self.ast
        if isinstance(node, ast.BranchingStatement):
            condition = self.condition(node.condition)
            return IfElseOp(condition, bodies[0], bodies[1] if node.else_block else None)
        if isinstance(node, ast.WhileLoop):
            return WhileLoopOp(self.condition(node.while_condition), bodies[0])
        if isinstance(node, ast.ForInLoop):
            return ForLoopOp(_loop_values(node), None, bodies[0])
        self.what = "switch"
        target = self.value(node.target)
        if isinstance(target, int):
            raise _located(node.target, "switch: the target must be a bit, register or variable")
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

    def store(self, node: Any) -> Any:
        """The ``Store`` of an assignment, or of a declaration's initialiser."""
        from qiskit.circuit import Store
        from qiskit.circuit.classical import expr

        ast = self.ast
        self.what = "assignment"
        if isinstance(node, ast.ClassicalDeclaration):
            target, operator, rvalue = node.identifier, "=", node.init_expression
        else:
            target, operator, rvalue = node.lvalue, node.op.name, node.rvalue
        lvalue = self.lvalue(target)
        value = self.value(rvalue)
        combine = _ASSIGNMENTS[operator]
        try:
            if combine is not None:
                value = getattr(expr, combine)(lvalue, value)
            value = self.fit(value, lvalue, rvalue)
            return Store(lvalue, value)
        except ConversionError:
            raise
        except Exception as exc:
            raise _located(node, f"assignment: {exc}") from exc

    def lvalue(self, node: Any) -> Any:
        """A store's target: a variable, a bit, a register or one bit of a register."""
        from qiskit.circuit.classical import expr

        ast = self.ast
        if isinstance(node, ast.IndexedIdentifier):
            index = node.indices[0] if len(node.indices) == 1 else None
            return expr.lift(self.index(node, node.name, index))
        found = self.names.find(node.name)
        if found is None:
            raise _located(node, f"assignment: {node.name!r} is not a declared bit or variable")
        return found if isinstance(found, expr.Var) else expr.lift(found)

    def fit(self, value: Any, lvalue: Any, node: Any) -> Any:
        """``value`` as the type of ``lvalue``: literals lifted, and widened or converted
        by an explicit cast (which the payload keeps); never narrowed."""
        from qiskit.circuit.classical import expr, types

        kind = lvalue.type
        signed = self.names.signed(lvalue)
        if isinstance(value, int) and not isinstance(value, bool):
            if isinstance(kind, types.Bool):
                if value not in (0, 1):
                    raise _located(node, f"assignment: {value} is not a bool (0 or 1)")
                return expr.lift(bool(value))
            most = 1 << (kind.width - 1 if signed else kind.width)
            if not 0 <= value < most:
                raise _located(
                    node,
                    f"assignment: {value} does not fit {_type_name(kind, signed)}"
                    + (" (int is read as unsigned: 0 to 2**(n-1)-1)" if signed else ""),
                )
            return expr.lift(value, kind)
        if (
            isinstance(kind, types.Uint)
            and isinstance(value.type, types.Uint)
            and (value.type.width > kind.width or (signed and value.type.width >= kind.width))
        ):
            raise _located(
                node,
                f"assignment: a uint[{value.type.width}] value does not fit "
                f"{_type_name(kind, signed)}; cast it explicitly",
            )
        return value if value.type == kind else expr.cast(value, kind)

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
        """The expression of ``node``: a Qiskit ``Expr``, or a Python integer."""
        from qiskit.circuit.classical import expr, types

        ast = self.ast
        what = self.what
        if isinstance(node, ast.BooleanLiteral):
            return expr.lift(bool(node.value))
        if isinstance(node, ast.IntegerLiteral):
            return int(node.value)
        if isinstance(node, ast.BitstringLiteral):
            return expr.lift(int(node.value), types.Uint(int(node.width)))
        if isinstance(node, ast.Identifier):
            found = self.names.find(node.name)
            if found is None:
                raise _located(
                    node, f"{what}: {node.name!r} is not a declared bit, register or variable"
                )
            return found if isinstance(found, expr.Var) else expr.lift(found)
        if isinstance(node, ast.IndexExpression):
            return expr.lift(self.index(node, node.collection, node.index))
        if isinstance(node, ast.Cast):
            return self.cast(node)
        try:
            if isinstance(node, ast.UnaryExpression) and node.op.name in ("!", "~"):
                inner = self.value(node.expression)
                return expr.logic_not(inner) if node.op.name == "!" else expr.bit_not(inner)
            if isinstance(node, ast.BinaryExpression) and node.op.name in _COMPARISONS:
                function = getattr(expr, _COMPARISONS[node.op.name])
                return function(self.value(node.lhs), self.value(node.rhs))
        except (TypeError, ValueError) as exc:
            raise _located(node, f"{what}: {exc}") from exc
        operator = getattr(getattr(node, "op", None), "name", None)
        found = f"operator {operator!r}" if operator else type(node).__name__
        raise _located(node, f"{what}: {found} is not supported in a classical expression")

    def cast(self, node: Any) -> Any:
        """``bool(x)``, ``uint[n](x)`` and ``int[n](x)`` (read as unsigned)."""
        from qiskit.circuit.classical import expr, types

        ast = self.ast
        inner = self.value(node.argument)
        if isinstance(node.type, ast.BoolType):
            kind: Any = types.Bool()
        elif isinstance(node.type, ast.IntType | ast.UintType):
            size = node.type.size
            if size is not None and not (
                isinstance(size, ast.IntegerLiteral) and 1 <= int(size.value) <= MAX_WIDTH
            ):
                raise _located(
                    node, f"cast: a width must be an integer literal from 1 to {MAX_WIDTH}"
                )
            kind = types.Uint(DEFAULT_WIDTH if size is None else int(size.value))
        else:
            name = type(node.type).__name__.removesuffix("Type").lower()
            raise _located(node, f"cast: casts to {name!r} are not supported")
        try:
            if isinstance(inner, int):
                return (
                    expr.lift(inner, kind)
                    if isinstance(kind, types.Uint)
                    else expr.lift(bool(inner))
                )
            return expr.cast(inner, kind)
        except (TypeError, ValueError) as exc:
            raise _located(node, f"cast: {exc}") from exc

    def index(self, node: Any, collection: Any, index: Any) -> Any:
        """One bit of a declared register, by a literal index (``index``: the list of
        indices of one bracket)."""
        ast = self.ast
        register = self.names.values.get(getattr(collection, "name", None) or "")
        if (
            register is None
            or not hasattr(register, "size")
            or not isinstance(index, list)
            or len(index) != 1
            or not isinstance(index[0], ast.IntegerLiteral)
            or not 0 <= int(index[0].value) < register.size
        ):
            raise _located(node, f"{self.what}: a bit of a declared register, by a literal index")
        return register[int(index[0].value)]


def _type_name(kind: Any, signed: int | None) -> str:
    from qiskit.circuit.classical import types

    if isinstance(kind, types.Bool):
        return "bool"
    return f"int[{kind.width}]" if signed else f"uint[{kind.width}]"


def _loop_values(node: Any) -> Any:
    """The values of a ``for`` loop read here: integer literals, as
    :mod:`qrelay_qasm.bounds` checked before."""
    from openqasm3 import ast

    values = node.set_declaration

    def literal(item: Any) -> int:
        if isinstance(item, ast.IntegerLiteral):
            return int(item.value)
        if (
            isinstance(item, ast.UnaryExpression)
            and item.op is ast.UnaryOperator["-"]
            and isinstance(item.expression, ast.IntegerLiteral)
        ):
            return -int(item.expression.value)
        raise _located(node, "a for loop runs over integer literals")

    if isinstance(values, ast.DiscreteSet):
        return tuple(literal(item) for item in values.values)
    if not isinstance(values, ast.RangeDefinition) or values.start is None or values.end is None:
        raise _located(node, "a for loop runs over integer literals")
    start, end = literal(values.start), literal(values.end)
    step = 1 if values.step is None else literal(values.step)
    return range(start, end + (1 if step > 0 else -1), step)
