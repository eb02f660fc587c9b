"""What one task produced, and the result posted for it (internal to :mod:`qrelay.worker.task`).

A task's work ends in an :class:`Outcome` (its status, readouts and compiled circuit);
:func:`task_results` ties it to the task's lease as the :class:`~qrelay.payload.TaskResults`
the service receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from qrelay.payload import (
    CircuitStatus,
    JobType,
    Readout,
    RegisterReadout,
    TargetInfo,
    TaskResults,
    WorkerTask,
)
from qrelay.plugins import CompileResult, TaskContext


@dataclass
class Outcome:
    """What a task produced, before it is tied to its lease."""

    status: CircuitStatus
    message: str | None = None
    readouts: list[Readout] | None = None
    successful_shots: int | None = None
    compiled: CompileResult | None = None
    send_compiled_circuit: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


#: The working state the service puts a task in when it leases it, by job type.
LEASED_STATES: Final = {
    JobType.SIMULATE: CircuitStatus.SIMULATING,
    JobType.SUBMIT: CircuitStatus.PENDING,
    JobType.COMPILE: CircuitStatus.COMPILING,
    JobType.CONVERT: CircuitStatus.COMPILING,
}


def no_shots(task: WorkerTask) -> list[Readout]:
    """Readouts of zero shots, one per binding row: what a job that runs nothing measured.

    A compile or convert job completes with these, so its result has the same shape as
    any other (rows, registers) and the service checks it the same way.
    """
    empty = Readout(
        successful_shots=0,
        registers=[
            RegisterReadout(name=reg.name, width=reg.size, bits=b"")
            for reg in task.circuit.registers
        ],
    )
    rows = 1 if task.bindings is None else len(task.bindings)
    return [empty] * rows


def compiles(verbatim: bool, info: TargetInfo) -> bool:
    """Whether a circuit goes through the compiler for this target (unless verbatim)."""
    return not verbatim and bool(info.native_ops or info.coupling_map is not None)


def identity_layout(n: int) -> dict[int, int]:
    """The layout of a circuit that is not compiled: every qubit stays where it is."""
    return {q: q for q in range(n)}


def task_results(
    task: WorkerTask, outcome: Outcome, ctx: TaskContext, execution_id: str | None
) -> TaskResults:
    """What is posted for ``task``: its outcome under its lease, with the device's
    ``execution_id`` when one was recorded."""
    compiled = outcome.compiled
    completed = outcome.status is CircuitStatus.COMPLETED
    return TaskResults(
        task_id=task.task_id,
        lease_id=task.lease_id,
        status=outcome.status,
        status_message=outcome.message,
        successful_shots=outcome.successful_shots if completed else None,
        readouts=outcome.readouts if completed else None,
        compiled_circuit=(
            compiled.circuit if compiled is not None and outcome.send_compiled_circuit else None
        ),
        initial_logical_to_physical=compiled.initial_layout if compiled else None,
        final_logical_to_physical=compiled.final_layout if compiled else None,
        execution_id=execution_id,
        calibration_id=ctx.calibration_id if completed else None,
        metadata=outcome.metadata,
    )
