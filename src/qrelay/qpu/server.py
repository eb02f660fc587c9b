"""The QPU controller on gRPC: the emulator (:mod:`qrelay.qpu.emulator`) on the wire.

``start_server(host, port, devices)`` starts it in this process (tests, the embedded
default); ``qrelay qpu serve`` runs it as a process. Errors map to gRPC status codes once,
here: a refused program or patch value is ``INVALID_ARGUMENT`` with a message naming
the instruction, qubit pair or region; an unknown device or job ``NOT_FOUND``; a reused
idempotency key with another request ``ALREADY_EXISTS``; a stale calibration
``FAILED_PRECONDITION``; a result larger than the message bound ``RESOURCE_EXHAUSTED``.

Every call passes the token check of :mod:`qrelay.qpu.security` first (when the
controller has tokens), and idempotency keys are scoped per caller.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from pydantic import ValidationError as PydanticValidationError

from qrelay.errors import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    QRelayError,
    ValidationError,
)
from qrelay.payload import Circuit, validate_json
from qrelay.plugins import SimulationEngine
from qrelay.qpu._proto import controller_pb2 as pb
from qrelay.qpu._proto import controller_pb2_grpc as pb_grpc
from qrelay.qpu.calls import CallThreads
from qrelay.qpu.emulator import Controller
from qrelay.qpu.recalibration import DEFAULT_DRIFT, Recalibrator
from qrelay.qpu.records import CancelOutcome, JobResult, JobState, StatusView
from qrelay.qpu.security import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_MESSAGE_SETTING,
    ServerSecurity,
    caller_id,
    channel_options,
    presented_token,
)
from qrelay.qpu.translation import IQ_SUFFIX, Executable
from qrelay.runtime import tracing

log = logging.getLogger(__name__)

VERSION: Final = "qrelay.qpu.v1"
#: The default message bound both ways (see :mod:`qrelay.qpu.security`).
MAX_MESSAGE_BYTES: Final = DEFAULT_MAX_MESSAGE_BYTES
GRPC_OPTIONS: Final = channel_options(MAX_MESSAGE_BYTES)
#: Room an answer keeps beside its results for the statuses and framing (at most a
#: sixteenth of the bound).
_ANSWER_HEADROOM: Final = 64 * 1024

_STATE = {
    JobState.QUEUED: pb.JOB_STATE_QUEUED,
    JobState.RUNNING: pb.JOB_STATE_RUNNING,
    JobState.COMPLETED: pb.JOB_STATE_COMPLETED,
    JobState.FAILED: pb.JOB_STATE_FAILED,
    JobState.CANCELLED: pb.JOB_STATE_CANCELLED,
}
_OUTCOME = {
    CancelOutcome.CANCELLED: pb.CANCEL_OUTCOME_CANCELLED,
    CancelOutcome.ALREADY_RUNNING: pb.CANCEL_OUTCOME_ALREADY_RUNNING,
    CancelOutcome.ALREADY_FINISHED: pb.CANCEL_OUTCOME_ALREADY_FINISHED,
    CancelOutcome.NOT_FOUND: pb.CANCEL_OUTCOME_NOT_FOUND,
}


def _status(view: StatusView) -> Any:
    return pb.JobStatus(
        job_id=view.job_id,
        state=_STATE[view.state],
        quantum_processor_id=view.device,
        estimated_delay_seconds=view.estimated_delay_seconds,
        queue_position=view.queue_position,
        message=view.message,
        execution_count=view.execution_count,
    )


def _result(job_id: str, result: JobResult) -> Any:
    return pb.JobResult(
        job_id=job_id,
        shots=result.bits.shape[1],
        integer_buffers=result.names,
        integer_data=result.bits.tobytes(),
        complex_buffers=[] if result.iq is None else [n + IQ_SUFFIX for n in result.names],
        complex_data=b"" if result.iq is None else result.iq.astype("<c8", copy=False).tobytes(),
        memory={k: pb.PatchRegion(values=v) for k, v in result.memory.items()},
        execution_duration_microseconds=result.execution_duration_us,
    )


def _executable(message: Any) -> Executable:
    try:
        circuit = validate_json(Circuit, message.circuit_json)
    except PydanticValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ValidationError(f"executable.circuit_json: {reasons}") from exc
    except ValueError as exc:
        raise ValidationError(f"executable.circuit_json: not a payload circuit ({exc})") from exc
    return Executable(
        quantum_processor_id=message.quantum_processor_id,
        circuit=circuit,
        num_shots=message.num_shots,
        ro_sources={s.buffer: (s.register, s.bit) for s in message.ro_sources},
        iq_readout=message.iq_readout,
        calibration_id=message.calibration_id or None,
    )


def _code(exc: QRelayError) -> grpc.StatusCode:
    if isinstance(exc, ValidationError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(exc, NotFoundError):
        return grpc.StatusCode.NOT_FOUND
    if isinstance(exc, ConflictError):
        if exc.code == "idempotency_mismatch":
            return grpc.StatusCode.ALREADY_EXISTS
        return grpc.StatusCode.FAILED_PRECONDITION
    return grpc.StatusCode.UNAVAILABLE


@contextmanager
def _errors(context: grpc.ServicerContext) -> Iterator[None]:
    try:
        yield
    except QRelayError as exc:
        context.abort(_code(exc), str(exc))


def scoped_key(key: str, context: grpc.ServicerContext) -> str:
    """The idempotency key as the controller keeps it: scoped to the calling token."""
    caller = caller_id(presented_token(context.invocation_metadata()))
    return f"{caller}/{key}" if caller and key else key


class ControllerServicer(pb_grpc.ControllerServicer):
    """Maps each RPC onto the emulated :class:`~qrelay.qpu.emulator.Controller`.

    ``max_message_bytes`` bounds one answer: the results of many jobs are spread over
    several ``AwaitResults`` answers (the jobs left out stay pending for the client, which
    asks again), and one job's result that cannot fit is refused naming the bound.
    """

    def __init__(
        self, controller: Controller, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ) -> None:
        self.controller = controller
        self.max_message_bytes = max_message_bytes

    def Execute(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _errors(context):
            if not request.HasField("executable"):
                raise ValidationError("executable: missing")
            key = hashlib.sha256(request.executable.SerializeToString(deterministic=True))
            executable_key = key.hexdigest()
            prepared = self.controller.prepare(
                executable_key, lambda: _executable(request.executable)
            )
            patch_sets = [
                {name: list(region.values) for name, region in p.regions.items()}
                for p in request.patch_values
            ]
            seed = request.seed if request.HasField("seed") else None
            digest = hashlib.sha256(executable_key.encode())
            for p in request.patch_values:
                digest.update(p.SerializeToString(deterministic=True))
            digest.update(b"" if seed is None else seed.to_bytes(4, "little"))
            job_ids, replayed = self.controller.execute(
                prepared,
                patch_sets,
                idempotency_key=scoped_key(request.idempotency_key, context),
                executable_key=executable_key,
                bypass_settings_protection=request.bypass_settings_protection,
                fingerprint=digest.hexdigest(),
                seed=seed,
            )
            return pb.ExecuteResponse(job_ids=job_ids, replayed=replayed)
        raise AssertionError("unreachable")  # pragma: no cover

    def GetStatus(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _errors(context):
            views = self.controller.status(list(request.job_ids))
            return pb.GetStatusResponse(statuses=[_status(v) for v in views])
        raise AssertionError("unreachable")  # pragma: no cover

    def AwaitResults(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _errors(context):
            remaining = context.time_remaining()
            timeout = request.timeout_seconds
            if remaining is not None:  # answer before the client's deadline passes
                timeout = min(timeout, max(0.0, remaining - 0.05))
            views, results = self.controller.await_results(list(request.job_ids), timeout)
            return pb.AwaitResultsResponse(
                statuses=[_status(v) for v in views], results=self._fitting(results, context)
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _fitting(
        self, results: list[tuple[str, JobResult]], context: grpc.ServicerContext
    ) -> list[Any]:
        """The results that fit one answer, in order; the first always (or an error)."""
        budget = self.max_message_bytes - min(_ANSWER_HEADROOM, self.max_message_bytes // 16)
        fitting: list[Any] = []
        for job_id, result in results:
            message = _result(job_id, result)
            size = message.ByteSize()
            if size > budget and not fitting:
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"the result of job {job_id} is {size} bytes, over the controller's "
                    f"message limit of {self.max_message_bytes} bytes "
                    f"(raise {MAX_MESSAGE_SETTING} on the controller and its clients)",
                )
            if size > budget:
                break
            budget -= size
            fitting.append(message)
        return fitting

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _errors(context):
            outcomes = self.controller.cancel(list(request.job_ids))
            return pb.CancelResponse(
                results=[
                    pb.CancelResult(job_id=job_id, outcome=_OUTCOME[outcome], message=message)
                    for job_id, outcome, message in outcomes
                ]
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _summary(self, device: dict[str, Any]) -> Any:
        return pb.DeviceSummary(
            quantum_processor_id=device["quantum_processor_id"],
            calibration_id=device["calibration_id"],
            queue_depth=device["queue_depth"],
            estimated_delay_seconds=device["estimated_delay_seconds"],
            programs_executed=device["programs_executed"],
        )

    def GetControllerInfo(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _errors(context):
            info = self.controller.info()
            return pb.ControllerInfo(
                controller_id=info["controller_id"],
                version=VERSION,
                devices=[self._summary(d) for d in info["devices"]],
                programs_executed=info["programs_executed"],
                jobs_completed=info["jobs_completed"],
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def GetDeviceInfo(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with _errors(context):
            device = self.controller.device(request.quantum_processor_id)
            info = self.controller.info()
            summary = next(
                d for d in info["devices"] if d["quantum_processor_id"] == device.target.name
            )
            target = device.target.model_copy(update={"queue_depth": summary["queue_depth"]})
            return pb.DeviceInfo(
                summary=self._summary(summary),
                target_info_json=target.model_dump_json().encode(),
            )
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class ServerHandle:
    """A running controller: where it listens, the emulator behind it, and how to stop it."""

    address: str
    port: int
    controller: Controller
    server: grpc.Server
    security: ServerSecurity = field(default_factory=ServerSecurity)
    calls: CallThreads | None = None
    recalibration: Recalibrator | None = None

    @property
    def token(self) -> str | None:
        """The first token the controller accepts (for clients in this process)."""
        return self.security.tokens[0] if self.security.tokens else None

    def stop(self, grace: float | None = 1.0) -> None:
        """Stop serving (in-flight calls get ``grace`` seconds) and stop the device threads.

        The wait is bounded: a server whose serving thread died (a call that came in while
        the interpreter was exiting) never reports that it stopped.
        """
        self.server.stop(grace).wait(timeout=(grace or 0.0) + 2.0)
        if self.calls is not None:
            self.calls.shutdown(wait=False)
        if self.recalibration is not None:
            self.recalibration.stop()
        self.controller.stop()

    def wait(self) -> None:
        """Block until the server stops."""
        self.server.wait_for_termination()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _grpc_server(
    controller: Controller, security: ServerSecurity, calls: CallThreads
) -> grpc.Server:
    """The gRPC server answering for ``controller`` on the ``calls`` threads (not bound yet)."""
    # No SO_REUSEPORT: a second controller on a taken port must fail, not share it.
    options = [*channel_options(security.max_message_bytes), ("grpc.so_reuseport", 0)]
    server = grpc.server(calls, options=options, interceptors=security.interceptors())
    servicer = ControllerServicer(controller, security.max_message_bytes)
    pb_grpc.add_ControllerServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    return server


def _bind(server: grpc.Server, security: ServerSecurity, host: str, port: int) -> int:
    """Bind ``server`` to ``host:port`` (TLS when ``security`` serves it); the bound port.

    A port that cannot be bound stops the server and raises ``ConfigurationError``.
    """
    try:
        if security.tls:
            bound = int(server.add_secure_port(f"{host}:{port}", security.credentials()))
        else:
            bound = int(server.add_insecure_port(f"{host}:{port}"))
    except RuntimeError as exc:
        bound = 0
        cause: Exception | None = exc
    else:
        cause = None
    if bound == 0:
        server.stop(None)
        raise ConfigurationError(f"the QPU controller cannot listen on {host}:{port}") from cause
    return bound


def _announce(controller: Controller, address: str, security: ServerSecurity) -> None:
    """Log what a started controller serves, where, and how calls are guarded."""
    log.info(
        "QPU controller serving %s on %s (%s, %s)",
        ", ".join(controller.device_names),
        address,
        "TLS" if security.tls else "plaintext",
        f"{len(security.tokens)} token(s)" if security.tokens else "no token",
    )


def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    devices: Iterable[str] | None = None,
    *,
    engine: SimulationEngine | None = None,
    seed: int | None = None,
    max_workers: int = 16,
    paused: bool = False,
    engine_options: Mapping[str, Any] | None = None,
    gate_noise: bool = True,
    warm: bool = False,
    security: ServerSecurity | None = None,
    drift: float = DEFAULT_DRIFT,
    recalibrate_seconds: float | None = None,
) -> ServerHandle:
    """Start a controller serving ``devices`` (default: the whole fleet) on ``host:port``.

    ``port=0`` picks a free port; the handle's ``address`` says which. The server runs on
    its own threads until ``handle.stop()``. ``paused`` starts with the queues held
    (``handle.controller.resume()`` releases them), as a device under maintenance.
    ``gate_noise=False`` runs the gates ideally (readout error stays, from the IQ model).
    ``warm`` starts the engine process right away instead of at the first program.
    ``security`` (default: no token, no TLS, the default message bound) says which tokens
    are accepted, whether TLS is served and how large a message may be. The devices
    drift (spread ``drift``, seeded by ``seed``) and recalibrate every
    ``recalibrate_seconds`` (``None``: only when ``handle.recalibration.step()`` is called).
    """
    security = security or ServerSecurity()
    tracing.setup("qrelay-qpu", instrument=("grpc-server",))  # before the server is made
    controller = Controller(
        devices, engine=engine, seed=seed, engine_options=engine_options, gate_noise=gate_noise
    )
    calls = CallThreads(max_workers)
    server = _grpc_server(controller, security, calls)
    bound = _bind(server, security, host, port)
    recalibration = Recalibrator(
        controller, drift=drift, every_seconds=recalibrate_seconds, seed=seed or 0
    )
    if paused:
        controller.pause()
    controller.start()
    recalibration.start()
    if warm:
        controller.warm_up()
    server.start()
    address = f"{host}:{bound}" if ":" not in host else f"[{host}]:{bound}"
    _announce(controller, address, security)
    return ServerHandle(
        address=address,
        port=bound,
        controller=controller,
        server=server,
        security=security,
        calls=calls,
        recalibration=recalibration,
    )
