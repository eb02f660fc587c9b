"""A job against a target's limits: the check the service runs before it stores a job.

The models alone bound sizes for every target (``MAX_*`` in :mod:`qrelay.payload.circuit`
and :mod:`qrelay.payload.jobs`); a target's :class:`~qrelay.payload.targets.TargetLimits`
is usually tighter, and only known once the target is. :func:`check_target_limits` raises
on the first excess with a message naming the field, the circuit and the limit.
"""

from __future__ import annotations

from qrelay.errors import PayloadError
from qrelay.payload.circuit import Circuit
from qrelay.payload.jobs import NewJob
from qrelay.payload.targets import TargetInfo


def instruction_count(circuit: Circuit) -> int:
    """All instructions of a circuit, the bodies of ``if`` included."""
    return sum(1 for _ in circuit.iter_instructions())


def check_target_limits(job: NewJob, target: TargetInfo) -> None:
    """Raise ``PayloadError`` unless ``job`` fits ``target``'s limits and size.

    Checked: shots, number of circuits, qubits per circuit (against ``limits.max_qubits``
    and the target's ``num_qubits``), binding rows per circuit, instructions per circuit.
    OpenQASM circuits are checked for their count only (their size is known once parsed).
    """
    limits = target.limits
    name = target.name
    if job.shots > limits.max_shots:
        raise PayloadError(
            f"shots: {job.shots} exceeds the limit of {limits.max_shots} on target {name!r}",
            location=("shots",),
        )
    if job.num_circuits > limits.max_circuits:
        raise PayloadError(
            f"circuits: {job.num_circuits} circuits exceed the limit of {limits.max_circuits} "
            f"on target {name!r}",
            location=("circuits",),
        )
    max_qubits = min(target.num_qubits, limits.max_qubits or target.num_qubits)
    for index, circuit in enumerate(job.circuits):
        if circuit.num_qubits > max_qubits:
            raise PayloadError(
                f"circuits[{index}].num_qubits: {circuit.num_qubits} qubits exceed the "
                f"{max_qubits} of target {name!r}",
                location=("circuits", index, "num_qubits"),
            )
        count = instruction_count(circuit)
        if count > limits.max_instructions:
            raise PayloadError(
                f"circuits[{index}].instructions: {count} instructions exceed the limit of "
                f"{limits.max_instructions} on target {name!r}",
                location=("circuits", index, "instructions"),
            )
    for index in range(job.num_circuits):
        rows = job.binding_count(index)
        if rows > limits.max_bindings:
            raise PayloadError(
                f"bindings[{index}]: {rows} rows exceed the limit of {limits.max_bindings} "
                f"on target {name!r}",
                location=("bindings", index),
            )
