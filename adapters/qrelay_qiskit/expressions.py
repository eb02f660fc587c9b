"""Qiskit parameter values to payload expression trees and back.

Qiskit keeps a ``ParameterExpression`` as a replay program (the one QPY serialises): a
stack machine of arithmetic and elementary functions. Walking that program gives the
payload tree directly, without going through sympy, which is both faster and never
parses strings. Symbols keep their names exactly (``theta``, ``v[3]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from qiskit.circuit import Parameter, ParameterExpression, ParameterVector
from qiskit.circuit.parameterexpression import OpCode

from qrelay.errors import ConversionError
from qrelay.payload.expressions import FUNCTIONS, Expr, ExprNode, finite_real

_BINARY: Final = {
    int(OpCode.ADD): "add",
    int(OpCode.SUB): "sub",
    int(OpCode.MUL): "mul",
    int(OpCode.DIV): "div",
    int(OpCode.POW): "pow",
}
#: Reverse ops: the replay has already swapped the operands, so ``rhs op lhs``.
_REVERSED: Final = {
    int(OpCode.RSUB): "sub",
    int(OpCode.RDIV): "div",
    int(OpCode.RPOW): "pow",
}
_UNARY: Final = {
    int(OpCode.SIN): "sin",
    int(OpCode.COS): "cos",
    int(OpCode.TAN): "tan",
    int(OpCode.ASIN): "asin",
    int(OpCode.ACOS): "acos",
    int(OpCode.ATAN): "atan",
    int(OpCode.EXP): "exp",
    int(OpCode.LOG): "log",
    int(OpCode.ABS): "abs",
}
_CONJ: Final = int(OpCode.CONJ)

_VECTOR_ELEMENT = re.compile(r"^(.+)\[(\d+)\]$")


def to_expr(value: Any, where: str = "parameter") -> Expr:
    """A Qiskit gate parameter (number, ``Parameter`` or expression) as a payload expression."""
    if not isinstance(value, ParameterExpression):
        try:
            return finite_real(value, where)
        except ConversionError:  # a ValueError too: keep its own message (not finite, complex)
            raise
        except (TypeError, ValueError):
            raise ConversionError(
                f"{where}: {type(value).__name__} is not a numeric parameter"
            ) from None
    if isinstance(value, Parameter):
        return str(value.name)
    if not value.parameters:
        return finite_real(value.numeric(), where)
    if value.is_symbol():
        return str(next(iter(value.parameters)).name)
    stack: list[Expr] = []
    for step in value._qpy_replay:
        stack.extend(to_expr(o, where) for o in (step.lhs, step.rhs) if o is not None)
        code = int(step.op)
        fn = _BINARY.get(code)
        if fn is not None:
            rhs = stack.pop()
            lhs = stack.pop()
            stack.append(_node(fn, lhs, rhs))
            continue
        fn = _REVERSED.get(code)
        if fn is not None:
            rhs = stack.pop()
            lhs = stack.pop()
            stack.append(_node(fn, rhs, lhs))
            continue
        fn = _UNARY.get(code)
        if fn is not None:
            stack.append(_node(fn, stack.pop()))
            continue
        if code == _CONJ:  # parameters are real: conjugation is the identity
            continue
        raise ConversionError(
            f"{where}: the expression {value} uses {OpCode(code).name}, which payload "
            "expressions cannot hold"
        )
    if len(stack) != 1:
        raise ConversionError(f"{where}: could not read the expression {value}")
    return stack[0]


def _node(fn: str, *args: Expr) -> Expr:
    if all(isinstance(a, float) for a in args):
        return float(FUNCTIONS[fn][1](*args))
    node: ExprNode = {"fn": fn, "args": list(args)}
    return node


class SymbolTable:
    """The Qiskit ``Parameter`` of each payload symbol, made once per circuit.

    Names of the form ``name[i]`` become elements of one ``ParameterVector`` called
    ``name`` (its length is ``vector_lengths[name]`` when known, else the largest index
    plus one), so a circuit that came from a vector goes back to one.
    """

    def __init__(self, names: list[str], vector_lengths: Mapping[str, int] | None = None) -> None:
        self.params: dict[str, Parameter] = {}
        wanted: dict[str, int] = {}
        for name in names:
            match = _VECTOR_ELEMENT.match(name)
            if match:
                base, index = match.group(1), int(match.group(2))
                wanted[base] = max(wanted.get(base, 0), index + 1)
        lengths = dict(vector_lengths or {})
        for base, length in wanted.items():
            vector = ParameterVector(base, max(length, int(lengths.get(base, 0))))
            for element in vector:
                self.params[element.name] = element
        for name in names:
            if name not in self.params:
                self.params[name] = Parameter(name)

    def get(self, name: str) -> Parameter:
        param = self.params.get(name)
        if param is None:
            param = self.params[name] = Parameter(name)
        return param


def from_expr(expr: Expr, table: SymbolTable) -> float | ParameterExpression:
    """A payload expression as a Qiskit parameter value."""
    if isinstance(expr, float | int):
        return float(expr)
    if isinstance(expr, str):
        return table.get(expr)
    fn = expr["fn"]
    args = [from_expr(arg, table) for arg in expr["args"]]
    return _apply(fn, args)


def _apply(fn: str, args: list[Any]) -> Any:
    if fn == "add":
        return args[0] + args[1]
    if fn == "sub":
        return args[0] - args[1]
    if fn == "mul":
        return args[0] * args[1]
    if fn == "div":
        return args[0] / args[1]
    if fn == "pow":
        return args[0] ** args[1]
    if fn == "neg":
        return -args[0]
    (arg,) = args
    if not isinstance(arg, ParameterExpression):
        return float(FUNCTIONS[fn][1](arg))
    if fn == "sqrt":
        return arg**0.5
    method = {
        "abs": "abs",
        "sin": "sin",
        "cos": "cos",
        "tan": "tan",
        "asin": "arcsin",
        "acos": "arccos",
        "atan": "arctan",
        "exp": "exp",
        "log": "log",
    }[fn]
    return getattr(arg, method)()
