"""What both directions of the Qiskit circuit conversion share: metadata keys, gate tables.

:mod:`qrelay_qiskit.convert_reader` (Qiskit to payload) and
:mod:`qrelay_qiskit.convert_writer` (payload to Qiskit) read these; the tables are built
once from ``qrelay.payload.ops.OPS`` and Qiskit's standard-gate mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Final

from qiskit.circuit.library import get_standard_gate_name_mapping

from qrelay.payload.expressions import Expr
from qrelay.payload.ops import OPS, OpKind

__all__ = [
    "ALIASES",
    "META_CREGS",
    "META_PREFIX",
    "META_QREGS",
    "META_VECTORS",
    "gate_params",
    "standard_gates",
]

#: Metadata keys this adapter writes (and strips again on the way back).
META_PREFIX: Final = "qiskit."
META_CREGS: Final = "qiskit.cregs"
META_QREGS: Final = "qiskit.qregs"
META_VECTORS: Final = "qiskit.parameter_vectors"
#: Qiskit gates with no op of their own but a direct op equivalent: name -> (op, params).
ALIASES: Final[Mapping[str, Callable[[list[Expr]], tuple[str, list[Expr]]]]] = {
    "u1": lambda p: ("p", p),
    "u3": lambda p: ("u", p),
    "u2": lambda p: ("u", [math.pi / 2, p[0], p[1]]),
    "cu1": lambda p: ("cp", p),
    "cu3": lambda p: ("cu", [*p, 0.0]),
}


@cache
def standard_gates() -> dict[str, Any]:
    """Payload gate op -> Qiskit ``StandardGate`` (the Rust fast path), where one exists."""
    mapping = get_standard_gate_name_mapping()
    table: dict[str, Any] = {}
    for name, spec in OPS.items():
        if spec.kind is OpKind.GATE and name in mapping:
            std = getattr(mapping[name], "_standard_gate", None)
            if std is not None:
                table[name] = std
    return table


@cache
def gate_params() -> dict[str, int]:
    """Gate op -> its number of parameters (Qiskit names these gates the same way)."""
    return {name: spec.num_params for name, spec in OPS.items() if spec.kind is OpKind.GATE}
