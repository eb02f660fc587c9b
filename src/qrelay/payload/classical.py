"""Classical expressions and typed classical variables of payload.v2.

A classical expression is a small JSON tree over the circuit's clbits, registers and typed
variables, the conditions of ``if`` and ``while``, the subject of ``switch`` and both
sides of ``store``::

    {"clbit": 3}                                  one clbit (bool)
    {"register": "syn"}                           a register's value (uint of its size)
    {"var": "count"}                              a declared variable (its type)
    {"lit": true}  /  {"lit": 2, "width": 3}      a bool, or an unsigned integer of a width
    {"op": "logic_and", "args": [e1, e2]}         an operation on expressions

The operations and their typing follow ``qiskit.circuit.classical.expr`` and OpenQASM 3:
``logic_*`` take bools (an unsigned integer reads as "non-zero"), ``bit_*`` keep the type
of their operands, comparisons give a bool, and ``cast`` (with ``width`` for an unsigned
integer, without for a bool) converts. A register's value reads bit 0 as the least
significant bit. Nothing here evaluates an expression: the engines do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal, NamedTuple

from pydantic import ConfigDict, Field, model_validator, with_config
from typing_extensions import TypedDict

from qrelay.errors import PayloadError
from qrelay.payload._base import WireModel

#: The widest unsigned integer a variable, literal or cast may have.
MAX_WIDTH: Final = 64
#: The deepest expression accepted; a deeper one is refused rather than risking the stack.
MAX_DEPTH: Final = 64
#: The most typed variables one circuit may declare.
MAX_VARIABLES: Final = 10_000


@with_config(ConfigDict(extra="forbid"))
class ClassicalExpr(TypedDict, total=False):
    """One node of a classical expression: exactly one of ``clbit``, ``register``, ``var``,
    ``lit`` or ``op`` (with ``args``); ``width`` sizes an integer literal or a cast."""

    clbit: int
    register: str
    var: str
    lit: bool | int
    width: int
    op: str
    args: list[ClassicalExpr]


class ClassicalType(NamedTuple):
    """The type of an expression: ``bool`` (width 1) or ``uint`` of a width."""

    kind: Literal["bool", "uint"]
    width: int

    def __str__(self) -> str:
        return "bool" if self.kind == "bool" else f"uint[{self.width}]"


BOOL: Final = ClassicalType("bool", 1)

#: The operations, by how they are typed.
UNARY: Final = frozenset({"logic_not", "bit_not", "cast"})
LOGIC: Final = frozenset({"logic_and", "logic_or"})
BITWISE: Final = frozenset({"bit_and", "bit_or", "bit_xor"})
EQUALITY: Final = frozenset({"equal", "not_equal"})
ORDER: Final = frozenset({"less", "less_equal", "greater", "greater_equal"})
OPERATIONS: Final = UNARY | LOGIC | BITWISE | EQUALITY | ORDER

_LEAVES: Final = ("clbit", "register", "var", "lit", "op")


class ClassicalVar(WireModel):
    """A typed classical variable of a circuit, zero (or false) until a ``store`` sets it."""

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    type: Literal["bool", "uint"]
    #: The bits of a ``uint`` (1 to 64); absent for a ``bool``.
    width: Annotated[int, Field(ge=1, le=MAX_WIDTH)] | None = None

    @model_validator(mode="after")
    def _sized(self) -> ClassicalVar:
        if (self.type == "uint") != (self.width is not None):
            raise PayloadError(
                f"variables: {self.name!r} of type {self.type!r} "
                + ("needs a width" if self.type == "uint" else "takes no width")
            )
        return self

    @property
    def classical_type(self) -> ClassicalType:
        return BOOL if self.width is None else ClassicalType("uint", self.width)


class Scope:
    """What an expression may read: the clbits, the registers' sizes and the variables."""

    __slots__ = ("num_clbits", "registers", "variables")

    def __init__(
        self,
        num_clbits: int,
        registers: Mapping[str, int],
        variables: Mapping[str, ClassicalType],
    ) -> None:
        self.num_clbits = num_clbits
        self.registers = registers
        self.variables = variables

    def type_of(self, node: ClassicalExpr, where: str) -> ClassicalType:
        """The type of ``node``; raises ``PayloadError`` naming ``where`` on the first fault."""
        return self._type(node, where, 0)

    def check_condition(self, node: ClassicalExpr, where: str) -> None:
        """Refuse an expression that cannot be read as true or false."""
        self.type_of(node, where)  # a uint reads as "non-zero", as in OpenQASM 3

    def check_lvalue(self, node: ClassicalExpr, where: str) -> ClassicalType:
        """The type of a ``store`` target: a clbit, a register or a variable."""
        if type(node) is not dict or len(node) != 1 or next(iter(node)) not in _LEAVES[:3]:
            raise PayloadError(f"{where}: lvalue must be one clbit, register or variable")
        return self.type_of(node, where)

    def _type(self, node: ClassicalExpr, where: str, depth: int) -> ClassicalType:
        if depth > MAX_DEPTH:
            raise PayloadError(f"{where}: classical expression nests deeper than {MAX_DEPTH}")
        if type(node) is not dict:
            raise PayloadError(f"{where}: a classical expression is an object, not {node!r}")
        keys = [key for key in _LEAVES if key in node]
        if len(keys) != 1:
            raise PayloadError(
                f"{where}: a classical expression node has exactly one of {list(_LEAVES)}"
            )
        key = keys[0]
        extra = set(node) - {key, "width", "args"}
        if extra or ("args" in node) != (key == "op"):
            raise PayloadError(f"{where}: unexpected field(s) in classical expression {node!r}")
        if "width" in node and key not in ("lit", "op"):
            raise PayloadError(f"{where}: 'width' belongs to a literal or a cast")
        if key == "op":
            return self._operation(node, where, depth)
        return self._leaf(node, key, where)

    def _leaf(self, node: ClassicalExpr, key: str, where: str) -> ClassicalType:
        if key == "clbit":
            clbit = node["clbit"]
            if type(clbit) is not int or not 0 <= clbit < self.num_clbits:
                raise PayloadError(
                    f"{where}: clbit {clbit!r} is out of range; the registers hold "
                    f"{self.num_clbits} bit(s)"
                )
            return BOOL
        if key == "register":
            name = node["register"]
            size = self.registers.get(name) if type(name) is str else None
            if not size:
                raise PayloadError(f"{where}: expression reads unknown register {name!r}")
            return ClassicalType("uint", size)
        if key == "var":
            name = node["var"]
            found = self.variables.get(name) if type(name) is str else None
            if found is None:
                raise PayloadError(f"{where}: expression reads undeclared variable {name!r}")
            return found
        value = node["lit"]
        width = node.get("width")
        if type(value) is bool:
            if width is not None:
                raise PayloadError(f"{where}: a bool literal takes no width")
            return BOOL
        if type(value) is not int or type(width) is not int or not 1 <= width <= MAX_WIDTH:
            raise PayloadError(
                f"{where}: literal {value!r} is a bool or an integer with a width of 1 to "
                f"{MAX_WIDTH}"
            )
        if not 0 <= value < (1 << width):
            raise PayloadError(f"{where}: literal {value} does not fit uint[{width}]")
        return ClassicalType("uint", width)

    def _operation(self, node: ClassicalExpr, where: str, depth: int) -> ClassicalType:
        op = node["op"]
        args = node["args"]
        if op not in OPERATIONS:
            raise PayloadError(
                f"{where}: unknown classical operation {op!r}; known: {sorted(OPERATIONS)}"
            )
        arity = 1 if op in UNARY else 2
        if type(args) is not list or len(args) != arity:
            raise PayloadError(f"{where}: {op!r} takes {arity} operand(s)")
        types = [self._type(arg, where, depth + 1) for arg in args]
        if op == "cast":
            width = node.get("width")
            if width is None:
                return BOOL
            if type(width) is not int or not 1 <= width <= MAX_WIDTH:
                raise PayloadError(f"{where}: cast width must be 1 to {MAX_WIDTH}")
            return ClassicalType("uint", width)
        if "width" in node:
            raise PayloadError(f"{where}: 'width' belongs to a literal or a cast")
        if op == "logic_not" or op in LOGIC:
            return BOOL
        if op == "bit_not":
            return types[0]
        left, right = types
        if left.kind != right.kind:
            raise PayloadError(f"{where}: {op!r} compares {left} with {right}; cast one side")
        if op in ORDER and left.kind != "uint":
            raise PayloadError(f"{where}: {op!r} orders unsigned integers, not {left}")
        if op in BITWISE:
            return ClassicalType(left.kind, max(left.width, right.width))
        return BOOL
