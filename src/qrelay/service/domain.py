"""The service's rules, pure: the per-circuit state machine, job status, costs, result checks.

Nothing here touches the database or HTTP, so every rule is tested on its own and the
routes and the repository only ask this module whether a step is allowed.

A circuit (a *task*) moves like this::

    received ─► awaiting_compile ───► compiling ─┐
             ├► awaiting_simulation ► simulating ─┼─► completed | failed | cancelled ─► deleted
             └► awaiting_submission ► pending ───┤
                                       running ◄─┘

The ``awaiting_*`` states are the queue. A lease moves a task to its working state
(``compiling``, ``simulating`` or ``pending``); the worker may report progress between the
working states; an expired lease puts the task back into its ``awaiting_*`` state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from qrelay.errors import ConflictError, PayloadError
from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    JobType,
    Readout,
    WorkerTaskResults,
)
from qrelay.payload.observables import check_expectation_values
from qrelay.service import money

S = CircuitStatus

#: States in which a task waits in the queue for a worker.
QUEUED_STATES: Final = frozenset({S.AWAITING_COMPILE, S.AWAITING_SIMULATION, S.AWAITING_SUBMISSION})
#: States in which a worker holds the task under a lease.
ACTIVE_STATES: Final = frozenset({S.COMPILING, S.SIMULATING, S.PENDING, S.RUNNING})
#: Every state a task or job is in until it ends: named in queries as a list (not "not
#: terminal"), so an index on the status reads only these rows, however long the history.
UNFINISHED_STATES: Final = frozenset(S) - TERMINAL_CIRCUIT_STATES

#: The working state a lease moves each queued state to.
LEASED_STATE: Final = {
    S.AWAITING_COMPILE: S.COMPILING,
    S.AWAITING_SIMULATION: S.SIMULATING,
    S.AWAITING_SUBMISSION: S.PENDING,
}

_TRANSITIONS: Final[dict[CircuitStatus, frozenset[CircuitStatus]]] = {
    S.RECEIVED: frozenset({*QUEUED_STATES, S.FAILED, S.CANCELLED}),
    S.AWAITING_COMPILE: frozenset({S.COMPILING, S.FAILED, S.CANCELLED}),
    S.AWAITING_SIMULATION: frozenset({S.SIMULATING, S.FAILED, S.CANCELLED}),
    S.AWAITING_SUBMISSION: frozenset({S.PENDING, S.FAILED, S.CANCELLED}),
    # A worker's own progress inside one lease, and the way back to the queue on expiry.
    S.COMPILING: frozenset(
        {S.SIMULATING, S.PENDING, S.RUNNING, S.AWAITING_COMPILE, S.COMPLETED, S.FAILED, S.CANCELLED}
    ),
    S.SIMULATING: frozenset({S.AWAITING_SIMULATION, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.PENDING: frozenset(
        {S.COMPILING, S.RUNNING, S.AWAITING_SUBMISSION, S.COMPLETED, S.FAILED, S.CANCELLED}
    ),
    S.RUNNING: frozenset({S.AWAITING_SUBMISSION, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.DELETED}),
    S.FAILED: frozenset({S.DELETED}),
    S.CANCELLED: frozenset({S.DELETED}),
    S.DELETED: frozenset(),
    S.UNRECOGNIZED: frozenset(),
}

#: States a worker may report through the status endpoint while it holds a lease.
WORKER_PROGRESS_STATES: Final = ACTIVE_STATES


def can_transition(old: CircuitStatus, new: CircuitStatus) -> bool:
    """Whether a circuit may move from ``old`` to ``new``."""
    return new in _TRANSITIONS.get(old, frozenset())


def check_transition(old: CircuitStatus, new: CircuitStatus) -> None:
    """Refuse a move the state machine does not allow (409 ``conflict``)."""
    if not can_transition(old, new):
        raise ConflictError(
            f"a circuit in state {old.value!r} cannot move to {new.value!r}",
            status=409,
            code="conflict",
        )


def queue_state(job_type: JobType) -> CircuitStatus:
    """Where a new circuit of a job of ``job_type`` waits for a worker."""
    if job_type is JobType.SIMULATE:
        return S.AWAITING_SIMULATION
    if job_type is JobType.SUBMIT:
        return S.AWAITING_SUBMISSION
    return S.AWAITING_COMPILE  # compile and convert are done by a worker's compiler


def requeue_state(job_type: JobType) -> CircuitStatus:
    """Where a task goes back to when its lease expires: the queue state of its job type."""
    return queue_state(job_type)


def is_terminal(statuses: Sequence[CircuitStatus]) -> bool:
    """Whether every circuit has ended."""
    return all(s in TERMINAL_CIRCUIT_STATES for s in statuses)


def estimate_cost(
    shots: int, rows: Sequence[int], price_per_shot: float, job_type: JobType = JobType.SUBMIT
) -> int:
    """The cost of a job before it runs, in micro-units (:mod:`qrelay.service.money`):
    shots x binding rows x price, priced circuit by circuit as :func:`charge_for` charges,
    so the charges of a job never add up to more than its estimate.

    A ``compile`` or ``convert`` job runs no shots; it costs what it takes of a worker,
    priced as one shot per circuit (:func:`compile_charge`), so that such work is not free.
    """
    if job_type in (JobType.COMPILE, JobType.CONVERT):
        return len(rows) * compile_charge(price_per_shot)
    return sum(money.cost(shots * count, price_per_shot) for count in rows)


def compile_charge(price_per_shot: float) -> int:
    """What one circuit of a ``compile`` or ``convert`` job costs, in micro-units: one
    shot's price."""
    return money.cost(1, price_per_shot)


def charge_for(readouts: Sequence[Readout], price_per_shot: float) -> int:
    """What a completed circuit costs, in micro-units: its successful shots over all rows
    x price. Priced like :func:`estimate_cost`, so a circuit whose shots all succeed is
    charged exactly its estimate."""
    return money.cost(sum(r.successful_shots for r in readouts), price_per_shot)


def readout_bytes(circuit: Circuit, shots: int, rows: int) -> int:
    """About how many bytes a completed circuit's readouts take in a worker's result body:
    every register's packed rows (``shots x ceil(width / 8)`` bytes) as base64, per
    binding row. A result over the service's body limit could never be posted."""
    packed = sum(shots * ((reg.size + 7) // 8) for reg in circuit.registers)
    return rows * (-(-packed // 3) * 4)


def check_results(
    circuit: Circuit,
    num_rows: int,
    shots: int,
    results: WorkerTaskResults,
    *,
    observables: int | None = None,
) -> list[Readout]:
    """The readouts of a completed task, checked against its circuit; one per binding row.

    Refuses (``PayloadError`` naming the field) a wrong number of rows, a register that
    the circuit lacks or that has the wrong width, registers out of declaration order,
    more successful shots than were asked for, or expectation values that do not answer
    the circuit's ``observables`` (how many it has; ``None``: it is sampled) one to one.
    The seed's ``measurements`` form
    (bitstring, character ``i`` = global clbit ``i``, to shot indices) is turned into a
    readout for single-row tasks.
    """
    if results.readouts is not None:
        readouts = list(results.readouts)
    elif results.measurements is not None:
        readouts = [_from_measurements(circuit, results.measurements)]
    else:  # pragma: no cover - WorkerTaskResults already refuses this
        raise PayloadError("results: a completed task needs readouts or measurements")
    if len(readouts) != num_rows:
        raise PayloadError(
            f"readouts: {len(readouts)} readout(s) for {num_rows} binding row(s); give one per row"
        )
    expected = [(reg.name, reg.size) for reg in circuit.registers]
    for k, readout in enumerate(readouts):
        got = [(reg.name, reg.width) for reg in readout.registers]
        if got != expected:
            raise PayloadError(
                f"readouts[{k}].registers: {got} do not match the circuit's registers "
                f"{expected} (names, widths and order)"
            )
        if readout.successful_shots > shots:
            raise PayloadError(
                f"readouts[{k}].successful_shots: {readout.successful_shots} exceeds the "
                f"{shots} shots asked for"
            )
        check_expectation_values(readout.expectation_values, observables, k)
    return readouts


def _from_measurements(circuit: Circuit, measurements: dict[str, list[int]]) -> Readout:
    width = circuit.num_clbits
    total = sum(len(v) for v in measurements.values())
    bits = np.zeros((total, width), dtype=np.uint8)
    for key, indices in measurements.items():
        if len(key) != width:
            raise PayloadError(
                f"measurements: key {key!r} has {len(key)} bits, the circuit has {width} clbits"
            )
        row = np.frombuffer(key.encode(), dtype=np.uint8) - ord("0")
        bits[np.asarray(indices, dtype=np.intp)] = row
    arrays = {}
    for reg_name, (start, size) in circuit.register_offsets().items():
        arrays[reg_name] = bits[:, start : start + size]
    return Readout.from_arrays(arrays)


#: The most distinct outcomes of a circuit whose counts ``JobData`` shows: every outcome
#: of 16 clbits. A result with more (a million shots of 20 random bits has 644,000) would
#: be stored, sent and parsed again as megabytes of JSON that a histogram cannot show and
#: that clients rebuild from the readouts anyway; its counts are left out (``None``).
MAX_SHOWN_OUTCOMES: Final = 1 << 16


def counts_of(readouts: Sequence[Readout]) -> dict[str, int] | None:
    """The counts shown in ``JobData``: those of the single row; none for a sweep, or for
    more than :data:`MAX_SHOWN_OUTCOMES` distinct outcomes (counted in numpy, before any
    key is formatted)."""
    if len(readouts) != 1:
        return None
    readout = readouts[0]
    try:
        if readout.successful_shots > MAX_SHOWN_OUTCOMES:
            values, _ = readout.value_counts()
            if len(values) > MAX_SHOWN_OUTCOMES:
                return None
        return readout.counts()
    except PayloadError:  # registers wider than 64 bits together: no counts column
        return None
