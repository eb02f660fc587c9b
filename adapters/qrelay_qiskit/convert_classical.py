"""Classical expressions both ways: ``qiskit.circuit.classical.expr`` and the payload's.

The payload's expression tree (:mod:`qrelay.payload.classical`) names the operations of
``expr.Unary.Op`` and ``expr.Binary.Op`` in lower case. Implicit casts, which Qiskit's
constructors insert and insert again, are not carried; explicit ones are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from qiskit.circuit import ClassicalRegister, Clbit
from qiskit.circuit.classical import expr, types

from qrelay.errors import ConversionError
from qrelay.payload.classical import ClassicalExpr, ClassicalVar

#: Payload operation name to the Qiskit function that builds it.
_BUILD: Final[Mapping[str, Callable[..., Any]]] = {
    "logic_not": expr.logic_not,
    "bit_not": expr.bit_not,
    "logic_and": expr.logic_and,
    "logic_or": expr.logic_or,
    "bit_and": expr.bit_and,
    "bit_or": expr.bit_or,
    "bit_xor": expr.bit_xor,
    "equal": expr.equal,
    "not_equal": expr.not_equal,
    "less": expr.less,
    "less_equal": expr.less_equal,
    "greater": expr.greater,
    "greater_equal": expr.greater_equal,
}


def qiskit_type(var: ClassicalVar) -> Any:
    """The Qiskit type of a payload variable."""
    return types.Bool() if var.width is None else types.Uint(var.width)


def variable_of(var: Any, where: str) -> ClassicalVar:
    """The payload variable of a Qiskit standalone ``expr.Var`` (bool or uint only)."""
    kind = var.type
    if isinstance(kind, types.Bool):
        return ClassicalVar(name=var.name, type="bool")
    if isinstance(kind, types.Uint):
        return ClassicalVar(name=var.name, type="uint", width=kind.width)
    raise ConversionError(f"{where}: variable {var.name!r} of type {kind} is not bool or uint")


class ToQiskit:
    """Builds Qiskit expressions over one circuit's clbits, registers and variables."""

    def __init__(
        self,
        clbits: Sequence[Clbit],
        registers: Mapping[str, ClassicalRegister],
        variables: Mapping[str, Any],
    ) -> None:
        self.clbits = clbits
        self.registers = registers
        self.variables = variables

    def lvalue(self, node: ClassicalExpr) -> Any:
        """A store's target: a clbit, a register or a variable."""
        if "clbit" in node:
            return self.clbits[node["clbit"]]
        if "register" in node:
            return self.registers[node["register"]]
        return self.variables[node["var"]]

    def build(self, node: ClassicalExpr) -> Any:
        """The Qiskit expression of a (validated) payload expression."""
        if "clbit" in node:
            return expr.lift(self.clbits[node["clbit"]])
        if "register" in node:
            return expr.lift(self.registers[node["register"]])
        if "var" in node:
            return self.variables[node["var"]]
        if "lit" in node:
            value = node["lit"]
            if type(value) is bool:
                return expr.lift(value)
            return expr.lift(value, types.Uint(node["width"]))
        op = node["op"]
        args = [self.build(arg) for arg in node["args"]]
        if op == "cast":
            width = node.get("width")
            return expr.cast(args[0], types.Bool() if width is None else types.Uint(width))
        return _BUILD[op](*args)


class FromQiskit:
    """Reads Qiskit expressions of one block, its clbits mapped to global indices."""

    def __init__(self, cmap: Mapping[Clbit, int], registers: set[str], where: str) -> None:
        self.cmap = cmap
        self.registers = registers
        self.where = where

    def target(self, value: Any) -> ClassicalExpr:
        """A switch subject, store target or condition: a clbit, register or expression."""
        if isinstance(value, Clbit):
            return {"clbit": self.cmap[value]}
        if isinstance(value, ClassicalRegister):
            return self.register(value)
        return self.read(value)

    def register(self, reg: ClassicalRegister) -> ClassicalExpr:
        if reg.name not in self.registers:
            raise ConversionError(
                f"instruction {self.where}: register {reg.name!r} shares or reorders clbits "
                "and cannot be addressed in the payload"
            )
        return {"register": reg.name}

    def read(self, node: Any) -> ClassicalExpr:
        """The payload expression of a Qiskit ``expr.Expr``."""
        if isinstance(node, expr.Var):
            var = node.var
            if isinstance(var, Clbit | ClassicalRegister):
                return self.target(var)
            return {"var": node.name}
        if isinstance(node, expr.Value):
            value = node.value
            if isinstance(node.type, types.Bool):
                return {"lit": bool(value)}
            if isinstance(node.type, types.Uint) and isinstance(value, int):
                return {"lit": int(value), "width": node.type.width}
        elif isinstance(node, expr.Cast):
            inner = self.read(node.operand)
            if node.implicit:
                return inner
            if isinstance(node.type, types.Bool):
                return {"op": "cast", "args": [inner]}
            if isinstance(node.type, types.Uint):
                return {"op": "cast", "args": [inner], "width": node.type.width}
        elif isinstance(node, expr.Unary):
            return {"op": node.op.name.lower(), "args": [self.read(node.operand)]}
        elif isinstance(node, expr.Binary):
            name = node.op.name.lower()
            if name in _BUILD:
                return {"op": name, "args": [self.read(node.left), self.read(node.right)]}
        raise ConversionError(
            f"instruction {self.where}: classical expression {node} has no payload form "
            f"(bool and uint values, logic, bitwise and comparison operations, casts)"
        )
