"""What the job and worker routes do, callable with or without HTTP.

The FastAPI routes parse a request, call one of these and send the answer; the embedded
default's clients and workers (:mod:`qrelay.service.local`) call the same functions
directly, so both paths check, store and wait alike. Answers are the JSON bytes the
store writes, which both paths hand on as they are.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from qrelay.errors import PayloadError
from qrelay.payload import (
    CircuitType,
    NewJob,
    TargetInfo,
    TargetModel,
    TaskResultOutcome,
    WorkerResultsBatch,
)
from qrelay.payload.calibration import (
    PIN_OPTION,
    POLICY_OPTION,
    Calibration,
    CalibrationPage,
    CalibrationQuery,
    CalibrationSource,
    NewCalibration,
    RecalibratedPolicy,
    pinned,
    recalibrated,
    stale_message,
)
from qrelay.payload.maintenance import MaintenanceWindow, NewMaintenance
from qrelay.payload.workload import small_simulation_job
from qrelay.runtime import tracing
from qrelay.service.db.leasing import MAX_LEASE_TASKS, lease_targets
from qrelay.service.db.repo import Submitted, request_digest, splice_json
from qrelay.service.notify import sleep_until
from qrelay.service.problems import ApiError
from qrelay.service.qasm import convert_job

_T = TypeVar("_T")


#: Runs a blocking store call for a coroutine: ``ServiceRuntime.offload`` for the routes
#: (in place on SQLite, the store's threads on PostgreSQL), the in-process channel's
#: own for the embedded default (see :mod:`qrelay.service.local`).
class Offload(Protocol):
    """Runs ``fn(*args)`` for a coroutine and gives its result."""

    def __call__(self, fn: Callable[..., _T], /, *args: Any) -> Awaitable[_T]: ...


#: The most circuits of a job whose submission may wait for it
#: (see :func:`holds_small_simulation`).
_QUICK_CIRCUITS: Final = 4


async def in_place(fn: Callable[..., _T], *args: Any) -> _T:
    """An :data:`Offload` that makes the call right here, on the event loop."""
    return fn(*args)


if TYPE_CHECKING:
    from qrelay.payload import GetTargetsFilterModel
    from qrelay.service.app import ServiceRuntime
    from qrelay.service.auth import UserPrincipal, WorkerPrincipal


async def submit_job(
    rt: ServiceRuntime,
    principal: UserPrincipal,
    body: bytes,
    idempotency_key: str | None,
    *,
    offload: Offload | None = None,
    claim: Callable[[NewJob], WorkerPrincipal | None] | None = None,
    hold: float = 0.0,
) -> Submitted:
    """Validate a ``NewJob`` body, convert it if it is OpenQASM, and queue it.

    ``claim`` names, for the valid job, a worker to lease its task to as it is stored
    (see ``Store.submit``'s ``lease_by``), or None. ``hold`` (seconds, from the request's
    ``Prefer: wait``) lets the answer wait for a small simulation that an idle worker of
    its target takes at once (see :func:`holds_small_simulation`): the response then
    carries the job as ``job``, and the client's long poll is saved.

    Kept as one piece: a worker claimed for the hand-off must be handed the stored task,
    or released on any failure before it, and these steps share that state.
    """
    if not idempotency_key:
        raise ApiError(422, "validation_error", "Idempotency-Key: the header is required")
    job = await rt.bodies.validate(NewJob, body)
    if PIN_OPTION in job.options or POLICY_OPTION in job.options:
        await (offload or rt.offload)(check_pin, rt, job)
    if job.circuit_type is not CircuitType.PAYLOAD:
        job = await convert_job(job, rt.catalog.get(job.target), rt.settings)
    # Asked before the job is stored: storing it wakes the idle worker, which stops waiting.
    quick = hold > 0 and holds_small_simulation(rt, job)
    # The worker to lease the new task to as it is stored: the caller's, or else one that
    # waits on this process for a task of the target (see ``qrelay.service.handoff``).
    waiting = None
    lease_by = None
    if claim is not None:
        lease_by = claim(job)
    elif job.num_circuits == 1 and not job.dry_run:
        waiting = rt.idle.claim(job.target)
        lease_by = None if waiting is None else waiting.worker
    # A large job is stored, and freed, off the loop too (see ``qrelay.service.bodies``).
    large = offload is None and rt.bodies.large(len(body))
    store = rt.bodies.call if large else offload or rt.offload
    digest = await rt.bodies.call(request_digest, body) if large else request_digest(body)
    try:
        with tracing.span("qrelay.service.store", target=job.target):
            sent: Submitted = await store(
                functools.partial(
                    rt.store.submit,
                    principal,
                    job,
                    idempotency_key=idempotency_key,
                    request_hash=digest,
                    lease_by=lease_by,
                    traceparent=tracing.traceparent(),
                )
            )
    except BaseException:
        if waiting is not None:
            waiting.hand(None)
        raise
    if waiting is not None:
        waiting.hand(sent.task)
    if large:
        await rt.bodies.release([circuit.instructions for circuit in job.circuits])
    if not quick or sent.job_id is None:
        return sent
    # A job handed to a worker here ends only through that worker's result, which comes
    # after this subscribes: the first look is known to find it going, and is skipped.
    finished = await wait_for_job(
        rt,
        principal,
        sent.job_id,
        wait=hold,
        include_readout=True,
        offload=offload,
        look_first=waiting is None or sent.task is None,
    )
    answer = splice_json(sent.response, {"job": finished.decode()}).decode()
    return sent._replace(response=answer, held=True)


def check_pin(rt: ServiceRuntime, job: NewJob) -> None:
    """Refuse a job that pins a calibration its target does not have (422), or one the
    target has since replaced unless the job says to run anyway (409)."""
    try:
        pin, policy = pinned(job.options)
    except PayloadError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    if pin is None:
        return
    try:
        rt.store.get_calibration(job.target, pin)
    except ApiError:
        raise ApiError(
            422,
            "validation_error",
            f"options.{PIN_OPTION}: target {job.target!r} has no calibration {pin!r}",
        ) from None
    current = rt.store.current_calibrations([job.target]).get(job.target)
    now = current.calibration_id if current is not None else None
    if now != pin and policy is RecalibratedPolicy.REFUSE:
        raise ApiError(409, "stale_calibration", stale_message(job.target, pin, now))


def holds_small_simulation(rt: ServiceRuntime, job: NewJob) -> bool:
    """Whether the submission of ``job`` waits for its end: a job of a few small
    simulations (see :func:`~qrelay.payload.workload.small_simulation_job`) on a simulator
    target that a worker of this process is waiting to lease for, so it ends in
    milliseconds once stored. (Any other job may wait in a queue or run for long; its
    submission is answered at once.)"""
    info = rt.catalog.get(job.target)
    return (
        info is not None
        and info.simulator
        and job.num_circuits <= _QUICK_CIRCUITS
        and small_simulation_job(job)
        and rt.notifier.waiting(f"target:{job.target}")
    )


async def wait_for_job(
    rt: ServiceRuntime,
    principal: UserPrincipal,
    job_id: str,
    *,
    wait: float,
    include_readout: bool,
    offload: Offload | None = None,
    look_first: bool = True,
) -> bytes:
    """The job's ``JobData`` JSON once it has ended, or as it is when ``wait`` runs out.

    Without ``look_first`` the first look waits for a wake-up (or the poll interval): for
    a caller that knows the job has not ended yet."""
    deadline = time.monotonic() + min(wait, rt.settings.max_wait_seconds)
    with rt.notifier.subscribe([f"job:{job_id}"]) as changed:
        if not look_first:
            await sleep_until(changed, min(deadline - time.monotonic(), rt.poll_interval))
        while True:
            if include_readout and changed.value is not None:
                return changed.value  # the result that ended the job sent it along
            changed.clear()
            # Until the wait is over only a finished job is answered, so a job still going
            # is read without its tasks; the last look reads it whole.
            final = deadline - time.monotonic() <= 0
            content: bytes | None
            content, _terminal = await (offload or rt.offload)(
                functools.partial(
                    rt.store.get_job,
                    principal,
                    job_id,
                    include_readout=include_readout,
                    only_terminal=not final,
                )
            )
            if content is not None:
                return content
            remaining = deadline - time.monotonic()
            await sleep_until(changed, min(remaining, rt.poll_interval))


def check_targets(worker: WorkerPrincipal, targets: Sequence[str]) -> list[str]:
    """The targets of a lease request without repeats; 422 over the cap
    (:data:`~qrelay.service.db.leasing.MAX_LEASE_TARGETS`), 403 for targets this worker
    does not serve."""
    unique = lease_targets(targets)
    foreign = [t for t in unique if t not in worker.targets]
    if foreign:
        raise ApiError(403, "forbidden", f"targets: this worker does not serve {foreign}")
    return unique


def lease_limit(requested: int) -> int:
    """How many tasks one lease request takes at most: what the worker asked for, bounded
    by :data:`~qrelay.service.db.leasing.MAX_LEASE_TASKS` (422 below one)."""
    if requested < 1:
        raise ApiError(422, "validation_error", f"max_tasks: {requested} is below 1")
    return min(requested, MAX_LEASE_TASKS)


async def wait_for_lease(
    rt: ServiceRuntime, worker: WorkerPrincipal, targets: Sequence[str], wait: float
) -> bytes | None:
    """The next task (``WorkerTask`` JSON) for these targets, waiting up to ``wait`` s."""
    found = await wait_for_leases(rt, worker, targets, wait, 1)
    return found[0] if found else None


async def wait_for_leases(
    rt: ServiceRuntime,
    worker: WorkerPrincipal,
    targets: Sequence[str],
    wait: float,
    limit: int,
) -> list[bytes]:
    """Up to ``limit`` tasks (``WorkerTask`` JSON, see :func:`lease_limit`) for these
    targets, leased in one transaction once at least one is queued, waiting up to
    ``wait`` s for the first; empty when none came in time."""
    targets = check_targets(worker, targets)
    limit = lease_limit(limit)
    deadline = time.monotonic() + min(wait, rt.settings.max_wait_seconds)
    with rt.notifier.subscribe([f"target:{t}" for t in targets]) as changed:
        while True:
            changed.clear()
            tasks = await rt.offload(rt.store.lease_many, worker, targets, limit)
            if tasks:
                return tasks
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            handed = await rt.idle.wait(worker, targets, changed, min(remaining, rt.poll_interval))
            if handed is not None:
                return [handed]


def lease_blocking(
    rt: ServiceRuntime,
    worker: WorkerPrincipal,
    targets: Sequence[str],
    wait: float,
    *,
    stop: threading.Event,
    limit: int = 1,
) -> list[bytes]:
    """:func:`wait_for_leases` for a thread; ``stop`` being set ends the wait at once."""
    targets = check_targets(worker, targets)
    limit = lease_limit(limit)
    deadline = time.monotonic() + min(wait, rt.settings.max_wait_seconds)
    with rt.notifier.subscribe_blocking([f"target:{t}" for t in targets]) as changed:
        while not stop.is_set():
            changed.clear()
            tasks = rt.store.lease_many(worker, targets, limit)
            if tasks:
                return tasks
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            changed.wait(min(remaining, rt.poll_interval))
    return []


def post_results(
    rt: ServiceRuntime, worker: WorkerPrincipal, batch: WorkerResultsBatch
) -> list[TaskResultOutcome]:
    """Record a batch of task results in one transaction (see ``Store.post_results``):
    an outcome per result, in order, each accepted or refused on its own."""
    refused = rt.store.post_results(worker, [(item.task_id, item) for item in batch.results])
    return [
        TaskResultOutcome(task_id=item.task_id, accepted=True)
        if error is None
        else TaskResultOutcome(
            task_id=item.task_id,
            accepted=False,
            status=error.status,
            code=error.code,
            message=error.detail,
        )
        for item, error in zip(batch.results, refused, strict=True)
    ]


def leased_answer(tasks: Sequence[bytes]) -> bytes:
    """The ``LeasedTasks`` JSON of tasks leased together (each already JSON, spliced in
    as it is)."""
    return b'{"tasks":[' + b",".join(tasks) + b"]}"


def results_answer(outcomes: Sequence[TaskResultOutcome], tasks: Sequence[bytes]) -> bytes:
    """The ``WorkerResultsAnswer`` JSON of a batch's outcomes and the tasks leased with it."""
    listed = ",".join(outcome.model_dump_json(exclude_none=True) for outcome in outcomes)
    return b'{"outcomes":[' + listed.encode() + b"]," + leased_answer(tasks)[1:]


def list_targets(rt: ServiceRuntime, filters: GetTargetsFilterModel) -> list[TargetModel]:
    """The targets with their live status, filtered."""
    models = (TargetModel.from_info(info) for info in rt.store.targets_live())
    return [model for model in models if filters.admits(model)]


def get_target(rt: ServiceRuntime, name: str) -> TargetInfo:
    """One target in full, with its live status and queue depth (404 if unknown)."""
    if rt.catalog.get(name) is None:
        raise ApiError(404, "not_found", f"target: no target {name!r}")
    return rt.store.targets_live([name])[0]


def worker_target(rt: ServiceRuntime, worker: WorkerPrincipal, name: str) -> TargetInfo:
    """A target the worker serves, in full (its calibration included): 403 for another."""
    check_targets(worker, [name])
    return get_target(rt, name)


def report_calibration(
    rt: ServiceRuntime, worker: WorkerPrincipal, name: str, info: TargetInfo
) -> Calibration:
    """A device's own calibration, reported by a worker that serves it: stored as the
    target's newest unless the target already has it, under the device's id (403 for a
    target the worker does not serve; 422 for a snapshot that does not fit the target)."""
    check_targets(worker, [name])
    catalog = rt.catalog.get(name)
    if catalog is None:
        raise ApiError(404, "not_found", f"target: no target {name!r}")
    try:
        checked = recalibrated(
            catalog, NewCalibration(qubits=info.qubits, gates=info.gates, dt_ns=info.dt_ns)
        )
    except PayloadError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    if info.calibration_id is not None:  # the device's own id: its results name it
        checked = checked.model_copy(update={"calibration_id": info.calibration_id})
    stored, _new = rt.store.add_calibration(checked, CalibrationSource.DEVICE)
    return stored


def post_calibration(
    rt: ServiceRuntime, admin: UserPrincipal, name: str, new: NewCalibration
) -> Calibration:
    """An operator's snapshot for target ``name``: stored as its newest (404 for an
    unknown target, 422 naming the entry that does not fit it)."""
    catalog = rt.catalog.get(name)
    if catalog is None:
        raise ApiError(404, "not_found", f"target: no target {name!r}")
    try:
        info = recalibrated(catalog, new)
    except PayloadError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    stored, _new = rt.store.add_calibration(info, CalibrationSource.OPERATOR, admin)
    return stored


def calibration_history(rt: ServiceRuntime, name: str, query: CalibrationQuery) -> CalibrationPage:
    """A page of target ``name``'s calibration history (404 for an unknown target)."""
    if rt.catalog.get(name) is None:
        raise ApiError(404, "not_found", f"target: no target {name!r}")
    return rt.store.calibration_page(name, query)


def _known(rt: ServiceRuntime, name: str) -> None:
    if rt.catalog.get(name) is None:
        raise ApiError(404, "not_found", f"target: no target {name!r}")


def schedule_maintenance(
    rt: ServiceRuntime, admin: UserPrincipal, name: str, new: NewMaintenance
) -> MaintenanceWindow:
    """A maintenance window for target ``name`` (404 for an unknown target)."""
    _known(rt, name)
    return rt.store.schedule_maintenance(admin, name, new)


def cancel_maintenance(rt: ServiceRuntime, admin: UserPrincipal, name: str, window_id: int) -> None:
    """End a window of target ``name`` now (404 for an unknown target or window)."""
    _known(rt, name)
    rt.store.cancel_maintenance(admin, name, window_id)


def maintenance_windows(rt: ServiceRuntime, name: str) -> list[MaintenanceWindow]:
    """Target ``name``'s open and coming windows, soonest first."""
    _known(rt, name)
    return rt.store.windows([name]).get(name, [])
