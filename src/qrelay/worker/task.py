"""One leased task, from its lease to its posted result: what a worker does with it.

What the service may see from one task::

    lease -> [status compiling] -> [status running|simulating] -> result

A ``compile`` job ends after compiling with the compiled circuit and its layouts; a
``convert`` job returns the (already converted) circuit. ``verbatim`` skips compiling but
is checked against the target first (:mod:`qrelay.worker.verbatim`). Every task
heartbeats (:mod:`qrelay.worker.heartbeat`) while it runs; a big simulation runs in the
worker's child process (:mod:`qrelay.worker.isolation`), a small one in the calling thread.

:class:`TaskProcessor` is this part of a :class:`~qrelay.worker.Worker`; the lease loop
is in :mod:`qrelay.worker.loop`, the targets' descriptions and drivers in
:mod:`qrelay.worker.targets`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from qrelay.errors import (
    ConflictError,
    PayloadError,
    QRelayError,
)
from qrelay.payload import (
    Circuit,
    CircuitStatus,
    JobType,
    Readout,
    TargetInfo,
    TaskResults,
    WorkerTask,
    WorkerTaskStatus,
)
from qrelay.payload.capabilities import check_capabilities
from qrelay.payload.run_options import RunOptions
from qrelay.payload.workload import SIMULATION_JOB_TYPES, small_simulation
from qrelay.plugins import Compiler, CompileResult, DeviceDriver, TaskContext
from qrelay.runtime import tracing
from qrelay.worker.api import WorkerChannel
from qrelay.worker.batch import simulate_together
from qrelay.worker.heartbeat import Heartbeat, Pulse
from qrelay.worker.isolation import DriverProcess
from qrelay.worker.outcome import (
    LEASED_STATES,
    Outcome,
    compiles,
    identity_layout,
    no_shots,
    task_results,
)
from qrelay.worker.posting import NextLease, ResultPoster
from qrelay.worker.targets import TargetCache
from qrelay.worker.verbatim import check_verbatim

log = logging.getLogger(__name__)


class TaskProcessor:
    """Runs leased tasks to their results for the targets in ``targets``.

    ``api`` is the channel to the service, ``cache`` the targets' descriptions and
    drivers. With ``isolate``, a simulation longer than a few milliseconds runs in a child
    process; otherwise (and for a driver given to the worker) everything runs here.
    """

    def __init__(
        self,
        api: WorkerChannel,
        cache: TargetCache,
        targets: list[str],
        *,
        heartbeat_seconds: float,
        isolate: bool,
    ) -> None:
        self.api = api
        self.cache = cache
        self.targets = list(targets)
        self.heartbeat_seconds = heartbeat_seconds
        self.isolate = isolate
        self._stop = threading.Event()
        self._process = DriverProcess()
        self._pulse = Pulse()
        self._execution_ids: dict[str, str] = {}
        self._states: dict[str, CircuitStatus] = {}
        #: Readouts of brief tasks simulated together (see :meth:`process_many`).
        self._ran: dict[str, list[Readout]] = {}
        self._poster = ResultPoster(api)
        #: Whether the tasks processed last were all small simulations run here (so a
        #: worker may lease several at a time).
        self.all_brief = False
        #: Called with (task, outcome, seconds) as each task ends: its final status, or
        #: ``lease_lost`` (see :mod:`qrelay.worker.metrics`).
        self.on_task_end: Callable[[WorkerTask, str, float], None] | None = None

    @property
    def tasks_done(self) -> int:
        """Tasks whose result the service accepted."""
        return self._poster.tasks_done

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def driver_config(self) -> dict[str, Any]:
        """What every driver's constructor gets (e.g. ``qpu_address``)."""
        return self.cache.driver_config

    def target_info(self, name: str) -> TargetInfo:
        """The target's description (calibration included), re-read now and then."""
        return self.cache.info(name)

    def driver(self, info: TargetInfo) -> DeviceDriver:
        """The target's driver (one per target and calibration)."""
        return self.cache.driver(info, stopping=self.stopping)

    def compiler(self) -> Compiler:
        """The compiler plugin."""
        return self.cache.compiler()

    def _report_calibration(self, info: TargetInfo) -> None:
        """Hand the service a calibration the device reported; the target's description
        is read again at its next use."""
        self.api.report_calibration(info.name, info)
        self.cache.forget(info.name)

    def process(self, task: WorkerTask) -> None:
        """Run one leased task to its end and post its result (see :meth:`process_many`)."""
        self.process_many([task])

    def process_many(
        self, tasks: Sequence[WorkerTask], *, lease_next: NextLease | None = None
    ) -> list[WorkerTask]:
        """Process leased tasks one after the other and post their results together.

        Small simulations run together first, one driver call per target (see
        :mod:`qrelay.worker.batch`); then each task is processed as alone, and the results
        go in one request (one transaction, each under its own lease). Before a task that
        may run long the results so far are posted, and the later tasks' leases kept alive.

        ``lease_next`` (targets, wait, limit): the last request then leases up to
        ``limit`` next tasks of those targets, which are returned.
        """
        small = {task.task_id for task in tasks if self._small_simulation(task)}
        self.all_brief = len(small) == len(tasks)
        self._ran.update(
            simulate_together(
                [task for task in tasks if task.task_id in small], self.target_info, self.driver
            )
        )
        done: list[TaskResults] = []
        kept: dict[str, Heartbeat] = {}
        try:
            for index, task in enumerate(tasks):
                if task.task_id not in small:
                    self._poster.post_results(done)
                    done = []
                    self._keep_alive(tasks[index + 1 :], kept)
                leased = self._take_kept(task, kept)
                if leased is None:
                    continue
                finished = self._traced_run(leased)
                if finished is not None:
                    done.append(finished)
            return self._poster.post_results(done, lease_next)
        finally:
            for task in tasks:
                self._ran.pop(task.task_id, None)
                self._poster.forget(task.task_id)  # its result was posted, or nothing was
            for beat in kept.values():
                beat.stop()

    def _keep_alive(self, waiting: Sequence[WorkerTask], kept: dict[str, Heartbeat]) -> None:
        """Heartbeat the leases of ``waiting`` tasks (leased, not started) while the task
        before them runs: they would lapse behind a long one."""
        for task in waiting:
            if task.task_id not in kept:
                beat = Heartbeat(self.api, task, TaskContext(task=task), self.heartbeat_seconds)
                beat.start()
                kept[task.task_id] = beat

    def _take_kept(self, task: WorkerTask, kept: dict[str, Heartbeat]) -> WorkerTask | None:
        """The task to run, with its lease's expiry as its keeper last extended it; None
        when the lease was lost while it waited (another worker has the task now)."""
        beat = kept.pop(task.task_id, None)
        if beat is None:
            return task
        beat.stop()
        if beat.lost.is_set():
            self._ended(task, "lease_lost", time.monotonic())
            return None
        return task.model_copy(update={"lease_expires_at": beat.expires_at})

    def _traced_run(self, task: WorkerTask) -> TaskResults | None:
        """:meth:`_run_task`, in the trace the job was submitted under (when traced)."""
        with (
            tracing.continued(task.traceparent),
            tracing.span("qrelay.worker.task", job_id=task.job_id, task_id=task.task_id),
        ):
            self._poster.follow(task.task_id)
            tracing.record(
                "qrelay.worker.lease",
                time.time_ns(),
                lease_id=task.lease_id,
                attempt=task.attempt,
                target=task.target,
            )
            return self._run_task(task)

    def _run_task(self, task: WorkerTask) -> TaskResults | None:
        """Run one leased task to its end: its result to post, or None when there is
        nothing to post (the lease was lost, or the stop left it unfinished)."""
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
        self._states[task.task_id] = LEASED_STATES[task.job_type]
        beat = Heartbeat(self.api, task, ctx, self.heartbeat_seconds)
        ctx.report_status = lambda status, message: self._report(task, beat, status, message)
        ctx.record_execution = lambda execution_id: self._record(task, beat, execution_id)
        ctx.report_calibration = self._report_calibration
        brief = self._small_simulation(task)
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
            outcome = Outcome(CircuitStatus.FAILED, message=str(exc))
        except Exception as exc:  # a plugin's own error: fail the task, keep the worker
            log.exception("task %s: unexpected error", task.task_id)
            outcome = Outcome(CircuitStatus.FAILED, message=f"{type(exc).__name__}: {exc}")
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
            outcome = Outcome(CircuitStatus.CANCELLED, message="cancelled by the user")
        self._ended(task, outcome.status.value, started)
        execution_id = self._execution_ids.pop(task.task_id, ctx.execution_id)
        return task_results(task, outcome, ctx, execution_id)

    def _ended(self, task: WorkerTask, outcome: str, started: float) -> None:
        if self.on_task_end is not None:
            self.on_task_end(task, outcome, time.monotonic() - started)

    @property
    def engine_restarts(self) -> int:
        """Simulation child processes ended early (crash, cancel) and replaced."""
        return self._process.restarts

    def _work(self, task: WorkerTask, ctx: TaskContext, *, brief: bool) -> Outcome:
        """Compile and run ``task``; ``brief`` (see :meth:`_small_simulation`) already says
        that it runs in this thread."""
        info = self.target_info(task.target)
        circuit = task.circuit
        if task.job_type == JobType.CONVERT:
            identity = identity_layout(circuit.num_qubits)
            return Outcome(
                CircuitStatus.COMPLETED,
                readouts=no_shots(task),
                successful_shots=0,
                compiled=CompileResult(circuit, identity, dict(identity)),
                send_compiled_circuit=True,
            )
        with tracing.span("qrelay.worker.compile", target=info.name):
            compiled = self._compile(task, info, ctx)
        if task.job_type == JobType.COMPILE:
            return Outcome(
                CircuitStatus.COMPLETED,
                readouts=no_shots(task),
                successful_shots=0,
                compiled=compiled,
                send_compiled_circuit=True,
            )
        if ctx.check_cancelled():
            return Outcome(CircuitStatus.CANCELLED, message="cancelled before it ran")
        ctx.calibration_id = info.calibration_id  # a device driver may name its own
        isolated = not brief and self._isolated(info, task, compiled.circuit)
        readouts = self._execute_reporting(info, task, compiled.circuit, ctx, isolated=isolated)
        if ctx.check_cancelled():
            return Outcome(CircuitStatus.CANCELLED, message="cancelled while running")
        rows = 1 if task.bindings is None else len(task.bindings)
        if len(readouts) != rows:
            return Outcome(
                CircuitStatus.FAILED,
                message=f"driver {info.driver!r} gave {len(readouts)} readouts for {rows} "
                "binding row(s)",
            )
        shots = readouts[0].successful_shots if readouts else task.shots
        return Outcome(
            CircuitStatus.COMPLETED,
            readouts=readouts,
            successful_shots=shots,
            compiled=compiled,
            send_compiled_circuit=compiled.circuit is not circuit,
        )

    def _execute_reporting(
        self,
        info: TargetInfo,
        task: WorkerTask,
        circuit: Circuit,
        ctx: TaskContext,
        *,
        isolated: bool,
    ) -> list[Readout]:
        """:meth:`_execute`, reporting ``running`` meanwhile when a simulator runs a
        submitted task in the child.

        A device driver reports running itself, when the device has taken the program
        (with its execution id). The report travels while the child simulates (it is a
        round trip to the service that the run need not wait for) and is in before the
        result is posted. A run in this thread is over in milliseconds: nobody could see
        it running, so it goes from pending to its result without the report.
        """
        if task.job_type == JobType.SIMULATE or not info.simulator or not isolated:
            return self._execute(info, task, circuit, ctx, isolated=isolated)
        report = threading.Thread(
            target=ctx.report_status,
            args=(CircuitStatus.RUNNING, None),
            name=f"qrelay-status-{task.task_id}",
            daemon=True,
        )
        report.start()
        try:
            return self._execute(info, task, circuit, ctx, isolated=isolated)
        finally:
            report.join()

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
        with tracing.span("qrelay.worker.execute", driver=info.driver, isolated=isolated):
            ran = None if isolated else self._ran.pop(task.task_id, None)
            if ran is not None:  # simulated together with its job's other circuits
                return ran
            if isolated:
                return self._process.execute(info, task, circuit, ctx, config=self.driver_config)
            if self.isolate and info.simulator:
                ctx.max_threads = 1  # a small run in this process: no OpenMP threads spinning
            return self.driver(info).execute(task, circuit, ctx)

    def _small_simulation(self, task: WorkerTask) -> bool:
        """Whether the task is a small simulation run in this thread (see
        :meth:`runs_small_simulations`), ending in milliseconds.

        Such a task is kept alive by the worker's shared heartbeat thread rather than one
        of its own: starting and joining a thread would be a real share of its run, and
        a task misjudged small (a sweep of many rows) still keeps its lease.
        """
        return (
            task.job_type in SIMULATION_JOB_TYPES
            and self.runs_small_simulations(task.target, verbatim=task.verbatim)
            and small_simulation(
                task.circuit,
                shots=task.shots,
                rows=task.binding_count(),
                sim_method=task.sim_method,
            )
        )

    def runs_small_simulations(self, target: str, *, verbatim: bool) -> bool:
        """Whether this worker runs the small simulations of ``target`` (see
        :func:`~qrelay.payload.workload.small_simulation`) in its own thread: a simulator
        target it serves, with nothing to compile.
        """
        if not self.isolate or target not in self.targets or self.cache.has_given_driver(target):
            return False
        try:
            info = self.target_info(target)
        except QRelayError:
            return False
        return info.simulator and not compiles(verbatim, info)

    def _isolated(self, info: TargetInfo, task: WorkerTask, circuit: Circuit) -> bool:
        """Whether the task runs in the simulation child (see :mod:`qrelay.worker.isolation`)."""
        simulation = task.job_type == JobType.SIMULATE or info.simulator
        return (
            self.isolate
            and simulation
            and not self.cache.has_given_driver(info.name)
            and not small_simulation(
                circuit, shots=task.shots, rows=task.binding_count(), sim_method=task.sim_method
            )
        )

    def _compile(self, task: WorkerTask, info: TargetInfo, ctx: TaskContext) -> CompileResult:
        circuit = task.circuit
        check_capabilities(circuit, info)
        if task.verbatim:
            check_verbatim(circuit, info)
            identity = identity_layout(circuit.num_qubits)
            return CompileResult(circuit, identity, dict(identity))
        if not compiles(task.verbatim, info):
            # a simulator that takes any op: nothing to compile
            if circuit.num_qubits > info.num_qubits:
                check_verbatim(circuit, info)  # raises, naming the qubit count
            identity = identity_layout(circuit.num_qubits)
            return CompileResult(circuit, identity, dict(identity))
        if circuit.observables is not None:
            # a compiled circuit has other qubits than the ones the observables name
            raise PayloadError(
                f"observables: {info.name!r} compiles circuits; submit a circuit with "
                "observables verbatim"
            )
        ctx.report_status(CircuitStatus.COMPILING, None)
        level = RunOptions.of(task).optimization_level
        return self.compiler().compile(circuit, info, optimization_level=level)

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
