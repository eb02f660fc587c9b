"""Qiskit parameter values to payload expression trees and back.

A compound ``ParameterExpression`` is read through its public ``sympify()``: the sympy
tree it gives is walked by the one sympy reader the adapters share
(:func:`qrelay_cirq.expressions.to_expr`, Cirq's parameters being sympy values), so both
front ends turn an expression into the same payload tree. Symbols keep their names
exactly (``theta``, ``v[3]``); a plain ``Parameter`` or number never reaches sympy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from qiskit.circuit import Parameter, ParameterExpression, ParameterVector

from qrelay.errors import ConversionError
from qrelay.payload.expressions import ARITHMETIC, FUNCTIONS, Expr, finite_real

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
    from qrelay_cirq.expressions import to_expr as sympy_to_expr

    return sympy_to_expr(value.sympify(), where)


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
    if fn in ARITHMETIC:
        return FUNCTIONS[fn][1](*args)
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
