"""The ``qpu-grpc`` driver: tasks for fleet devices, run through :mod:`qrelay.qpu.api`.

A task becomes one executable (``translation.translate``) and one patch-value set per
binding row, queued atomically with ``submit_with_parameter_batch`` under an idempotency
key (see :func:`idempotency_key`): the deployment's random id, the task id and the attempt
that first submitted it. That attempt is recorded with the service before the submission
(``submitting:a<attempt>``), and the job ids after it, both through the task context. A
worker that crashes at any point is followed by one that either re-attaches to the jobs,
or submits again under the recorded attempt's key and gets the original ids back: the
program runs once either way. Another deployment sharing the controller has another key
(and the controller scopes keys per caller token), so it never receives this run.

Cancelling the task cancels its jobs on the controller, running ones included.

A ``simulate`` job naming a QPU target does not go to the controller: it runs on the Aer
engine here, ideal for ``sim`` and with the device's calibrated noise for ``noise-sim``,
on only the qubits the program touches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from qrelay import registry
from qrelay.errors import (
    ConfigurationError,
    PayloadError,
    QpuApiError,
    QpuNotFoundError,
    QpuTimeoutError,
    QpuUnavailableError,
    SubmissionError,
)
from qrelay.payload import (
    Circuit,
    CircuitStatus,
    JobType,
    Readout,
    SimMethod,
    TargetInfo,
    WorkerTask,
)
from qrelay.payload.calibration import check_pin
from qrelay.payload.run_options import RunOptions
from qrelay.plugins import SimulationEngine, TaskContext
from qrelay.runtime.retry import UNBOUNDED, RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from qrelay.qpu.options import ExecutionOptions
    from qrelay.qpu.translation import TranslationResult

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Seconds per bounded wait for results; between waits the driver checks for cancel.
AWAIT_CHUNK_SECONDS: Final = 2.0
#: Seconds a submit call may take.
SUBMIT_TIMEOUT_SECONDS: Final = 60.0
#: Seconds a leased task keeps retrying an unreachable controller before it fails (the
#: heartbeats keep its lease meanwhile). Config key ``unreachable_seconds`` changes it.
UNREACHABLE_BOUND_SECONDS: Final = 120.0
#: First and longest pause between two tries at an unreachable controller.
_RETRY_FIRST_SECONDS: Final = 0.25
_RETRY_MAX_SECONDS: Final = 5.0
_ID_SEPARATOR: Final = ","
#: An execution id recorded before submitting: which attempt's key the submission uses.
_SUBMITTING: Final = "submitting:a"
#: The gRPC status of a program the controller refuses as translated for another
#: calibration (or with an idempotency key reused for another request).
_STALE: Final = "FAILED_PRECONDITION"


def idempotency_key(task: WorkerTask, attempt: int | None = None) -> str:
    """The key of a task's submission by ``attempt`` (default: this one).

    It carries the deployment's random id (from the service, with the lease), so two
    deployments sharing a controller never meet on a key, and the attempt that first
    submitted, which the worker records with the service before submitting: a later
    attempt reads it back and submits under the same key (see :meth:`QpuGrpcDriver.execute`).
    """
    deployment = task.deployment_id or "unknown-deployment"
    return f"qrelay-{deployment}-task-{task.task_id}-a{attempt or task.attempt}"


def _submitting_attempt(execution_id: str | None) -> int | None:
    """The attempt an execution id of the form ``submitting:a<n>`` names, else None."""
    if not execution_id or not execution_id.startswith(_SUBMITTING):
        return None
    number = execution_id.removeprefix(_SUBMITTING)
    return int(number) if number.isdigit() and int(number) >= 1 else None


def _submit_options(task: WorkerTask) -> ExecutionOptions:
    """The options a task's program is submitted with: the submit bound and its seed."""
    from qrelay.qpu.options import ApiExecutionOptions, ExecutionOptions

    seed = task.seed()
    return (
        ExecutionOptions.builder()
        .timeout(SUBMIT_TIMEOUT_SECONDS)
        .api_options(ApiExecutionOptions(seed=None if seed is None else seed % 2**32))
        .build()
    )


def patch_values(circuit: Circuit, task: WorkerTask) -> list[dict[str, list[float]]]:
    """One patch-value set (memory region to values) per binding row of ``task``."""
    from qrelay.qpu.native import PatchLayout

    return PatchLayout.of(circuit).sets(task.bindings)


class QpuGrpcDriver:
    """Runs tasks on a fleet device behind a QPU controller (``qrelay.plugins.DeviceDriver``).

    ``qpu_address`` (``host:port``) names the controller; without it the QPU API's own
    default (``QRELAY_QPU_ADDRESS``) is used. ``qpu_token`` is the controller's token
    (default: the settings', ``QRELAY_QPU_TOKEN`` or ``QRELAY_QPU_TOKEN_FILE``).
    """

    def __init__(self, target_info: TargetInfo, **config: Any) -> None:
        from qrelay.qpu.api import QpuClient

        self.info = target_info
        address = config.get("qpu_address")
        if address is not None and not isinstance(address, str):
            raise ConfigurationError(f"qpu_address: expected 'host:port', got {address!r}")
        token = config.get("qpu_token")
        if token is not None and not isinstance(token, str):
            raise ConfigurationError("qpu_token: expected a string")
        self.client = QpuClient(gateway=address or None, token=token or None)
        self.unreachable_seconds = float(
            config.get("unreachable_seconds", UNREACHABLE_BOUND_SECONDS)
        )
        self._engine: SimulationEngine | None = None
        #: The controller's calibration of the device, once asked (see _calibration).
        self._device_calibration: str | None = None

    def capabilities(self) -> TargetInfo:
        return self.info

    def reachable(self) -> bool:
        """Whether the controller answers now (the worker leases nothing for it otherwise)."""
        from qrelay.qpu import api
        from qrelay.qpu.options import ExecutionOptions

        try:
            api.get_controller_info(
                client=self.client,
                execution_options=ExecutionOptions.builder().timeout(2.0).build(),
            )
        except QpuApiError as exc:
            log.warning("QPU controller for %s unreachable: %s", self.info.name, exc)
            return False
        return True

    def _retrying(self, call: Callable[[], _T], ctx: TaskContext, what: str) -> _T | None:
        """``call()``, tried again with jittered backoff while the controller is unreachable.

        Gives up with :class:`QpuUnavailableError` after ``unreachable_seconds``; ``None``
        when the task is cancelled meanwhile. Other errors (a refused program) end it at once.
        """
        policy = RetryPolicy(
            max_retries=UNBOUNDED,
            deadline=self.unreachable_seconds,
            backoff_base=_RETRY_FIRST_SECONDS,
            backoff_max=_RETRY_MAX_SECONDS,
        )
        try:
            return call_with_retry(
                call,
                policy,
                retry_on=lambda exc: isinstance(exc, QpuUnavailableError),
                stop=ctx.cancelled,
                what=f"{what} (QPU controller unreachable)",
                level=logging.WARNING,
            )
        except QpuUnavailableError as exc:
            if ctx.cancelled.is_set():
                return None
            raise QpuUnavailableError(
                f"{what}: the QPU controller stayed unreachable for "
                f"{self.unreachable_seconds:g} s ({exc})",
                code=exc.code,
            ) from exc

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ execute
    def execute(self, task: WorkerTask, circuit: Circuit, ctx: TaskContext) -> list[Readout]:
        """Run ``circuit`` (native for the device) once per binding row."""
        if task.job_type == JobType.SIMULATE:
            return self.simulate(task, circuit)
        from qrelay.qpu.translation import translate

        def program(calibration: str | None) -> TranslationResult:
            return translate(
                circuit,
                task.shots,
                self.info.name,
                iq_readout=task.meas_level == 1,
                calibration_id=calibration,
            )

        # Checked and translated now; translated again before submitting only if the
        # device's calibration turns out to be another one.
        calibration = self._device_calibration
        translated = program(calibration)
        sets = patch_values(circuit, task)
        if ctx.check_cancelled():
            return []
        job_ids = self._resume(ctx, len(sets))
        if job_ids is None:
            submitted, translated = self._submit(
                task, ctx, sets, program, calibration=calibration, translated=translated
            )
            if submitted is None:
                return []
            job_ids = submitted
            ctx.execution_id = _ID_SEPARATOR.join(job_ids)
            ctx.record_execution(ctx.execution_id)  # the worker reports it as running
        else:
            # submitted by an earlier attempt, under the calibration the device had then
            ctx.calibration_id = self._device_calibration or ctx.calibration_id
            ctx.report_status(CircuitStatus.RUNNING, None)
        results = self._wait(job_ids, ctx)
        if results is None:
            return []
        return [translated.to_readout(r) for r in results]

    def _submit(
        self,
        task: WorkerTask,
        ctx: TaskContext,
        sets: list[dict[str, list[float]]],
        program: Callable[[str | None], TranslationResult],
        *,
        calibration: str | None,
        translated: TranslationResult,
    ) -> tuple[list[str] | None, TranslationResult]:
        """Submit ``translated`` under this attempt's idempotency key: the job ids (None
        when the task ended meanwhile) and the translation that was submitted.

        ``program`` translates the circuit again for a calibration; it is used when the
        device's calibration turns out to be another one, before submitting or when the
        controller refuses the program as stale.
        """
        from qrelay.qpu import api

        # Record which attempt's key the submission uses before making it: a worker
        # that crashes in between is followed by one that submits under the same key.
        attempt = _submitting_attempt(ctx.execution_id)
        if attempt is None:
            attempt = ctx.task.attempt
            ctx.execution_id = f"{_SUBMITTING}{attempt}"
            ctx.record_execution(ctx.execution_id)
        key = idempotency_key(task, attempt)
        options = _submit_options(task)
        if self._calibration(ctx) != calibration:
            calibration = self._device_calibration
            translated = program(calibration)

        def submit(translated: TranslationResult) -> list[str] | None:
            return self._retrying(
                lambda: api.submit_with_parameter_batch(
                    translated,
                    sets,
                    self.info.name,
                    client=self.client,
                    execution_options=options,
                    idempotency_key=key,
                ),
                ctx,
                "submit",
            )

        try:
            submitted = submit(translated)
        except SubmissionError as exc:
            # Refused as stale if the device recalibrated since it was last asked:
            # learn its calibration and submit once more under it.
            if exc.code != _STALE or self._calibration(ctx, refresh=True) == calibration:
                raise
            translated = program(self._device_calibration)
            submitted = submit(translated)
        return submitted, translated

    def _calibration(self, ctx: TaskContext, *, refresh: bool = False) -> str | None:
        """The device's calibration id, asked of the controller once (and again with
        ``refresh``); a snapshot the service lacks is reported to it. The run is recorded
        under it, and a job pinned to another is refused here unless it runs anyway."""
        if refresh or self._device_calibration is None:
            from qrelay.qpu import api

            live = self._retrying(
                lambda: api.get_device_info(self.info.name, client=self.client),
                ctx,
                "device info",
            )
            if live is None:
                return self._device_calibration
            if live.calibration_id != self.info.calibration_id:
                ctx.report_calibration(live)
            self._device_calibration = live.calibration_id
        ctx.calibration_id = self._device_calibration
        check_pin(ctx.task.options, self.info.name, self._device_calibration)
        return self._device_calibration

    def _resume(self, ctx: TaskContext, expected: int) -> list[str] | None:
        """The job ids of an execution an earlier attempt started, if usable."""
        if not ctx.execution_id or _submitting_attempt(ctx.execution_id) is not None:
            return None
        job_ids = ctx.execution_id.split(_ID_SEPARATOR)
        if len(job_ids) != expected:
            log.warning(
                "execution %s has %d job(s) for %d patch set(s); submitting again",
                ctx.execution_id,
                len(job_ids),
                expected,
            )
            ctx.execution_id = None
            return None
        from qrelay.qpu import api

        try:
            self._retrying(
                lambda: api.get_job_status(job_ids[0], self.info.name, client=self.client),
                ctx,
                "resume",
            )
        except QpuNotFoundError as exc:
            # the controller no longer knows it (restarted): submit again, under a new key
            log.warning("execution %s cannot be resumed (%s); submitting", ctx.execution_id, exc)
            ctx.execution_id = None
            return None
        log.info("resuming execution %s", ctx.execution_id)
        return job_ids

    def _wait(self, job_ids: Sequence[str], ctx: TaskContext) -> list[Any] | None:
        """Wait for every job in bounded chunks; cancel them when the task is cancelled."""
        from qrelay.qpu import api
        from qrelay.qpu.options import ExecutionOptions

        options = ExecutionOptions.builder().timeout(AWAIT_CHUNK_SECONDS).build()
        while True:
            if ctx.check_cancelled():
                self._cancel(job_ids)
                return None
            try:
                return self._retrying(
                    lambda: api.retrieve_results_batch(
                        list(job_ids), self.info.name, client=self.client, execution_options=options
                    ),
                    ctx,
                    "await results",
                )
            except QpuTimeoutError:
                pass  # still queued or running: check for cancel, then wait again

    def _cancel(self, job_ids: Sequence[str]) -> None:
        """Cancel the task's jobs on the controller (queued or running alike)."""
        from qrelay.qpu import api

        try:
            outcomes = api.cancel_jobs(list(job_ids), self.info.name, client=self.client)
        except QpuApiError as exc:
            log.warning("cancelling QPU jobs %s failed: %s", ", ".join(job_ids), exc)
            return
        log.info("cancelled QPU jobs: %s", outcomes)

    # ------------------------------------------------------------------ simulate
    def engine(self) -> SimulationEngine:
        if self._engine is None:
            self._engine = registry.load(registry.ENGINES, "aer")()
        return self._engine

    def simulate(self, task: WorkerTask, circuit: Circuit) -> list[Readout]:
        """A ``simulate`` job on this device: Aer here, with the device's noise if asked."""
        from qrelay.payload.calibration import calibration_hash
        from qrelay.qpu.native import reduce_to_touched

        run = RunOptions.of(task)
        if run.meas_level != 2:
            raise PayloadError(
                f"meas_level {run.meas_level}: a simulation gives integer readout only; "
                "submit to the device for IQ points"
            )
        check_pin(task.options, self.info.name, self.info.calibration_id)
        reduced = reduce_to_touched(circuit, self.info)
        noise = None
        if task.sim_method == SimMethod.NOISE_SIM:
            sliced = reduced.target
            noise = sliced.model_copy(
                update={"calibration_id": "slice-" + calibration_hash(sliced)}
            )
        return self.engine().run(
            reduced.circuit, shots=run.shots, bindings=task.bindings, noise=noise, seed=task.seed()
        )
