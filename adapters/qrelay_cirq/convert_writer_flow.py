"""Payload control flow in Cirq's terms: classical expressions as sympy, loops as repetitions.

Cirq's conditions read measurement keys, each as the integer of its latest measurement
(first qubit most significant, ``invert_mask`` applied). :class:`SympyConditions` writes a
payload classical expression over clbits and registers as a ``sympy`` condition over
those keys; a clbit or register that is one whole measurement becomes a plain comparison
of its key, which :mod:`qrelay_cirq.convert_conditions` reads back. Typed variables,
bitwise operations on integers and casts to integers have no Cirq form and are refused.

Cirq loops are ``CircuitOperation(body, repeat_until=...)``, which runs its body at least
once and forbids classical controls on operations that measure. So a payload ``while`` is
written only in the shape the Cirq reader makes of ``repeat_until``: the body, then
``while (not done)`` the same body, with the body measuring the keys ``done`` reads
(:func:`folded_loops` finds those shapes). A ``for`` over a range whose body has no
measurement and does not read its loop parameter becomes ``repetitions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy

from qrelay.errors import ConversionError
from qrelay.payload import expressions as pexpr
from qrelay.payload.circuit import Instruction
from qrelay.payload.classical import ClassicalExpr
from qrelay.payload.control import BLOCK_OPS, blocks, loop_values

__all__ = ["SympyConditions", "done_expr", "folded_loops", "repetitions"]

#: (key, instance, position in the key, key width, inverted) of the measurement of a clbit.
Writer = tuple[str, int, int, int, bool]

_ORDER = {"less": sympy.Lt, "less_equal": sympy.Le, "greater": sympy.Gt, "greater_equal": sympy.Ge}


class SympyConditions:
    """Writes payload classical expressions as sympy over measurement keys.

    ``writer_of(clbit)`` gives the latest measurement of a clbit (raising
    ``ConversionError`` when there is none); ``register_bits(name)`` the global clbits of
    a register, bit 0 first.
    """

    def __init__(
        self,
        writer_of: Callable[[int], Writer],
        register_bits: Callable[[str], Sequence[int]],
        where: str,
    ) -> None:
        self.writer_of = writer_of
        self.register_bits = register_bits
        self.where = where

    def condition(self, node: ClassicalExpr) -> Any:
        """A sympy boolean that holds exactly when ``node`` reads true."""
        if "register" in node:
            compared = self.key_value([node, {"lit": 0, "width": 1}])
            if compared is not None:
                return sympy.Ne(*compared)
        op = node.get("op")
        if op == "cast" and "width" not in node:
            return self.condition(node["args"][0])
        if op == "logic_not":
            return sympy.Not(self.condition(node["args"][0]))
        if op in ("logic_and", "logic_or"):
            kind = sympy.And if op == "logic_and" else sympy.Or
            return kind(*[self.condition(arg) for arg in node["args"]])
        value, is_bool = self.read(node)
        return value if is_bool else sympy.Ne(value, 0)

    def read(self, node: ClassicalExpr) -> tuple[Any, bool]:
        """``(sympy expression, is it a boolean)`` of one node."""
        if "clbit" in node:
            return sympy.Eq(self.bit(node["clbit"]), 1), True
        if "register" in node:
            return self.register(node["register"]), False
        if "var" in node:
            raise self.refuse(f"variable {node['var']!r}: Cirq conditions read keys only")
        if "lit" in node:
            lit = node["lit"]
            if isinstance(lit, bool):
                return (sympy.true if lit else sympy.false), True
            return sympy.Integer(lit), False
        if node["op"] in ("equal", "not_equal"):
            compared = self.key_value(node["args"])
            if compared is not None:
                kind = sympy.Eq if node["op"] == "equal" else sympy.Ne
                return kind(*compared), True
        if node["op"] in ("logic_not", "logic_and", "logic_or"):
            return self.condition(node), True
        return self.operation(node["op"], [self.read(arg) for arg in node["args"]], node)

    def key_value(self, args: list[ClassicalExpr]) -> tuple[Any, int] | None:
        """``(key symbol, Cirq's value)`` when ``args`` compare a register that is one
        whole measurement with an integer: the comparison Cirq itself would write."""
        register, lit = args
        if "lit" in register:
            register, lit = lit, register
        value = lit.get("lit")
        if "register" not in register or type(value) is not int:
            return None
        writers = [self.writer_of(c) for c in self.register_bits(register["register"])]
        key, _, _, width, _ = writers[0]
        if width != len(writers) or any(w[0] != key for w in writers):
            return None
        if not 0 <= value < 1 << width:
            return None  # never equal: the sum of the bits says so, where the key cannot
        cirq_value = 0
        for j, (_, _, position, _, inverted) in enumerate(writers):
            cirq_value |= (((value >> j) & 1) ^ inverted) << (width - 1 - position)
        return sympy.Symbol(key), cirq_value

    def operation(
        self, op: str, args: list[tuple[Any, bool]], node: ClassicalExpr
    ) -> tuple[Any, bool]:
        bools = [is_bool for _, is_bool in args]
        values = [value for value, _ in args]
        if op == "cast" and "width" not in node:
            return self.condition(node), True
        if op == "bit_not" and bools[0]:
            return sympy.Not(values[0]), True
        if op in ("bit_and", "bit_or", "bit_xor") and all(bools):
            kind = {"bit_and": sympy.And, "bit_or": sympy.Or, "bit_xor": sympy.Xor}[op]
            return kind(*values), True
        if op in ("equal", "not_equal"):
            if all(bools):
                same = sympy.Equivalent(*values)
                return (same if op == "equal" else sympy.Not(same)), True
            kind = sympy.Eq if op == "equal" else sympy.Ne
            return kind(*values), True
        if op in _ORDER:
            return _ORDER[op](*values), True
        raise self.refuse(f"operation {op!r} on integers has no Cirq condition")

    def bit(self, clbit: int) -> Any:
        """Clbit ``clbit``'s raw value (0 or 1) from its key's value."""
        key, _instance, position, width, inverted = self.writer_of(clbit)
        symbol = sympy.Symbol(key)
        if width == 1:
            return 1 - symbol if inverted else symbol
        bit = sympy.Mod(sympy.floor(symbol / 2 ** (width - 1 - position)), 2)
        return 1 - bit if inverted else bit

    def register(self, name: str) -> Any:
        """A register's raw value (bit 0 least significant) from its keys' values."""
        clbits = list(self.register_bits(name))
        writers = [self.writer_of(c) for c in clbits]
        key, _, _, width, _ = writers[0]
        if width == len(writers) and all(w[0] == key for w in writers):
            # one whole measurement: a linear function of the key, kept a plain symbol
            # when the bits are in Cirq's order, so it reads back as a comparison
            symbol = sympy.Symbol(key)
            positions = [w[2] for w in writers]
            if positions == list(reversed(range(width))) and not any(w[4] for w in writers):
                return symbol
        return sympy.Add(*[self.bit(c) * 2**j for j, c in enumerate(clbits)])

    def refuse(self, why: str) -> ConversionError:
        return ConversionError(f"{self.where}: {why}")


def done_expr(inst: Instruction) -> ClassicalExpr:
    """The condition that ends a ``while``: the negation of its test (or condition)."""
    if "test" in inst:
        test: ClassicalExpr = inst["test"]
        if test.get("op") == "logic_not":
            return test["args"][0]
    else:
        cond = inst["condition"]
        if "clbit" in cond:
            bit: ClassicalExpr = {"clbit": cond["clbit"]}
            return bit if cond["value"] == 0 else {"op": "logic_not", "args": [bit]}
        # the width is not read here: sympy compares the register's value itself
        value: ClassicalExpr = {"lit": int(cond["value"]), "width": 64}
        test = {"op": "equal", "args": [{"register": cond["register"]}, value]}
    return {"op": "logic_not", "args": [test]}


def folded_loops(instructions: Sequence[Instruction]) -> dict[int, tuple[int, int]]:
    """``{index of the body's copy: (index of the while, resets dropped)}`` for each
    top-level ``while`` written as its body followed by ``while (test) body`` -- the shape
    of Cirq's ``repeat_until``.

    The copy may leave out the body's leading resets of qubits nothing before it touched
    (a fresh qubit is reset already), the way repeat-until-success is usually written.
    """
    found: dict[int, tuple[int, int]] = {}
    taken = -1
    for index, inst in enumerate(instructions):
        if inst["op"] != "while":
            continue
        body = inst.get("body", [])
        resets = 0
        while resets < len(body) and body[resets]["op"] == "reset":
            resets += 1
        for drop in sorted({0, resets}):
            start = index - len(body) + drop
            if start <= taken or list(instructions[start:index]) != body[drop:]:
                continue
            fresh = {q for sub in body[:drop] for q in sub["qubits"]}
            if drop and not fresh.isdisjoint(touched(instructions[:start])):
                continue
            found[start] = (index, drop)
            taken = index
            break
    return found


def touched(instructions: Sequence[Instruction]) -> set[int]:
    """The qubits ``instructions`` act on, in the bodies of blocks too."""
    qubits: set[int] = set()
    for inst in instructions:
        qubits.update(inst["qubits"])
        for _, body in blocks(inst):
            qubits |= touched(body)
    return qubits


def repetitions(inst: Instruction, where: str) -> int:
    """How many times a ``for`` body repeats, refusing one Cirq repetitions cannot hold."""
    if "loop_range" not in inst:
        raise ConversionError(f"{where} (for): only a loop over a range becomes Cirq repetitions")
    parameter = inst.get("loop_parameter")
    for sub in inst.get("body", []):
        if sub["op"] == "measure" or sub["op"] in BLOCK_OPS:
            raise ConversionError(
                f"{where} (for): a body with {sub['op']!r} is not written to Cirq repetitions"
            )
        if parameter is not None and any(
            parameter in pexpr.symbols(p) for p in sub.get("params", ())
        ):
            raise ConversionError(
                f"{where} (for): the body reads loop parameter {parameter!r}; Cirq "
                "repetitions repeat one body"
            )
    return len(loop_values(inst))
