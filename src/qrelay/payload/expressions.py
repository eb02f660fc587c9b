"""Parameter expressions as data: a number, a symbol name, or a small JSON tree.

A gate parameter on the wire is one of::

    0.5                                   a number
    "theta"                               a symbol, declared in ``Circuit.parameters``
    {"fn": "mul", "args": [2, "theta"]}   a function of expressions

The functions are the arithmetic the frameworks emit and the few elementary functions
Qiskit's ``ParameterExpression`` and sympy produce. An expression is evaluated by walking
the tree with :func:`evaluate`; nothing is ever handed to ``eval``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

from typing_extensions import TypedDict

from qrelay.errors import ConversionError, PayloadError


class ExprNode(TypedDict):
    """A function applied to its arguments, for example ``{"fn": "add", "args": [1, "x"]}``."""

    fn: str
    args: list[Expr]


Expr: TypeAlias = "float | str | ExprNode"

#: Function name to (arity, implementation). The single source for validation and evaluation.
FUNCTIONS: Final[Mapping[str, tuple[int, Callable[..., float]]]] = {
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / b),
    "pow": (2, lambda a, b: a**b),
    "neg": (1, lambda a: -a),
    "abs": (1, abs),
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "tan": (1, math.tan),
    "asin": (1, math.asin),
    "acos": (1, math.acos),
    "atan": (1, math.atan),
    "exp": (1, math.exp),
    "log": (1, math.log),
    "sqrt": (1, math.sqrt),
}

#: The functions that are arithmetic operators: their implementations in
#: :data:`FUNCTIONS` apply as well to a framework's symbolic values (sympy's, Qiskit's
#: ``ParameterExpression``), so the adapters build symbolic expressions through them.
ARITHMETIC: Final = frozenset({"add", "sub", "mul", "div", "pow", "neg"})

#: The deepest tree accepted; a deeper one is refused rather than risking the stack.
MAX_DEPTH: Final = 64


def symbols(expr: Expr) -> set[str]:
    """The symbol names an expression reads."""
    if isinstance(expr, str):
        return {expr}
    if isinstance(expr, dict):
        found: set[str] = set()
        for arg in expr["args"]:
            found |= symbols(arg)
        return found
    return set()


def check(expr: object, declared: frozenset[str] | set[str], where: str, depth: int = 0) -> None:
    """Raise ``PayloadError`` (naming ``where``) unless ``expr`` is a valid expression.

    Valid means: finite numbers, declared symbols, known functions with their arity, and a
    depth of at most :data:`MAX_DEPTH`.
    """
    if isinstance(expr, bool):
        raise PayloadError(f"{where}: a boolean is not a parameter value")
    if isinstance(expr, int | float):
        if not math.isfinite(expr):
            raise PayloadError(f"{where}: parameter value {expr!r} is not finite")
        return
    if isinstance(expr, str):
        if expr not in declared:
            raise PayloadError(
                f"{where}: symbol {expr!r} is not declared in the circuit's parameters"
            )
        return
    if isinstance(expr, dict):
        if depth >= MAX_DEPTH:
            raise PayloadError(f"{where}: expression is nested deeper than {MAX_DEPTH}")
        fn = expr.get("fn")
        args = expr.get("args")
        if set(expr) != {"fn", "args"} or not isinstance(args, list):
            raise PayloadError(f"{where}: an expression node is {{'fn': name, 'args': [...]}}")
        spec = FUNCTIONS.get(fn) if isinstance(fn, str) else None
        if spec is None:
            raise PayloadError(
                f"{where}: unknown function {fn!r}; known: {', '.join(sorted(FUNCTIONS))}"
            )
        if len(args) != spec[0]:
            raise PayloadError(f"{where}: {fn} takes {spec[0]} argument(s), got {len(args)}")
        for arg in args:
            check(arg, declared, where, depth + 1)
        return
    raise PayloadError(f"{where}: {type(expr).__name__} is not a parameter expression")


def evaluate(expr: Expr, values: Mapping[str, float]) -> float:
    """The value of ``expr`` with each symbol replaced by ``values[symbol]``.

    Raises ``PayloadError`` for an unbound symbol and for a value that is not a finite
    real number (``div`` by zero, ``log`` of a negative, a negative base to a fractional
    power, an overflow), naming the function.
    """
    if isinstance(expr, str):
        try:
            return float(values[expr])
        except KeyError:
            raise PayloadError(f"no value bound for symbol {expr!r}") from None
    if isinstance(expr, dict):
        name = expr["fn"]
        _, fn = FUNCTIONS[name]
        args = [evaluate(arg, values) for arg in expr["args"]]
        try:
            result = fn(*args)
            if isinstance(result, complex):
                raise ValueError("the result is complex")
            value = float(result)
        except (ArithmeticError, ValueError) as exc:
            raise PayloadError(f"{name}{tuple(args)}: no real value ({exc})") from exc
        if not math.isfinite(value):
            raise PayloadError(f"{name}{tuple(args)}: the value {value} is not finite")
        return value
    return float(expr)


def finite_real(value: Any, where: str) -> float:
    """A framework's numeric parameter value as a finite float, for the adapters.

    Qiskit and Cirq both hand over numbers that may be complex (with a zero imaginary
    part after simplification) or not finite; one check keeps their refusals the same.
    It raises ``ConversionError`` (the value came from a framework object, not from a
    payload) naming ``where``; a value ``float`` cannot read raises its own ``TypeError``
    or ``ValueError``, which the caller words for its framework.
    """
    if isinstance(value, complex):
        if value.imag != 0.0:
            raise ConversionError(f"{where}: complex parameter value {value!r} is not supported")
        value = value.real
    result = float(value)
    if not math.isfinite(result):
        raise ConversionError(f"{where}: parameter value {value!r} is not finite")
    return result


def is_numeric(expr: Expr) -> bool:
    """True when the expression is a plain number (no symbols, no tree)."""
    return isinstance(expr, int | float) and not isinstance(expr, bool)


def add(a: Expr, b: Expr) -> Expr:
    """``a + b`` as an expression (folded when both are numbers)."""
    return _binary("add", a, b)


def mul(a: Expr, b: Expr) -> Expr:
    """``a * b`` as an expression (folded when both are numbers)."""
    return _binary("mul", a, b)


def neg(a: Expr) -> Expr:
    """``-a`` as an expression (folded when ``a`` is a number)."""
    if is_numeric(a):
        return -float(a)  # type: ignore[arg-type]
    return {"fn": "neg", "args": [a]}


def _binary(fn: str, a: Expr, b: Expr) -> Expr:
    if is_numeric(a) and is_numeric(b):
        return float(FUNCTIONS[fn][1](a, b))
    return {"fn": fn, "args": [a, b]}
