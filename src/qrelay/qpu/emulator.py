"""The emulated controller: one queue and one worker thread per device.

This module is the controller without gRPC (``qrelay.qpu.server`` puts it on the wire).
An ``execute`` call queues one *program*: an executable with one or more patch-value
sets, one job per set. Each device runs one program at a time, in arrival order. A
program's sets run in one simulation with a bindings table: parameters are patched into
the prepared program, never recompiled.

The simulation (noise from the device's calibration) is the ``aer`` engine plugin; only
the qubits the program touches are simulated. Readout assignment error comes from the IQ
model (:mod:`qrelay.qpu.iq`), not from the engine, so bits and IQ points agree: each
measured value's IQ point is drawn around the centroid of the true state, and the bit is
that point discriminated. The one exception is a qubit whose measured values the
program's control flow reads as it runs (a *steering* qubit): its readout error is
applied in the run, so its conditions see the values misread as the device would, and
the true state of such a measurement is not known afterwards; its IQ points are drawn
around the centroid of the value read.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from qrelay.errors import ConflictError, DeviceError, NotFoundError, PayloadError, QRelayError
from qrelay.payload import TargetInfo
from qrelay.plugins import SimulationEngine
from qrelay.qpu.fleet import FLEET_NAMES, fleet_device
from qrelay.qpu.iq import IQModel
from qrelay.qpu.records import (
    CancelOutcome,
    Device,
    Job,
    JobResult,
    JobState,
    Prepared,
    Program,
    StatusView,
)
from qrelay.qpu.runner import (  # the engine's defaults are importable from here too
    DEFAULT_ENGINE_OPTIONS,
    ENGINE_PLUGIN,
    ProcessRunner,
    Runner,
    make_runner,
)
from qrelay.qpu.simulation import (
    ProgramCancelledError,
    check_request,
    prepare_program,
    readout,
    request_fingerprint,
    simulate,
)
from qrelay.qpu.translation import Executable
from qrelay.runtime import tracing

__all__ = [
    "DEFAULT_ENGINE_OPTIONS",
    "ENGINE_PLUGIN",
    "MAX_AWAIT_SECONDS",
    "PREPARED_CACHE",
    "RETAINED_JOBS",
    "Controller",
]

log = logging.getLogger(__name__)

#: The longest a single await may block, whatever the client asks.
MAX_AWAIT_SECONDS: Final = 60.0
#: Finished jobs whose results are kept; older ones are forgotten (status NOT_FOUND).
RETAINED_JOBS: Final = 50_000
#: Prepared executables kept (parsed, checked, reduced, scheduled).
PREPARED_CACHE: Final = 128


class Controller:
    """The emulated QPU controller: devices, queues, jobs and counters.

    ``engine`` is a simulation engine object, run in the device threads; without one,
    the ``aer`` engine plugin runs in child processes (see :mod:`qrelay.qpu.runner`),
    built with ``engine_options`` (default :data:`DEFAULT_ENGINE_OPTIONS`).
    ``seed`` makes shot noise and IQ points reproducible. ``gate_noise=False`` simulates
    the gates ideally (readout keeps its calibrated IQ spread); ``chunk_rows`` bounds the
    parameter sets one engine call runs.
    """

    def __init__(
        self,
        devices: Iterable[str] | None = None,
        *,
        engine: SimulationEngine | None = None,
        seed: int | None = None,
        targets: Mapping[str, TargetInfo] | None = None,
        engine_options: Mapping[str, Any] | None = None,
        gate_noise: bool = True,
        chunk_rows: int = 250,
    ) -> None:
        names = list(devices) if devices is not None else list(FLEET_NAMES)
        if not names:
            raise PayloadError("devices: a controller serves at least one device")
        self.controller_id = f"qpu-controller-{uuid.uuid4().hex[:8]}"
        self._cond = threading.Condition()
        self._stopping = False
        self._paused = False
        self._engine = engine
        self._gate_noise = gate_noise
        self._chunk_rows = max(1, chunk_rows)
        self._engine_options = dict(
            DEFAULT_ENGINE_OPTIONS if engine_options is None else engine_options
        )
        self._engine_lock = threading.Lock()
        self._runner: Runner | None = None
        self._seed = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
        self._program_counter = itertools.count()
        self._devices: dict[str, Device] = {}
        self._threads: list[threading.Thread] = []
        for i, name in enumerate(names):
            target = (targets or {}).get(name) or fleet_device(name)
            device = self._devices[name] = Device(target, iq_seed=i)
            self._threads.append(
                threading.Thread(
                    target=self._serve, args=(device,), name=f"qpu-{target.name}", daemon=True
                )
            )
        self._jobs: dict[str, Job] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._idempotency: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._cond:
            if self._started:
                return
            self._started = True
        for thread in self._threads:
            thread.start()

    def warm_up(self) -> None:
        """Start the engine process in the background (a no-op for an engine object)."""

        def warm() -> None:
            try:
                runner = self.runner()
                if isinstance(runner, ProcessRunner):
                    runner.warm()
            except QRelayError as exc:
                log.warning("engine warm-up failed: %s", exc)

        threading.Thread(target=warm, name="qpu-engine-warm-up", daemon=True).start()

    def pause(self) -> None:
        """Hold every device queue (maintenance): programs queue but none starts."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        """Let the device queues run again."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the device threads after the programs they are running."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        with self._engine_lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()

    # ------------------------------------------------------------------ devices
    @property
    def device_names(self) -> list[str]:
        return list(self._devices)

    def device(self, name: str) -> Device:
        try:
            return self._devices[name]
        except KeyError:
            raise NotFoundError(
                f"quantum processor {name!r} is not served here "
                f"(serving: {', '.join(self._devices)})",
                status=404,
                code="not_found",
            ) from None

    def runner(self) -> Runner:
        """Where simulations run: the engine object given, else the plugin in a child."""
        with self._engine_lock:
            if self._runner is None:
                self._runner = make_runner(self._engine, self._engine_options)
            return self._runner

    def recalibrate(self, target: TargetInfo) -> None:
        """Give a device a new calibration (``target``, named as the device).

        Programs queued after this run under it; a program translated for the old one is
        refused as stale (``stale_calibration``) unless it bypasses the check.
        """
        device = self.device(target.name)
        iq = IQModel.for_target(target, device.iq_seed)
        with self._cond:
            device.target = target
            device.iq = iq
        log.info("%s recalibrated: calibration %s", target.name, target.calibration_id)

    # ------------------------------------------------------------------ preparing
    def prepare(self, key: str, build: Callable[[], Executable]) -> Prepared:
        """Parse, check, reduce and schedule an executable once; reuse it by ``key``."""
        with self._cond:
            found = self._prepared.get(key)
            if found is not None:
                self._prepared.move_to_end(key)
                return found
        executable = build()
        device = self.device(executable.quantum_processor_id)
        prepared = prepare_program(key, executable, device.target)
        with self._cond:
            self._prepared[key] = prepared
            while len(self._prepared) > PREPARED_CACHE:
                self._prepared.popitem(last=False)
        return prepared

    # ------------------------------------------------------------------ the calls
    def execute(
        self,
        prepared: Prepared,
        patch_sets: Sequence[Mapping[str, Sequence[float]]],
        *,
        idempotency_key: str = "",
        executable_key: str = "",
        bypass_settings_protection: bool = False,
        fingerprint: str | None = None,
        seed: int | None = None,
    ) -> tuple[list[str], bool]:
        """Queue one program with one job per patch set: all of them, or none.

        Returns the job ids and whether they are a replay of an earlier call with the same
        idempotency key (then nothing new is queued). ``fingerprint`` identifies the request
        for that comparison (default: a hash of the executable key and patch values).
        ``seed`` seeds the program's shot and readout noise; without one, the program's
        seed comes from the controller's seed and the program's number.
        """
        device = self.device(prepared.executable.quantum_processor_id)
        sets = list(patch_sets) or [{}]
        if fingerprint is None:
            fingerprint = request_fingerprint(executable_key, sets, seed)
        with self._cond:
            replayed = self._replayed(idempotency_key, fingerprint, "executable or patch values")
        if replayed is not None:
            return replayed, True
        check_request(prepared, device.target, sets, bypass=bypass_settings_protection)
        with self._cond:
            if self._stopping:
                raise DeviceError("the controller is shutting down")
            replayed = self._replayed(idempotency_key, fingerprint, "request")
            if replayed is not None:
                return replayed, True
            program = self._queue(device, prepared, sets, seed)
            job_ids = [job.job_id for job in program.jobs]
            if idempotency_key:
                self._idempotency[idempotency_key] = (fingerprint, job_ids)
                while len(self._idempotency) > RETAINED_JOBS:
                    self._idempotency.popitem(last=False)
        return list(job_ids), False

    # Runs with the lock held.
    def _replayed(self, idempotency_key: str, fingerprint: str, differing: str) -> list[str] | None:
        """The job ids an earlier call with this idempotency key queued (None: no such
        call); a conflict when that call's request was another (``differing`` names what)."""
        if not idempotency_key or idempotency_key not in self._idempotency:
            return None
        seen, job_ids = self._idempotency[idempotency_key]
        if seen != fingerprint:
            raise ConflictError(
                f"idempotency key {idempotency_key!r} was used with a different {differing}",
                status=409,
                code="idempotency_mismatch",
            )
        return list(job_ids)

    # Runs with the lock held.
    def _queue(
        self,
        device: Device,
        prepared: Prepared,
        sets: Sequence[Mapping[str, Sequence[float]]],
        seed: int | None,
    ) -> Program:
        """Queue ``prepared`` on ``device`` as one program with a job per patch set."""
        number = next(self._program_counter)
        program = Program(
            program_id=f"prog-{number}",
            prepared=prepared,
            seed=seed if seed is not None else (self._seed * 1_000_003 + number) & 0x7FFFFFFF,
            traceparent=tracing.traceparent(),
            queued_ns=time.time_ns(),
        )
        for values in sets:
            job = Job(
                job_id=f"{device.target.name}-{uuid.uuid4().hex[:16]}",
                device=device.target.name,
                program=program,
                patch={k: [float(x) for x in v] for k, v in values.items()},
            )
            program.jobs.append(job)
            self._jobs[job.job_id] = job
        device.queue.append(program)
        self._cond.notify_all()
        return program

    def _job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} on this controller", status=404)
        return job

    def _view(self, job: Job) -> StatusView:
        delay, position = 0.0, 0
        if job.state is JobState.QUEUED:
            delay, position = self._devices[job.device].delay_of(job.program)
        return StatusView(
            job_id=job.job_id,
            state=job.state,
            device=job.device,
            estimated_delay_seconds=delay,
            queue_position=position,
            message=job.message,
            execution_count=job.execution_count,
        )

    def status(self, job_ids: Sequence[str]) -> list[StatusView]:
        with self._cond:
            return [self._view(self._job(job_id)) for job_id in job_ids]

    def await_results(
        self, job_ids: Sequence[str], timeout: float
    ) -> tuple[list[StatusView], list[tuple[str, JobResult]]]:
        """Wait up to ``timeout`` (capped) for every job to end; return statuses and results."""
        deadline = time.monotonic() + max(0.0, min(timeout, MAX_AWAIT_SECONDS))
        with self._cond:
            jobs = [self._job(job_id) for job_id in job_ids]
            while not all(job.state.terminal for job in jobs):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            views = [self._view(job) for job in jobs]
            results = [
                (job.job_id, job.result)
                for job in jobs
                if job.state is JobState.COMPLETED and job.result is not None
            ]
        return views, results

    def cancel(self, job_ids: Sequence[str]) -> list[tuple[str, CancelOutcome, str]]:
        """Cancel jobs: a queued one never runs, a running one ends ``cancelled`` at once.

        A running job's result is discarded (nobody receives it), and a program whose
        jobs are all cancelled stops at its next chunk of parameter sets.
        """
        out = []
        with self._cond:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job is None:
                    out.append((job_id, CancelOutcome.NOT_FOUND, "no such job"))
                elif job.state is JobState.QUEUED:
                    job.state = JobState.CANCELLED
                    job.message = "cancelled before it started"
                    self._retire(job)
                    out.append((job_id, CancelOutcome.CANCELLED, job.message))
                elif job.state is JobState.RUNNING:
                    # The device stops the program between chunks once all its jobs are
                    # cancelled; a job's result is discarded either way.
                    job.state = JobState.CANCELLED
                    job.message = "cancelled while running; its result was discarded"
                    self._retire(job)
                    out.append((job_id, CancelOutcome.CANCELLED, job.message))
                else:
                    out.append(
                        (job_id, CancelOutcome.ALREADY_FINISHED, f"the job is {job.state.value}")
                    )
            self._cond.notify_all()
        return out

    def info(self) -> dict[str, Any]:
        """Counters and queue depths of the controller and each device."""
        with self._cond:
            devices = [
                {
                    "quantum_processor_id": name,
                    "calibration_id": d.target.calibration_id or "",
                    "queue_depth": sum(len(p.active()) for p in d.queue),
                    "estimated_delay_seconds": d.queue_delay_seconds(),
                    "programs_executed": d.counters.programs_executed,
                    "jobs_completed": d.counters.jobs_completed,
                    "busy_seconds": d.counters.busy_seconds,
                }
                for name, d in self._devices.items()
            ]
        runner = self._runner
        return {
            "controller_id": self.controller_id,
            "devices": devices,
            "engine_restarts": runner.restarts if isinstance(runner, ProcessRunner) else 0,
            "programs_executed": sum(d["programs_executed"] for d in devices),
            "jobs_completed": sum(d["jobs_completed"] for d in devices),
        }

    def _retire(self, job: Job) -> None:
        """Remember a finished job; forget the oldest beyond the retention bound."""
        self._finished[job.job_id] = None
        while len(self._finished) > RETAINED_JOBS:
            old, _ = self._finished.popitem(last=False)
            self._jobs.pop(old, None)

    # ------------------------------------------------------------------ running
    def _serve(self, device: Device) -> None:
        """The device's thread: run its queued programs one at a time, in arrival order,
        until the controller stops."""
        cond = self._cond
        while True:
            with cond:
                while (not device.queue or self._paused) and not self._stopping:
                    cond.wait()
                if self._stopping:
                    return
                program = device.queue.popleft()
                jobs = program.active()
                if not jobs:
                    continue
                for job in jobs:
                    job.state = JobState.RUNNING
                device.running = program
                cond.notify_all()
            started = time.monotonic()
            try:
                with tracing.continued(program.traceparent):
                    tracing.record(
                        "qrelay.controller.queue", program.queued_ns, device=device.target.name
                    )
                    with tracing.span(
                        "qrelay.controller.run", device=device.target.name, jobs=len(jobs)
                    ):
                        results = self._run(device, program.prepared, jobs, program.seed)
                error: str | None = None
            except ProgramCancelledError:
                results, error = [], None
            except Exception as exc:
                log.exception("program %s on %s failed", program.program_id, device.target.name)
                results, error = [], f"{type(exc).__name__}: {exc}"
            with cond:
                device.counters.busy_seconds += time.monotonic() - started
                device.counters.programs_executed += 1
                for i, job in enumerate(jobs):
                    job.execution_count += 1
                    if job.state is JobState.CANCELLED:
                        continue  # cancelled while it ran: its result is discarded
                    if error is None:
                        job.result = results[i]
                        job.state = JobState.COMPLETED
                        device.counters.jobs_completed += 1
                    else:
                        job.state = JobState.FAILED
                        job.message = error
                    self._retire(job)
                device.running = None
                cond.notify_all()

    def _run(
        self, device: Device, prepared: Prepared, jobs: list[Job], seed: int
    ) -> list[JobResult]:
        """Simulate one program for the given jobs' patch sets; build their buffers."""
        noise = prepared.noise if self._gate_noise else None
        registers = simulate(
            self.runner(), prepared, jobs, seed, noise=noise, chunk_rows=self._chunk_rows
        )
        return readout(device.iq, prepared, jobs, registers, seed, noisy=noise is not None)
