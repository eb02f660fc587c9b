"""The worker: lease a task, keep the lease alive, compile, execute, post the readout.

One task at a time per worker. :meth:`Worker.stop` (the CLI calls it on SIGTERM) lets the
current task finish and post its result, then the loop ends: a drain, not an abort.

What the service may see from one task::

    lease -> [status compiling] -> [status running|simulating] -> result

A ``compile`` job ends after compiling with the compiled circuit and its layouts; a
``convert`` job returns the (already converted) circuit. ``verbatim`` skips compiling but
is checked against the target first (:mod:`qrelay.worker.verbatim`).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from qrelay import registry
from qrelay.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DeviceError,
    NotFoundError,
    PermissionDeniedError,
    QRelayError,
    ServiceError,
    TransportError,
    ValidationError,
)
from qrelay.payload import (
    Circuit,
    CircuitStatus,
    JobType,
    Readout,
    RegisterReadout,
    SimMethod,
    TargetInfo,
    WorkerTask,
    WorkerTaskResults,
    WorkerTaskStatus,
)
from qrelay.payload.workload import small_simulation
from qrelay.plugins import Compiler, CompileResult, DeviceDriver, TaskContext
from qrelay.runtime.retry import UNBOUNDED, RetryPolicy, call_with_retry
from qrelay.worker.api import WorkerApi, WorkerChannel
from qrelay.worker.capabilities import check_capabilities
from qrelay.worker.heartbeat import Heartbeat, Pulse
from qrelay.worker.isolation import DriverProcess, runs_inline
from qrelay.worker.verbatim import check_verbatim

log = logging.getLogger(__name__)

#: The compiler plugin used unless a worker is given another.
DEFAULT_COMPILER = "qiskit-transpile"
#: The HTTP status of a request body over the service's limit.
_TOO_LARGE: Final = 413
#: Re-read a target's info (calibration) from the service after this many seconds.
TARGET_INFO_TTL = 300.0
#: How :meth:`Worker.run` waits after a failed cycle (the service unreachable, or a
#: lease refused): up to 30 s between tries, jittered, for as long as the worker runs.
LEASE_RETRY: Final = RetryPolicy(
    max_retries=UNBOUNDED, deadline=math.inf, backoff_base=1.0, backoff_max=30.0
)


@dataclass
class _Outcome:
    """What a task produced, before it is tied to its lease."""

    status: CircuitStatus
    message: str | None = None
    readouts: list[Readout] | None = None
    successful_shots: int | None = None
    compiled: CompileResult | None = None
    send_compiled_circuit: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


#: The working state the service puts a task in when it leases it, by job type.
_LEASED_STATES: Final = {
    JobType.SIMULATE: CircuitStatus.SIMULATING,
    JobType.SUBMIT: CircuitStatus.PENDING,
    JobType.COMPILE: CircuitStatus.COMPILING,
    JobType.CONVERT: CircuitStatus.COMPILING,
}


def _no_shots(task: WorkerTask) -> list[Readout]:
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


def _compiles(verbatim: bool, info: TargetInfo) -> bool:
    """Whether a circuit goes through the compiler for this target (unless verbatim)."""
    return not verbatim and bool(info.native_ops or info.coupling_map is not None)


def _identity(n: int) -> dict[int, int]:
    return {q: q for q in range(n)}


class Worker:
    """A machine worker serving ``targets`` for the service at ``url``.

    ``driver_config`` goes to every driver's constructor (e.g. ``qpu_address`` for the
    ``qpu-grpc`` driver). ``api`` replaces the channel to the service (the embedded
    default's in-process one); ``target_infos`` gives target descriptions instead of
    asking the service, and ``drivers`` ready-made driver instances per target name (a
    driver not published as an entry point, e.g. one embedded in an application). With
    ``isolate`` (the default) simulations longer than a few milliseconds run in a child
    process (see :mod:`qrelay.worker.isolation`), started as the worker starts, or with
    ``warm_up=False`` when the first task needs it.
    """

    def __init__(
        self,
        url: str,
        token: str,
        targets: list[str],
        *,
        driver_config: Mapping[str, Any] | None = None,
        lease_wait: float = 10.0,
        heartbeat_seconds: float = 5.0,
        compiler: str = DEFAULT_COMPILER,
        target_infos: Mapping[str, TargetInfo] | None = None,
        drivers: Mapping[str, DeviceDriver] | None = None,
        isolate: bool = True,
        api: WorkerChannel | None = None,
        warm_up: bool = True,
    ) -> None:
        if not targets:
            raise ConfigurationError("a worker needs at least one target to serve")
        self.targets = list(targets)
        self.driver_config = dict(driver_config or {})
        self.lease_wait = lease_wait
        self.heartbeat_seconds = heartbeat_seconds
        self.compiler_name = compiler
        self.api: WorkerChannel = api or WorkerApi(url, token)
        self._stop = threading.Event()
        self._infos: dict[str, tuple[float, TargetInfo]] = {}
        self._given_infos = dict(target_infos or {})
        self._drivers: dict[tuple[str, str | None], DeviceDriver] = {}
        self._given_drivers = dict(drivers or {})
        self.isolate = isolate
        self.warm_up = warm_up
        self._process = DriverProcess()
        self._pulse = Pulse()
        self._compiler: Compiler | None = None
        self._execution_ids: dict[str, str] = {}
        self._states: dict[str, CircuitStatus] = {}
        self.tasks_done = 0
        #: Called with (task, outcome, seconds) as each task ends: its final status, or
        #: ``lease_lost`` (see :mod:`qrelay.worker.metrics`).
        self.on_task_end: Callable[[WorkerTask, str, float], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Finish the current task (if any), then leave :meth:`run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Close the HTTP client, the simulation process and drivers that hold connections."""
        self.api.close()
        self._pulse.close()
        self._process.close()
        for driver in self._drivers.values():
            closer = getattr(driver, "close", None)
            if callable(closer):
                closer()
        self._drivers.clear()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(self, stop_event: threading.Event | None = None) -> None:
        """Lease and process tasks until :meth:`stop` (or ``stop_event`` is set)."""
        log.info("worker serving %s at %s", ", ".join(self.targets), self.api.url)
        if self.isolate and self.warm_up:
            threading.Thread(
                target=self._warm_up, name="qrelay-worker-warm-up", daemon=True
            ).start()
        pending: WorkerTask | None = None

        def stopped() -> bool:
            return self._stop.is_set() or (stop_event is not None and stop_event.is_set())

        def retry_on(exc: Exception) -> bool:
            refused = isinstance(exc, AuthenticationError | PermissionDeniedError)
            return isinstance(exc, TransportError | ServiceError) and not refused and not stopped()

        while not stopped():
            # A task is processed once: if its cycle fails (the service is unreachable when
            # the result goes), the next cycle leases afresh rather than running it again.
            queued, pending = [pending], None
            try:
                pending = call_with_retry(
                    functools.partial(self._cycle_queued, queued),
                    LEASE_RETRY,
                    retry_on=retry_on,
                    stop=self._stop,
                    what="lease",
                    level=logging.WARNING,
                )
            except (TransportError, ServiceError) as exc:
                if isinstance(exc, AuthenticationError | PermissionDeniedError) or not stopped():
                    raise
                break
        if pending is not None:  # leased with the last result: run it rather than strand it
            self.process(pending)
        log.info("worker stopped after %d task(s)", self.tasks_done)

    def _cycle_queued(self, queued: list[WorkerTask | None]) -> WorkerTask | None:
        """:meth:`_cycle` of the task ``queued`` holds on the first try; a retry finds it
        taken and leases afresh."""
        return self._cycle(queued.pop() if queued else None)

    def _warm_up(self) -> None:
        """Start the simulation process early, with the simulator drivers loaded."""
        try:
            drivers = sorted(
                {
                    info.driver
                    for info in (self.target_info(name) for name in self.targets)
                    if info.simulator and info.name not in self._given_drivers
                }
            )
            if drivers:
                self._process.preload(drivers)
        except QRelayError as exc:
            log.info("warm-up skipped: %s", exc)

    def run_once(self, wait: float | None = None) -> bool:
        """Lease at most one task and process it. ``True`` when a task was processed."""
        task = self.api.lease(self._targets_now(), self.lease_wait if wait is None else wait)
        if task is None:
            return False
        self.process(task)
        return True

    def _cycle(self, pending: WorkerTask | None) -> WorkerTask | None:
        """One turn of :meth:`run`: process ``pending`` (or a task leased now) and return
        the next task, which the result's request leased (``None``: none came in time).

        Posting a result and then long-polling for the next task were two requests per
        task; the service takes both in one (``POST .../result?lease=...``).
        """
        targets = self._targets_now()
        task = pending if pending is not None else self.api.lease(targets, self.lease_wait)
        if task is None:
            return None
        after = None if self._stop.is_set() else (targets, self.lease_wait)
        return self.process(task, lease_next=after)

    def _targets_now(self) -> list[str]:
        targets = self._leasable_targets()
        if not targets:
            raise TransportError(
                "no device of " + ", ".join(self.targets) + " answers; leasing nothing"
            )
        return targets

    def _leasable_targets(self) -> list[str]:
        """The targets whose device answers now.

        A device target whose driver has ``reachable()`` (the ``qpu-grpc`` driver probes
        its controller) and says no is left out: its tasks stay queued instead of failing
        here, and a worker left with nothing to lease stops polling (see :meth:`run`'s
        backoff), so the service soon reports the target offline.
        """
        out = []
        for name in self.targets:
            if self.stopping:
                break  # no probe of a device while the worker leaves
            try:
                info = self.target_info(name)
                probe = None if info.simulator else getattr(self.driver(info), "reachable", None)
            except QRelayError:
                probe = None  # no info now: lease as before, the task reports the error
            if probe is None or probe():
                out.append(name)
        return out

    # ------------------------------------------------------------------ plugins
    def target_info(self, name: str) -> TargetInfo:
        """The target's description (calibration included), re-read now and then."""
        if name in self._given_infos:
            return self._given_infos[name]
        cached = self._infos.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < TARGET_INFO_TTL:
            return cached[1]
        try:
            info = self.api.target(name)
        except (NotFoundError, PermissionDeniedError) as exc:
            raise ConfigurationError(f"target {name!r}: the service gave no info ({exc})") from exc
        except QRelayError:
            if cached is not None:
                return cached[1]
            raise
        self._infos[name] = (now, info)
        return info

    def driver(self, info: TargetInfo) -> DeviceDriver:
        """The target's driver (one per target and calibration)."""
        given = self._given_drivers.get(info.name)
        if given is not None:
            return given
        key = (info.name, info.calibration_id)
        found = self._drivers.get(key)
        if found is None:
            if self.stopping:  # close() may have closed the drivers: open no new connection
                raise DeviceError(f"target {info.name!r}: the worker is stopping")
            factory = registry.load(registry.DRIVERS, info.driver)
            found = factory(info, **self.driver_config)
            self._drivers = {k: v for k, v in self._drivers.items() if k[0] != info.name}
            self._drivers[key] = found
        return found

    def compiler(self) -> Compiler:
        if self._compiler is None:
            self._compiler = registry.load(registry.COMPILERS, self.compiler_name)()
        return self._compiler

    # ------------------------------------------------------------------ one task
    def process(
        self, task: WorkerTask, *, lease_next: tuple[list[str], float] | None = None
    ) -> WorkerTask | None:
        """Run one leased task to its end and post the result (unless the lease was lost).

        ``lease_next`` (targets, wait): the result's request then leases the next task of
        those targets, which is returned (``None``: none came, or nothing was posted).
        """
        log.info(
            "task %s (job %s, circuit %d, %s on %s, attempt %d)",
            task.task_id,
            task.job_id,
            task.circuit_index,
            task.job_type.value,
            task.target,
            task.attempt,
        )
        started = time.monotonic()
        ctx = TaskContext(task=task, execution_id=task.execution_id)
        self._states[task.task_id] = _LEASED_STATES[task.job_type]
        beat = Heartbeat(self.api, task, ctx, self.heartbeat_seconds)
        ctx.report_status = lambda status, message: self._report(task, beat, status, message)
        ctx.record_execution = lambda execution_id: self._record(task, beat, execution_id)
        brief = self._brief(task)
        # Every task heartbeats: a brief one through the worker's shared thread (it sends
        # none unless the task outlasts a heartbeat period), any other through its own.
        if brief:
            self._pulse.watch(beat)
        else:
            beat.start()
        try:
            outcome = self._work(task, ctx, brief=brief)
        except QRelayError as exc:
            log.info("task %s failed: %s", task.task_id, exc)
            outcome = _Outcome(CircuitStatus.FAILED, message=str(exc))
        except Exception as exc:  # a plugin's own error: fail the task, keep the worker
            log.exception("task %s: unexpected error", task.task_id)
            outcome = _Outcome(CircuitStatus.FAILED, message=f"{type(exc).__name__}: {exc}")
        finally:
            if brief:
                self._pulse.unwatch()
            else:
                beat.stop()
            self._states.pop(task.task_id, None)
        if beat.lost.is_set():
            self._ended(task, "lease_lost", started)
            return None
        if self.stopping and outcome.status is CircuitStatus.FAILED:
            # Stopped mid-task (its simulation was killed): the lease lapses and the
            # service hands the task out again, rather than failing the user's job.
            log.info("task %s: left unfinished by the stop; its lease will lapse", task.task_id)
            return None
        if beat.cancel_requested.is_set() and outcome.status is not CircuitStatus.FAILED:
            outcome = _Outcome(CircuitStatus.CANCELLED, message="cancelled by the user")
        self._ended(task, outcome.status.value, started)
        return self._post(task, beat, outcome, ctx, lease_next)

    def _ended(self, task: WorkerTask, outcome: str, started: float) -> None:
        if self.on_task_end is not None:
            self.on_task_end(task, outcome, time.monotonic() - started)

    @property
    def engine_restarts(self) -> int:
        """Simulation child processes ended early (crash, cancel) and replaced."""
        return self._process.restarts

    def _work(self, task: WorkerTask, ctx: TaskContext, *, brief: bool) -> _Outcome:
        """Compile and run ``task``; ``brief`` (see :meth:`_brief`) already says that it
        runs in this thread."""
        info = self.target_info(task.target)
        circuit = task.circuit
        if task.job_type == JobType.CONVERT:
            identity = _identity(circuit.num_qubits)
            return _Outcome(
                CircuitStatus.COMPLETED,
                readouts=_no_shots(task),
                successful_shots=0,
                compiled=CompileResult(circuit, identity, dict(identity)),
                send_compiled_circuit=True,
            )
        compiled = self._compile(task, info, ctx)
        if task.job_type == JobType.COMPILE:
            return _Outcome(
                CircuitStatus.COMPLETED,
                readouts=_no_shots(task),
                successful_shots=0,
                compiled=compiled,
                send_compiled_circuit=True,
            )
        if ctx.check_cancelled():
            return _Outcome(CircuitStatus.CANCELLED, message="cancelled before it ran")
        isolated = not brief and self._isolated(info, task, compiled.circuit)
        if task.job_type != JobType.SIMULATE and info.simulator and isolated:
            # a simulator runs it now; a device driver reports running itself, when the
            # device has taken the program (with its execution id). The report travels
            # while the child simulates (it is a round trip to the service that the run
            # need not wait for) and is in before the result is posted. A run in this
            # thread is over in milliseconds: nobody could see it running, so it goes
            # from pending to its result without the report.
            report = threading.Thread(
                target=ctx.report_status,
                args=(CircuitStatus.RUNNING, None),
                name=f"qrelay-status-{task.task_id}",
                daemon=True,
            )
            report.start()
            try:
                readouts = self._execute(info, task, compiled.circuit, ctx, isolated=isolated)
            finally:
                report.join()
        else:
            readouts = self._execute(info, task, compiled.circuit, ctx, isolated=isolated)
        if ctx.check_cancelled():
            return _Outcome(CircuitStatus.CANCELLED, message="cancelled while running")
        rows = 1 if task.bindings is None else len(task.bindings)
        if len(readouts) != rows:
            return _Outcome(
                CircuitStatus.FAILED,
                message=f"driver {info.driver!r} gave {len(readouts)} readouts for {rows} "
                "binding row(s)",
            )
        shots = readouts[0].successful_shots if readouts else task.shots
        return _Outcome(
            CircuitStatus.COMPLETED,
            readouts=readouts,
            successful_shots=shots,
            compiled=compiled,
            send_compiled_circuit=compiled.circuit is not circuit,
        )

    def _execute(
        self,
        info: TargetInfo,
        task: WorkerTask,
        circuit: Circuit,
        ctx: TaskContext,
        *,
        isolated: bool,
    ) -> list[Readout]:
        """Run on the target's driver: in the child process when ``isolated`` (a big
        simulation, see :meth:`_isolated`), here otherwise."""
        if isolated:
            return self._process.execute(info, task, circuit, ctx, config=self.driver_config)
        if self.isolate and info.simulator:
            ctx.max_threads = 1  # a small run in this process: no OpenMP threads left spinning
        return self.driver(info).execute(task, circuit, ctx)

    def _brief(self, task: WorkerTask) -> bool:
        """Whether the task ends in milliseconds (see :meth:`brief`).

        Such a task is kept alive by the worker's shared heartbeat thread rather than one
        of its own: starting and joining a thread would be a real share of its run, and
        a task misjudged brief (a sweep of many rows) still keeps its lease.
        """
        return self.brief(
            task.target,
            job_type=task.job_type,
            verbatim=task.verbatim,
            sim_method=task.sim_method,
            circuit=task.circuit,
            shots=task.shots,
            rows=1 if task.bindings is None else len(task.bindings),
        )

    def brief(
        self,
        target: str,
        *,
        job_type: JobType,
        verbatim: bool,
        sim_method: SimMethod | None,
        circuit: Circuit,
        shots: int,
        rows: int,
    ) -> bool:
        """Whether this worker runs such a task in milliseconds, in its own thread.

        That is a small simulation (:func:`~qrelay.worker.isolation.small_simulation`) on
        a simulator target, with nothing to compile.
        """
        if not self.isolate or target not in self.targets or target in self._given_drivers:
            return False
        try:
            info = self.target_info(target)
        except QRelayError:
            return False
        return (
            info.simulator
            and not _compiles(verbatim, info)
            and job_type in (JobType.SUBMIT, JobType.SIMULATE)
            and small_simulation(circuit, shots=shots, rows=rows, sim_method=sim_method)
        )

    def _isolated(self, info: TargetInfo, task: WorkerTask, circuit: Circuit) -> bool:
        """Whether the task runs in the simulation child (see :mod:`qrelay.worker.isolation`)."""
        simulation = task.job_type == JobType.SIMULATE or info.simulator
        return (
            self.isolate
            and simulation
            and info.name not in self._given_drivers
            and not runs_inline(task, circuit)
        )

    def _compile(self, task: WorkerTask, info: TargetInfo, ctx: TaskContext) -> CompileResult:
        circuit = task.circuit
        check_capabilities(circuit, info)
        if task.verbatim:
            check_verbatim(circuit, info)
            identity = _identity(circuit.num_qubits)
            return CompileResult(circuit, identity, dict(identity))
        if not _compiles(task.verbatim, info):
            # a simulator that takes any op: nothing to compile
            if circuit.num_qubits > info.num_qubits:
                check_verbatim(circuit, info)  # raises, naming the qubit count
            identity = _identity(circuit.num_qubits)
            return CompileResult(circuit, identity, dict(identity))
        ctx.report_status(CircuitStatus.COMPILING, None)
        return self.compiler().compile(circuit, info)

    # ------------------------------------------------------------------ reporting
    def _report(
        self, task: WorkerTask, beat: Heartbeat, status: CircuitStatus, message: str | None
    ) -> None:
        """Tell the service where the task is, when that is news and a step it allows.

        The lease already put the task in its working state (``simulating`` for a
        simulation, ``pending`` for a submission, ``compiling`` for a compile job); a
        simulation does not step back to ``compiling``. A refused transition is logged.
        """
        current = self._states.get(task.task_id)
        if status == current or (
            current == CircuitStatus.SIMULATING and status != CircuitStatus.SIMULATING
        ):
            return
        self._send_status(task, beat, status, message, None)

    def _record(self, task: WorkerTask, beat: Heartbeat, execution_id: str) -> None:
        """Store the device's execution id with the service, so a crash can resume it.

        It goes with the step to ``running`` (the device took the program); the id is
        also posted with the result.
        """
        self._execution_ids[task.task_id] = execution_id
        self._send_status(task, beat, CircuitStatus.RUNNING, None, execution_id)

    def _send_status(
        self,
        task: WorkerTask,
        beat: Heartbeat,
        status: CircuitStatus,
        message: str | None,
        execution_id: str | None,
    ) -> None:
        try:
            self.api.status(
                task.task_id,
                WorkerTaskStatus(
                    lease_id=task.lease_id,
                    status=status,
                    message=message,
                    execution_id=execution_id,
                ),
            )
        except ConflictError as exc:
            if exc.code == "lease_lost":
                beat.mark_lost(str(exc))
            else:
                log.info("task %s: status %s not recorded: %s", task.task_id, status.value, exc)
            return
        except QRelayError as exc:
            log.warning("task %s: status %s not recorded: %s", task.task_id, status.value, exc)
            return
        self._states[task.task_id] = status

    def _post(
        self,
        task: WorkerTask,
        beat: Heartbeat,
        outcome: _Outcome,
        ctx: TaskContext,
        lease_next: tuple[list[str], float] | None = None,
    ) -> WorkerTask | None:
        compiled = outcome.compiled
        completed = outcome.status is CircuitStatus.COMPLETED
        results = WorkerTaskResults(
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
            execution_id=self._execution_ids.pop(task.task_id, ctx.execution_id),
            metadata=outcome.metadata,
        )
        following: WorkerTask | None = None
        try:
            if lease_next is None:
                self.api.result(task.task_id, results)
            else:
                targets, wait = lease_next
                following = self.api.result(task.task_id, results, lease=targets, wait=wait)
        except ConflictError as exc:
            log.warning("task %s: result refused (%s); dropped", task.task_id, exc)
            return None
        except (ValidationError, ServiceError) as exc:
            refused = isinstance(exc, ValidationError) or exc.status == _TOO_LARGE
            if results.status is not CircuitStatus.COMPLETED or not refused:
                raise
            # The result does not fit the task (a driver's fault) or the service's body
            # limit: running it again would give the same, so fail it, saying why.
            log.error("task %s: the service refused the result: %s", task.task_id, exc)
            failed = WorkerTaskResults(
                lease_id=task.lease_id,
                status=CircuitStatus.FAILED,
                status_message=f"the worker's result was refused by the service: {exc}",
                execution_id=results.execution_id,
            )
            self.api.result(task.task_id, failed)
        self.tasks_done += 1
        log.info("task %s: %s", task.task_id, outcome.status.value)
        return following
