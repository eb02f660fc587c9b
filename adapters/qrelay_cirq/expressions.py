"""Sympy values (Cirq's parameters) to payload expression trees and back.

The tree is read from sympy's own expression structure (``Add``, ``Mul``, ``Pow`` and the
elementary functions), never from strings. Symbol names are kept exactly.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import sympy

from qrelay.errors import ConversionError
from qrelay.payload.expressions import ARITHMETIC, FUNCTIONS, Expr, ExprNode, finite_real

_FUNCTIONS: dict[Any, str] = {
    sympy.sin: "sin",
    sympy.cos: "cos",
    sympy.tan: "tan",
    sympy.asin: "asin",
    sympy.acos: "acos",
    sympy.atan: "atan",
    sympy.exp: "exp",
    sympy.log: "log",
    sympy.Abs: "abs",
}
_SYMPY: dict[str, Any] = {name: fn for fn, name in _FUNCTIONS.items()}
_SYMPY["sqrt"] = sympy.sqrt


def _node(fn: str, *args: Expr) -> Expr:
    if all(isinstance(a, float) for a in args):
        return float(FUNCTIONS[fn][1](*args))
    node: ExprNode = {"fn": fn, "args": list(args)}
    return node


def to_expr(value: Any, where: str = "parameter") -> Expr:
    """A Cirq parameter (number, sympy symbol or expression) as a payload expression."""
    if isinstance(value, numbers.Number) and not isinstance(value, sympy.Basic):
        return finite_real(value, where)
    if not isinstance(value, sympy.Basic):
        raise ConversionError(f"{where}: {type(value).__name__} is not a parameter value")
    if isinstance(value, sympy.Symbol):
        return str(value.name)
    if not value.free_symbols:
        try:
            return finite_real(complex(value), where)
        except TypeError:
            raise ConversionError(f"{where}: {value} is not a number") from None
    if isinstance(value, sympy.Add):
        args = [to_expr(a, where) for a in value.args]
        result = args[0]
        for arg in args[1:]:
            result = _node("add", result, arg)
        return result
    if isinstance(value, sympy.Mul):
        coeff, rest = value.as_coeff_Mul()
        if coeff == -1:
            return _node("neg", to_expr(rest, where))
        args = [to_expr(a, where) for a in value.args]
        result = args[0]
        for arg in args[1:]:
            result = _node("mul", result, arg)
        return result
    if isinstance(value, sympy.Pow):
        base, exponent = value.args
        if exponent == -1:
            return _node("div", 1.0, to_expr(base, where))
        if exponent == sympy.Rational(1, 2):
            return _node("sqrt", to_expr(base, where))
        return _node("pow", to_expr(base, where), to_expr(exponent, where))
    fn = _FUNCTIONS.get(value.func)
    if fn is not None:
        return _node(fn, to_expr(value.args[0], where))
    raise ConversionError(
        f"{where}: the expression {value} uses {value.func.__name__}, which payload "
        "expressions cannot hold"
    )


def from_expr(expr: Expr, symbols: Mapping[str, sympy.Symbol] | None = None) -> Any:
    """A payload expression as a float or a sympy expression."""
    if isinstance(expr, float | int):
        return float(expr)
    if isinstance(expr, str):
        if symbols is not None and expr in symbols:
            return symbols[expr]
        return sympy.Symbol(expr)
    fn = expr["fn"]
    args = [from_expr(arg, symbols) for arg in expr["args"]]
    if fn in ARITHMETIC:
        return FUNCTIONS[fn][1](*args)
    if all(isinstance(a, float) for a in args):
        return float(FUNCTIONS[fn][1](*args))
    return _SYMPY[fn](args[0])
