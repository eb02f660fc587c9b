"""Qiskit ``QuantumCircuit`` to payload ``Circuit`` and back.

The payload addresses classical bits by one global index over its registers; Qiskit by
the position of a ``Clbit`` in ``QuantumCircuit.clbits`` (its memory slot). The converter
keeps the two equal, so a measurement lands in the same memory slot after a round trip.
When Qiskit's registers do not simply tile the clbits in order (loose clbits, registers
sharing bits, out-of-order bits), the payload gets registers that do tile them and the
real Qiskit registers are recorded in ``metadata["qiskit.cregs"]`` (and likewise
``"qiskit.qregs"`` for qubits) so :func:`to_qiskit` rebuilds them exactly.

Gates are dispatched by name through tables built once from ``qrelay.payload.ops.OPS``
and Qiskit's standard-gate mapping; payload to Qiskit builds standard gates through
Qiskit's own standard-gate instructions, so neither direction makes a Python gate object
per instruction (figures: "Design measurements" in ``docs/performance.md``).

This module is the public home of the conversion; the code lives in
:mod:`qrelay_qiskit.convert_reader` (Qiskit to payload),
:mod:`qrelay_qiskit.convert_writer` (payload to Qiskit),
:mod:`qrelay_qiskit.convert_registers` (registers and metadata, both ways) and
:mod:`qrelay_qiskit.convert_common` (metadata keys and gate tables).
"""

from __future__ import annotations

from qrelay_qiskit.convert_common import META_CREGS, META_PREFIX, META_QREGS, META_VECTORS
from qrelay_qiskit.convert_reader import expanded_count, from_qiskit
from qrelay_qiskit.convert_writer import to_qiskit

__all__ = [
    "META_CREGS",
    "META_PREFIX",
    "META_QREGS",
    "META_VECTORS",
    "expanded_count",
    "from_qiskit",
    "to_qiskit",
]
