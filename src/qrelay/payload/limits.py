"""Whether work fits a target: the one check the service, the adapters and the worker run.

The models alone bound sizes for every target (``MAX_*`` in :mod:`qrelay.payload.circuit`
and :mod:`qrelay.payload.jobs`); a target's :class:`~qrelay.payload.targets.TargetLimits`
is usually tighter, and only known once the target is. Each check raises ``PayloadError``
on the first excess with a message naming the field, the circuit and the limit. The
service refuses a job with it (422), a front end refuses a call before converting or
splitting it, and both count instructions the same way: every instruction, the bodies of
control-flow blocks included.
"""

from __future__ import annotations

from qrelay.errors import PayloadError
from qrelay.payload.circuit import Circuit
from qrelay.payload.jobs import NewJob
from qrelay.payload.targets import TargetInfo


def instruction_count(circuit: Circuit) -> int:
    """All instructions of a circuit, the bodies of control-flow blocks included."""
    return sum(1 for _ in circuit.iter_instructions())


def check_shots(shots: int, target: TargetInfo) -> None:
    """Refuse a shot count above the target's ``max_shots``."""
    limit = target.limits.max_shots
    if shots > limit:
        raise PayloadError(
            f"shots: {shots} exceeds the limit of {limit} on target {target.name!r}",
            location=("shots",),
        )


def check_circuit(circuit: Circuit, target: TargetInfo, index: int) -> None:
    """Refuse a circuit (``circuits[index]``) with more qubits or instructions than fit."""
    limits = target.limits
    name = target.name
    max_qubits = min(target.num_qubits, limits.max_qubits or target.num_qubits)
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


def check_target_limits(job: NewJob, target: TargetInfo) -> None:
    """Raise ``PayloadError`` unless ``job`` fits ``target``'s limits and size.

    Checked: shots, number of circuits, qubits per circuit (against ``limits.max_qubits``
    and the target's ``num_qubits``), binding rows per circuit, instructions per circuit.
    OpenQASM circuits are checked for their count only (their size is known once parsed).
    """
    limits = target.limits
    name = target.name
    check_shots(job.shots, target)
    if job.num_circuits > limits.max_circuits:
        raise PayloadError(
            f"circuits: {job.num_circuits} circuits exceed the limit of {limits.max_circuits} "
            f"on target {name!r}",
            location=("circuits",),
        )
    for index, circuit in enumerate(job.circuits):
        check_circuit(circuit, target, index)
    for index in range(job.num_circuits):
        rows = job.binding_count(index)
        if rows > limits.max_bindings:
            raise PayloadError(
                f"bindings[{index}]: {rows} rows exceed the limit of {limits.max_bindings} "
                f"on target {name!r}",
                location=("bindings", index),
            )
