"""Registers and metadata of a Qiskit circuit, both ways.

The payload addresses classical bits by one global index over its registers; Qiskit by
the position of a ``Clbit`` in ``QuantumCircuit.clbits`` (its memory slot). The reader
keeps the two equal. When Qiskit's registers do not simply tile the bits in order (loose
bits, registers sharing bits, out-of-order bits), the payload gets registers that do tile
them and the real Qiskit registers are recorded in ``metadata["qiskit.cregs"]`` (and
``"qiskit.qregs"`` for qubits); the writer rebuilds them from there. Both halves live
here so the recording and its reading stay in one place.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from qiskit.circuit import ClassicalRegister, Clbit, QuantumCircuit, QuantumRegister, Qubit

from qrelay.errors import ConversionError
from qrelay.payload.circuit import Circuit, Register
from qrelay_qiskit.convert_common import META_CREGS, META_PREFIX, META_QREGS

__all__ = ["add_clbits", "add_qubits", "classical_layout", "qubit_layout", "user_metadata"]

#: The logger keeps the name it had when both directions lived in ``convert``.
log = logging.getLogger("qrelay_qiskit.convert")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\[\].:\-]*$")

# ------------------------------------------------------------------ Qiskit -> payload


def user_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON-able part of a circuit's metadata; other entries are logged and dropped."""
    kept: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or key.startswith(META_PREFIX):
            log.warning("circuit metadata key %r is reserved or not a string; dropped", key)
            continue
        try:
            kept[key] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            log.warning("circuit metadata %r is not JSON-able; dropped from the payload", key)
    return kept


def _tiles(bits: Sequence[Any], regs: Sequence[Any], index: Mapping[Any, int]) -> bool:
    """True when ``regs`` hold every bit exactly once, in order, under valid names."""
    pos = 0
    for reg in regs:
        if not _NAME.match(reg.name):
            return False
        for j, bit in enumerate(reg):
            if index[bit] != pos + j:
                return False
        pos += len(reg)
    return pos == len(bits)


def qubit_layout(qc: QuantumCircuit, metadata: dict[str, Any]) -> list[Register] | None:
    index = {bit: i for i, bit in enumerate(qc.qubits)}
    if qc.qregs and _tiles(qc.qubits, qc.qregs, index):
        return [Register(name=reg.name, size=len(reg)) for reg in qc.qregs]
    metadata[META_QREGS] = [[reg.name, [index[b] for b in reg]] for reg in qc.qregs]
    return None


def classical_layout(qc: QuantumCircuit, metadata: dict[str, Any]) -> list[Register]:
    """Payload registers tiling the clbits in Qiskit's order (memory slot = global clbit)."""
    clbits = qc.clbits
    index = {bit: i for i, bit in enumerate(clbits)}
    cregs = qc.cregs
    if _tiles(clbits, cregs, index):
        return [Register(name=reg.name, size=len(reg)) for reg in cregs]
    metadata[META_CREGS] = [[reg.name, [index[b] for b in reg]] for reg in cregs]
    starts: dict[int, Any] = {}
    taken: set[int] = set()
    used_names: set[str] = set()
    for reg in cregs:
        if not len(reg) or not _NAME.match(reg.name) or reg.name in used_names:
            continue
        first = index[reg[0]]
        span = range(first, first + len(reg))
        if any(index[bit] != first + j for j, bit in enumerate(reg)) or taken.intersection(span):
            continue
        starts[first] = reg
        taken.update(span)
        used_names.add(reg.name)
    registers: list[Register] = []
    i = 0
    while i < len(clbits):
        reg = starts.get(i)
        if reg is not None:
            registers.append(Register(name=reg.name, size=len(reg)))
            i += len(reg)
            continue
        j = i
        while j < len(clbits) and j not in starts:
            j += 1
        name = f"_clbits{i}"
        while name in used_names:
            name = "_" + name
        used_names.add(name)
        registers.append(Register(name=name, size=j - i))
        i = j
    return registers


# ------------------------------------------------------------------ payload -> Qiskit


def add_qubits(qc: QuantumCircuit, circuit: Circuit, qregs: Any) -> None:
    if circuit.qubit_registers is not None:
        for reg in circuit.qubit_registers:
            qc.add_register(QuantumRegister(reg.size, reg.name))
        return
    if qregs is not None:
        bits = [Qubit() for _ in range(circuit.num_qubits)]
        qc.add_bits(bits)
        for name, indices in _bit_groups(qregs, circuit.num_qubits, META_QREGS):
            qc.add_register(QuantumRegister(name=name, bits=[bits[i] for i in indices]))
        return
    if circuit.num_qubits:
        qc.add_register(QuantumRegister(circuit.num_qubits, "q"))


def add_clbits(qc: QuantumCircuit, circuit: Circuit, cregs: Any) -> None:
    if cregs is None:
        for reg in circuit.registers:
            qc.add_register(ClassicalRegister(reg.size, reg.name))
        return
    bits = [Clbit() for _ in range(circuit.num_clbits)]
    qc.add_bits(bits)
    for name, indices in _bit_groups(cregs, circuit.num_clbits, META_CREGS):
        qc.add_register(ClassicalRegister(name=name, bits=[bits[i] for i in indices]))


def _bit_groups(value: Any, width: int, key: str) -> list[tuple[str, list[int]]]:
    groups: list[tuple[str, list[int]]] = []
    if not isinstance(value, list):
        raise ConversionError(f"metadata[{key!r}] must be a list of [name, [bit, ...]]")
    for entry in value:
        ok = (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], list)
            and all(type(i) is int and 0 <= i < width for i in entry[1])
        )
        if not ok:
            raise ConversionError(
                f"metadata[{key!r}]: entry {entry!r} is not [name, [bit index < {width}, ...]]"
            )
        groups.append((entry[0], entry[1]))
    return groups
