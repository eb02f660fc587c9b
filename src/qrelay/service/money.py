"""Money, exactly: balances, costs and estimates as whole micro-units.

The service stores and adds up money as integers, one millionth of the unit of the
targets' ``price_per_shot`` each, so an estimate, a charge and a balance compare and
subtract exactly: 200 shots at 0.0003 cost exactly the balance of 0.06. Floats stay on
the wire only (``balance``, ``cost``, ``estimated_cost``): each amount is read through its
shortest decimal form, which is the number a person typed, and is sent back as the float
nearest to its exact decimal value.

A price with digits below a micro-unit is kept exactly while the shots are multiplied,
and the product is rounded (half to even) to a micro-unit once.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

#: Micro-units in one unit of money.
MICROS_PER_UNIT: Final = 1_000_000
#: The largest amount a 64-bit column holds, in micro-units.
MAX_MICROS: Final = 2**63 - 1
_UNIT: Final = Decimal(MICROS_PER_UNIT)


def _decimal(amount: float | int | str | Decimal) -> Decimal:
    # repr of a float is its shortest round-trip decimal: 0.06, not 0.0599999...
    return (
        amount
        if isinstance(amount, Decimal)
        else Decimal(repr(amount) if isinstance(amount, float) else amount)
    )


def to_micros(amount: float | int | str | Decimal) -> int:
    """``amount`` (in units) as whole micro-units, rounded half to even."""
    value = (_decimal(amount) * _UNIT).to_integral_value(rounding=ROUND_HALF_EVEN)
    return min(int(value), MAX_MICROS)


def from_micros(micros: int) -> float:
    """The float nearest to ``micros`` micro-units, in units (for the wire)."""
    return float(Decimal(micros) / _UNIT)


def text(micros: int) -> str:
    """``micros`` in units as exact decimal text, for messages: ``60000`` is ``0.06``."""
    value = (Decimal(micros) / _UNIT).normalize()
    return f"{value:f}"


def cost(shots: int, price_per_shot: float) -> int:
    """What ``shots`` shots cost at ``price_per_shot`` (units per shot), in micro-units."""
    return to_micros(_decimal(price_per_shot) * shots)
