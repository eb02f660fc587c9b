"""Cirq's classical conditions as payload classical expressions, and ``repeat_until`` loops.

A Cirq condition reads a measurement key's value: the measured bits (Cirq's invert mask
applied) as an integer whose first qubit is the most significant bit. A payload register
holds the raw bits, bit 0 first. So a test of a key's value against a number becomes a
test of the register against the raw bits that make that number, and "non-zero" becomes
"not the invert mask". ``cirq.KeyCondition`` and the ``cirq.SympyCondition`` expressions
built from ``==``, ``!=``, ``> 0``, ``&``, ``|``, ``~`` and ``^`` over keys and integers
are read; anything else is refused by name.

``CircuitOperation(body, repeat_until=condition)`` runs its body, then again until the
condition holds: it is read as the body, then ``while (not condition)`` the body again,
both writing the same registers, so the condition always reads the latest turn.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import cirq
import sympy

from qrelay.errors import ConversionError
from qrelay.payload.circuit import Instruction
from qrelay.payload.classical import ClassicalExpr

if TYPE_CHECKING:
    from qrelay_cirq.convert_reader import Reader


def group_of(reader: Reader, key: str, index: int) -> tuple[str, int, int, int]:
    """``(register, first clbit, size, invert mask)`` of measurement ``key``'s instance
    ``index`` (negative: counted back from the latest)."""
    count = reader.instances.get(key, 0)
    instance = index if index >= 0 else count + index
    group = reader.groups.get((key, instance))
    if group is None:
        raise ConversionError(
            f"classical control reads key {key!r} (index {index}) before it is measured"
        )
    return group


def _nonzero(reader: Reader, key: str, index: int) -> ClassicalExpr:
    name, start, size, mask = group_of(reader, key, index)
    if size == 1:
        bit: ClassicalExpr = {"clbit": start}
        return {"op": "logic_not", "args": [bit]} if mask else bit
    return {"op": "not_equal", "args": [{"register": name}, {"lit": mask, "width": size}]}


def _equals(reader: Reader, key: str, value: int, negate: bool) -> ClassicalExpr:
    name, _start, size, mask = group_of(reader, key, -1)
    if not 0 <= value < (1 << size):
        raise ConversionError(f"condition compares key {key!r} of {size} bit(s) with {value}")
    raw = 0
    for j in range(size):
        raw |= (((value >> (size - 1 - j)) & 1) ^ ((mask >> j) & 1)) << j
    op = "not_equal" if negate else "equal"
    return {"op": op, "args": [{"register": name}, {"lit": raw, "width": size}]}


def condition_expr(reader: Reader, condition: Any) -> ClassicalExpr:
    """The payload expression of one Cirq condition."""
    if isinstance(condition, cirq.KeyCondition):
        return _nonzero(reader, str(condition.key), condition.index)
    if isinstance(condition, cirq.SympyCondition):
        return _Sympy(reader).read(condition.expr)
    raise ConversionError(f"classical control {condition} is not supported")


def conditions_expr(reader: Reader, conditions: Any) -> ClassicalExpr:
    """Cirq's conditions of one operation, all of which must hold."""
    found = [condition_expr(reader, c) for c in conditions]
    result = found[0]
    for more in found[1:]:
        result = {"op": "logic_and", "args": [result, more]}
    return result


class _Sympy:
    """Reads a ``SympyCondition``'s expression over measurement keys."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def read(self, node: Any) -> ClassicalExpr:
        if isinstance(node, sympy.Symbol):
            return _nonzero(self.reader, node.name, -1)
        if node is sympy.true or node is sympy.false:
            return {"lit": bool(node)}
        if isinstance(node, sympy.Not):
            return {"op": "logic_not", "args": [self.read(node.args[0])]}
        for kind, op in ((sympy.And, "logic_and"), (sympy.Or, "logic_or"), (sympy.Xor, "bit_xor")):
            if isinstance(node, kind):
                parts = [self.read(arg) for arg in node.args]
                result = parts[0]
                for part in parts[1:]:
                    result = {"op": op, "args": [result, part]}
                return result
        if isinstance(node, sympy.Eq | sympy.Ne | sympy.StrictGreaterThan):
            return self.compare(node)
        raise ConversionError(f"condition {node} has no payload form")

    def compare(self, node: Any) -> ClassicalExpr:
        left, right = node.args
        if isinstance(left, sympy.Integer):
            left, right = right, left
        bit = self.bit(left) if isinstance(right, sympy.Integer) else None
        if bit is not None and int(right) in (0, 1) and not isinstance(node, sympy.Gt):
            holds = (int(right) == 1) == isinstance(node, sympy.Eq)
            return bit if holds else {"op": "logic_not", "args": [bit]}
        if not (isinstance(left, sympy.Symbol) and isinstance(right, sympy.Integer)):
            raise ConversionError(f"condition {node}: compare one key with an integer")
        value = int(right)
        if isinstance(node, sympy.StrictGreaterThan):
            if value != 0:
                raise ConversionError(f"condition {node}: only '> 0' orders a key's value")
            return _nonzero(self.reader, left.name, -1)
        return _equals(self.reader, left.name, value, negate=isinstance(node, sympy.Ne))

    def bit(self, node: Any) -> ClassicalExpr | None:
        """One bit of a key, as the Cirq writer extracts it (``Mod(floor(k / 2**s), 2)``,
        or ``1 -`` that), as a payload bool; ``None`` for anything else."""
        const, rest = node.as_coeff_Add()
        if const == 1:
            coeff, inner = rest.as_coeff_Mul()
            found = self.bit(inner) if coeff == -1 else None
            return None if found is None else {"op": "logic_not", "args": [found]}
        if not (isinstance(node, sympy.Mod) and node.args[1] == 2):
            return None
        inner = node.args[0]
        if isinstance(inner, sympy.floor):
            inner = inner.args[0]
        coeff, symbol = inner.as_coeff_Mul()
        if not isinstance(symbol, sympy.Symbol) or coeff <= 0 or (1 / coeff) % 1:
            return None
        shift = int(1 / coeff).bit_length() - 1
        _, start, size, mask = group_of(self.reader, symbol.name, -1)
        position = size - 1 - shift
        if not 0 <= position < size or 1 << shift != int(1 / coeff):
            return None
        clbit: ClassicalExpr = {"clbit": start + position}
        return {"op": "logic_not", "args": [clbit]} if (mask >> position) & 1 else clbit


def repeat_until(
    reader: Reader, op: cirq.CircuitOperation, out: list[Instruction], where: str
) -> None:
    """A ``repeat_until`` circuit operation: its body, then a ``while`` of it."""
    once = op.replace(repeat_until=None, repetitions=1)
    body: list[Instruction] = []
    reader.operations(once.mapped_circuit(deep=False).all_operations(), body, f"{where}.")
    done = condition_expr(reader, op.repeat_until)
    out.extend(body)
    out.append(
        {
            "op": "while",
            "qubits": [],
            "test": {"op": "logic_not", "args": [done]},
            "body": copy.deepcopy(body),
        }
    )
