"""What both directions of the Qiskit circuit conversion share: metadata keys, gate tables.

:mod:`qrelay_qiskit.convert_reader` (Qiskit to payload) and
:mod:`qrelay_qiskit.convert_writer` (payload to Qiskit) read these; the tables are built
once from ``qrelay.payload.ops.OPS`` and Qiskit's standard-gate mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Final

from qiskit.circuit import Gate
from qiskit.circuit.library import get_standard_gate_name_mapping

from qrelay.payload.expressions import Expr
from qrelay.payload.ops import OPS, OpKind

__all__ = [
    "ALIASES",
    "META_CREGS",
    "META_PREFIX",
    "META_QREGS",
    "META_VECTORS",
    "fixed_gates",
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
def standard_gates() -> dict[str, type[Gate]]:
    """Payload gate op -> the Qiskit gate class of the same name and number of parameters.

    Read from Qiskit's public name mapping (each entry's ``base_class``), so the writer
    builds the very gates ``QuantumCircuit`` methods build.
    """
    mapping = get_standard_gate_name_mapping()
    table: dict[str, type[Gate]] = {}
    for name, spec in OPS.items():
        gate = mapping.get(name)
        if not isinstance(gate, Gate) or spec.kind is not OpKind.GATE:
            continue
        if gate.name == name and len(gate.params) == spec.num_params:
            table[name] = gate.base_class
    return table


@cache
def fixed_gates() -> dict[str, Gate]:
    """Parameter-free payload gate op -> its shared Qiskit gate instance.

    Qiskit's parameter-free standard gates are immutable singletons, so one instance serves
    every instruction without a label.
    """
    mapping = get_standard_gate_name_mapping()
    return {name: mapping[name] for name in standard_gates() if not mapping[name].params}


@cache
def gate_params() -> dict[str, int]:
    """Gate op -> its number of parameters (Qiskit names these gates the same way)."""
    return {name: spec.num_params for name, spec in OPS.items() if spec.kind is OpKind.GATE}
