"""Twirling and dynamical decoupling for ``QRelaySamplerV2``: randomized copies, one job.

With ``twirling`` on, each PUB's circuit becomes ``num_randomizations`` copies (random
Paulis around its two-qubit gates, random ``x`` flips before its final measurements),
each run for ``shots_per_randomization`` shots in the same service job. The copies'
readouts are joined back, row by row, into one readout per binding row with the flips
undone on the packed bits, so the PUB's ``BitArray`` reads as an untwirled run would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit.circuit import QuantumCircuit

from qrelay.errors import JobFailedError, ValidationError
from qrelay.payload import Readout, RegisterReadout
from qrelay_qiskit.mitigation import decouple, twirl_gates


@dataclass
class TwirledCopy:
    """One randomized copy of a PUB's circuit and the register bits its flips toggle."""

    circuit: QuantumCircuit
    #: register name -> packed flip mask (little-endian, one row's bytes)
    flips: dict[str, npt.NDArray[np.uint8]]


def _final_measurements(circuit: QuantumCircuit, index: int) -> None:
    """Refuse a circuit whose measurements are not all final (flips would leak into logic)."""
    measured: set[int] = set()
    for inst in circuit.data:
        qubits = {circuit.find_bit(q).index for q in inst.qubits}
        name = inst.operation.name
        if name == "measure":
            measured |= qubits
        elif name != "barrier" and qubits & measured:
            raise ValidationError(
                f"pub {index}: twirling.enable_measure needs measurements that come last; "
                f"{name!r} acts on a measured qubit"
            )
        if getattr(inst.operation, "blocks", ()):
            raise ValidationError(f"pub {index}: twirling.enable_measure takes no control flow")


def _flip_measurements(
    circuit: QuantumCircuit, rng: np.random.Generator
) -> tuple[QuantumCircuit, dict[str, npt.NDArray[np.uint8]]]:
    out = circuit.copy_empty_like()
    flips = {creg.name: np.zeros((creg.size + 7) // 8, dtype=np.uint8) for creg in circuit.cregs}
    for inst in circuit.data:
        if inst.operation.name == "measure" and rng.integers(0, 2):
            out.x(inst.qubits[0])
            out.append(inst)
            for register, bit in circuit.find_bit(inst.clbits[0]).registers:
                flips[register.name][bit // 8] ^= np.uint8(1 << (bit % 8))
            continue
        out.append(inst)
    return out, flips


def twirled_copies(
    circuit: QuantumCircuit,
    *,
    index: int,
    count: int,
    gates: bool,
    measure: bool,
    rng: np.random.Generator,
    native: set[str],
    target: Any,
    decoupling: str | None,
) -> list[TwirledCopy]:
    """``count`` randomized copies of a (compiled) circuit, decoupled when asked."""
    if measure:
        _final_measurements(circuit, index)
    copies = []
    for _ in range(count):
        twirled = twirl_gates(circuit, rng, native) if gates else circuit
        flips: dict[str, npt.NDArray[np.uint8]] = {}
        if measure:
            twirled, flips = _flip_measurements(twirled, rng)
        if decoupling is not None:
            twirled = decouple(twirled, target, decoupling)
        copies.append(TwirledCopy(twirled, flips))
    return copies


def join_copies(copies: list[TwirledCopy], rows: list[list[Readout]]) -> list[Readout]:
    """One readout per binding row: the copies' shots one after another, flips undone."""
    counts = {len(r) for r in rows}
    if len(counts) != 1:
        raise JobFailedError(f"twirled copies returned different row counts {sorted(counts)}")
    joined = []
    for row in range(counts.pop()):
        parts = [copy_rows[row] for copy_rows in rows]
        registers = []
        for register in parts[0].registers:
            blobs = []
            for copy, readout in zip(copies, parts, strict=True):
                packed = readout.register(register.name).packed()
                flip = copy.flips.get(register.name)
                blobs.append((packed ^ flip if flip is not None else packed).tobytes())
            registers.append(
                RegisterReadout(name=register.name, width=register.width, bits=b"".join(blobs))
            )
        joined.append(
            Readout(successful_shots=sum(p.successful_shots for p in parts), registers=registers)
        )
    return joined
