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

from qiskit.circuit import CircuitInstruction, Gate, QuantumCircuit
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
    "gate_templates",
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
def gate_templates() -> dict[str, CircuitInstruction]:
    """Payload gate op -> a Qiskit instruction of its standard gate, to copy with new operands.

    The writer makes each gate instruction as ``template.replace(qubits=..., params=...)``
    (``CircuitInstruction.replace``, public): the copy holds the gate in Qiskit's native
    standard-gate form, with no Python gate object built per instruction (building one, a
    controlled gate above all, cost the writer about twice its time; figures in
    ``docs/performance.md``).

    A parametrised template is made by the ``QuantumCircuit`` method of the gate's name,
    which stores the gate natively; one appended as a gate object keeps that object, and
    its copies would report the object's old parameters. Each template is checked once,
    on a copy with other parameters, and left out (the writer then builds the gate
    object) unless that copy is the named standard gate and reports them. Parameter-free
    templates hold Qiskit's shared immutable gate, so their copies are right as they are.
    """
    mapping = get_standard_gate_name_mapping()
    scratch = QuantumCircuit(4)
    made: list[str] = []
    table: dict[str, CircuitInstruction] = {}
    for name in standard_gates():
        gate = mapping[name]
        if not gate.params:
            table[name] = CircuitInstruction(gate, scratch.qubits[: gate.num_qubits])
            continue
        method = getattr(QuantumCircuit, name, None)
        if method is None:  # e.g. ``xx_plus_yy``: the writer builds the gate object
            continue
        method(scratch, *([0.0] * len(gate.params)), *range(gate.num_qubits))
        made.append(name)
    data = scratch.data
    for index, name in enumerate(made):
        template = data[index]
        probe_values = [0.5 + i for i in range(len(template.params))]
        probe = template.replace(params=probe_values)
        operation = probe.operation
        if (
            probe.is_standard_gate()
            and operation.name == name
            and list(operation.params) == probe_values
        ):
            table[name] = template
    return table


@cache
def gate_params() -> dict[str, int]:
    """Gate op -> its number of parameters (Qiskit names these gates the same way)."""
    return {name: spec.num_params for name, spec in OPS.items() if spec.kind is OpKind.GATE}
