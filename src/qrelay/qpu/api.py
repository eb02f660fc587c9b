"""The QPU API (public): submit executables to a QPU controller and collect their results.

In the spirit of the QCS SDK's ``qcs_sdk.qpu.api``::

    from qrelay.qpu import api, translation

    translated = translation.translate(circuit, num_shots=1000, quantum_processor_id="square_qpu")
    client = api.QpuClient(addresses={"square_qpu": "127.0.0.1:50051"})
    job_id = api.submit(translated.program, {"theta": [0.5]}, client=client)
    results = api.retrieve_results(job_id, client=client)
    results.buffers["c[0]"].data          # one integer per shot

Every call has an ``_async`` twin (``grpc.aio``). ``submit`` takes an ``idempotency_key``:
a caller that derives it from its own task (as the worker does) and submits again after
a crash gets the original job id back, and the program does not run twice.

Where calls go is decided by :class:`ExecutionOptions` ``connection_strategy`` resolved
through a :class:`QpuClient` (see :mod:`qrelay.qpu.options`); with no client, one built
from ``QRELAY_QPU_ADDRESS`` is used. The client sends its token with every call and
speaks TLS when it has a root certificate (``QRELAY_QPU_TOKEN``, ``QRELAY_QPU_TLS_CA``;
see :mod:`qrelay.qpu.security`).

Errors are :class:`QpuApiError` subclasses told apart by type (and ``.code``): a refused
program is a :class:`SubmissionError`, a job that failed or was cancelled a
:class:`QpuJobFailedError` or :class:`QpuJobCancelledError`, a wait past its bound a
:class:`QpuTimeoutError`, an unreachable controller a :class:`QpuUnavailableError`, an
unknown job a :class:`QpuNotFoundError`, a refused token a
:class:`QpuAuthenticationError`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from qrelay.errors import (
    BuildOptionsError,
    QpuApiError,
    QpuAuthenticationError,
    QpuJobCancelledError,
    QpuJobFailedError,
    QpuNotFoundError,
    QpuTimeoutError,
    QpuUnavailableError,
    SubmissionError,
)
from qrelay.payload import TargetInfo
from qrelay.qpu.options import (
    ADDRESS_ENV,
    ApiExecutionOptions,
    ConnectionStrategy,
    EndpointTable,
    ExecutionOptions,
    ExecutionOptionsBuilder,
    QpuApiDuration,
)
from qrelay.qpu.translation import EXECUTABLE_FORMAT, TranslationResult

if TYPE_CHECKING:
    from qrelay.qpu.security import ClientSecurity

__all__ = [
    "ADDRESS_ENV",
    "ApiExecutionOptions",
    "BuildOptionsError",
    "ConnectionStrategy",
    "ExecutionOptions",
    "ExecutionOptionsBuilder",
    "ExecutionResult",
    "ExecutionResults",
    "JobStatus",
    "QpuApiDuration",
    "QpuApiError",
    "QpuAuthenticationError",
    "QpuClient",
    "QpuJobCancelledError",
    "QpuJobFailedError",
    "QpuNotFoundError",
    "QpuTimeoutError",
    "QpuUnavailableError",
    "SubmissionError",
    "cancel_job",
    "cancel_job_async",
    "cancel_jobs",
    "cancel_jobs_async",
    "get_controller_info",
    "get_device_info",
    "get_job_status",
    "get_job_status_async",
    "retrieve_results",
    "retrieve_results_async",
    "retrieve_results_batch",
    "retrieve_results_batch_async",
    "submit",
    "submit_async",
    "submit_with_parameter_batch",
    "submit_with_parameter_batch_async",
]

log = logging.getLogger(__name__)

#: The longest one AwaitResults call may block; longer waits are several calls.
_AWAIT_CHUNK_SECONDS: Final = 20.0
#: Headroom of a call's gRPC deadline over the wait it asks the server for.
_DEADLINE_SLACK: Final = 5.0

_T = TypeVar("_T")

Program = str | TranslationResult
PatchValues = Mapping[str, Sequence[float] | float]


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class ExecutionResult:
    """One readout buffer: ``data`` of ``shape``, ``dtype`` ``"integer"`` or ``"complex"``.

    ``data`` is a read-only view of the received bytes (copy it to modify it).
    """

    shape: list[int]
    data: npt.NDArray[Any]
    dtype: Literal["integer", "complex"]

    def to_list(self) -> list[Any]:
        return list(self.data.tolist())


@dataclass(frozen=True)
class ExecutionResults:
    """Every buffer of one job, its final memory and the device time it took."""

    buffers: dict[str, ExecutionResult]
    memory: dict[str, list[float]] = field(default_factory=dict)
    execution_duration_microseconds: int | None = None


@dataclass(frozen=True)
class JobStatus:
    """Where a job is: ``state`` (queued, running, completed, failed, cancelled)."""

    job_id: str
    state: str
    quantum_processor_id: str
    estimated_delay: QpuApiDuration
    queue_position: int
    message: str
    execution_count: int

    @property
    def terminal(self) -> bool:
        return self.state in ("completed", "failed", "cancelled")


# ---------------------------------------------------------------------- the client
def _grpc() -> Any:
    try:
        import grpc
    except ImportError as exc:  # pragma: no cover - grpcio is in the server extra
        from qrelay.errors import MissingDependencyError

        raise MissingDependencyError("grpcio", "server") from exc
    return grpc


def _pb() -> tuple[Any, Any]:
    from qrelay.qpu._proto import controller_pb2, controller_pb2_grpc

    return controller_pb2, controller_pb2_grpc


class QpuClient:
    """Knows where the controllers are and keeps one channel per address.

    ``addresses`` maps a processor id to its own controller (``direct_access``);
    ``gateway`` is a controller that routes for every processor (``gateway``, the
    default); ``endpoints`` names endpoints for ``endpoint_id``. Anything unset falls
    back to ``QRELAY_QPU_ADDRESS``. Channels are opened on first use; ``close()`` (or
    ``with``) closes them.

    ``token`` is sent with every call; ``root_certificates`` (PEM) turns TLS on;
    ``max_message_bytes`` bounds one message each way. Each one left unset comes from
    the settings (``QRELAY_QPU_TOKEN`` or ``QRELAY_QPU_TOKEN_FILE``, ``QRELAY_QPU_TLS_CA``,
    ``QRELAY_QPU_MAX_MESSAGE_BYTES``, or the ``[qpu]`` table of the config file).
    """

    def __init__(
        self,
        addresses: Mapping[str, str] | None = None,
        gateway: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        *,
        token: str | None = None,
        root_certificates: bytes | None = None,
        max_message_bytes: int | None = None,
        server_name: str | None = None,
    ) -> None:
        self.table = EndpointTable(
            addresses=dict(addresses or {}), gateway=gateway, endpoints=dict(endpoints or {})
        )
        self._given: dict[str, Any] = {
            "token": token,
            "root_certificates": root_certificates,
            "max_message_bytes": max_message_bytes,
            "server_name": server_name,
        }
        self._security: ClientSecurity | None = None
        self._lock = threading.Lock()
        self._stubs: dict[str, tuple[Any, Any]] = {}
        self._aio: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, tuple[Any, Any]]
        ] = weakref.WeakKeyDictionary()

    def resolve(
        self, quantum_processor_id: str | None, options: ExecutionOptions | None = None
    ) -> str:
        """The ``host:port`` a call for this processor goes to under ``options``."""
        strategy = (options or ExecutionOptions()).connection_strategy
        return self.table.resolve(strategy, quantum_processor_id)

    @property
    def security(self) -> ClientSecurity:
        """The token, TLS root and message bound this client uses (settings fill gaps)."""
        with self._lock:
            return self._resolved()

    def _resolved(self) -> ClientSecurity:
        if self._security is None:
            _grpc()
            from qrelay.qpu.security import client_security

            configured = client_security()
            given = {k: v for k, v in self._given.items() if v is not None}
            self._security = dataclasses.replace(configured, **given)
        return self._security

    def metadata(self) -> tuple[tuple[str, str], ...] | None:
        """The call metadata (the token) sent with every call."""
        return self.security.metadata()

    def stub(self, address: str) -> Any:
        with self._lock:
            found = self._stubs.get(address)
            if found is None:
                grpc = _grpc()
                security = self._resolved()
                if security.tls:
                    channel = grpc.secure_channel(
                        address, security.credentials(), options=security.options()
                    )
                else:
                    channel = grpc.insecure_channel(address, options=security.options())
                found = (channel, _pb()[1].ControllerStub(channel))
                self._stubs[address] = found
            return found[1]

    def aio_stub(self, address: str) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            per_loop = self._aio.setdefault(loop, {})
            found = per_loop.get(address)
            if found is None:
                grpc = _grpc()
                security = self._resolved()
                if security.tls:
                    channel = grpc.aio.secure_channel(
                        address, security.credentials(), options=security.options()
                    )
                else:
                    channel = grpc.aio.insecure_channel(address, options=security.options())
                found = (channel, _pb()[1].ControllerStub(channel))
                per_loop[address] = found
            return found[1]

    def close(self) -> None:
        """Close the synchronous channels (async ones close with their event loop)."""
        with self._lock:
            stubs, self._stubs = self._stubs, {}
        for channel, _stub in stubs.values():
            channel.close()

    async def aclose(self) -> None:
        """Close the channels this event loop opened."""
        loop = asyncio.get_running_loop()
        with self._lock:
            per_loop = self._aio.pop(loop, {})
        for channel, _stub in per_loop.values():
            await channel.close()

    def __enter__(self) -> QpuClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_default_lock = threading.Lock()
_default_clients: dict[str | None, QpuClient] = {}


def _client(client: QpuClient | None) -> QpuClient:
    if client is not None:
        return client
    import os

    env = os.environ.get(ADDRESS_ENV) or None
    with _default_lock:
        found = _default_clients.get(env)
        if found is None:
            found = _default_clients[env] = QpuClient()
        return found


# ---------------------------------------------------------------------- requests
@functools.lru_cache(maxsize=64)
def _executable_message(program: str) -> tuple[str, bytes]:
    """The processor id and serialized ``Executable`` of a program (parsed once)."""
    try:
        data = json.loads(program)
    except ValueError as exc:
        raise SubmissionError(f"program: not an executable (not JSON: {exc})") from exc
    if not isinstance(data, dict) or data.get("format") != EXECUTABLE_FORMAT:
        raise SubmissionError(
            f"program: not a {EXECUTABLE_FORMAT} executable; make one with "
            "qrelay.qpu.translation.translate"
        )
    pb, _ = _pb()
    message = pb.Executable(
        quantum_processor_id=data["quantum_processor_id"],
        circuit_json=json.dumps(data["circuit"], separators=(",", ":")).encode(),
        num_shots=int(data["num_shots"]),
        ro_sources=[
            pb.ReadoutSource(buffer=name, register=src[0], bit=int(src[1]))
            for name, src in data["ro_sources"].items()
        ],
        iq_readout=bool(data.get("iq_readout", False)),
        calibration_id=data.get("calibration_id") or "",
    )
    return str(data["quantum_processor_id"]), message.SerializeToString()


def _program_text(program: Program) -> str:
    if isinstance(program, TranslationResult):
        return program.program
    if not isinstance(program, str):
        raise SubmissionError(
            f"program: expected the str of a TranslationResult, got {type(program).__name__}"
        )
    return program


def _patch_message(pb: Any, values: PatchValues, index: int) -> Any:
    if not isinstance(values, Mapping):
        raise SubmissionError(
            f"patch_values[{index}]: expected a mapping of region name to values, "
            f"got {type(values).__name__}"
        )
    regions = {}
    for name, raw in values.items():
        seq = [raw] if isinstance(raw, int | float) else raw
        try:
            regions[name] = pb.PatchRegion(values=[float(x) for x in seq])
        except (TypeError, ValueError) as exc:
            raise SubmissionError(
                f"patch_values[{index}]: region {name!r} is not a list of numbers"
            ) from exc
    return pb.PatchValues(regions=regions)


def _execute_request(
    program: Program,
    patch_values: Sequence[PatchValues],
    quantum_processor_id: str | None,
    options: ExecutionOptions,
    idempotency_key: str | None,
) -> tuple[str, Any]:
    pb, _ = _pb()
    qpu, serialized = _executable_message(_program_text(program))
    if quantum_processor_id is not None and quantum_processor_id != qpu:
        raise SubmissionError(
            f"quantum_processor_id {quantum_processor_id!r} differs from the program's "
            f"{qpu!r}; translate for the processor you submit to"
        )
    if isinstance(patch_values, Mapping):
        raise SubmissionError("patch_values: expected a list of mappings, one per set")
    if not patch_values:
        raise SubmissionError(
            "patch_values: give at least one set ({} for a program without parameters)"
        )
    executable = pb.Executable.FromString(serialized)
    api = options.api_options or ApiExecutionOptions()
    request = pb.ExecuteRequest(
        executable=executable,
        patch_values=[_patch_message(pb, v, i) for i, v in enumerate(patch_values)],
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        bypass_settings_protection=api.bypass_settings_protection,
        seed=api.seed,
    )
    return qpu, request


def _processor_of(job_id: str, quantum_processor_id: str | None) -> str | None:
    """Job ids are ``<processor>-<hex>``: the processor when none was named."""
    if quantum_processor_id is not None:
        return quantum_processor_id
    head, sep, _tail = job_id.rpartition("-")
    return head if sep else None


#: gRPC codes an Execute answers when the controller refused the request itself.
_REFUSED: Final = frozenset(
    {"INVALID_ARGUMENT", "ALREADY_EXISTS", "FAILED_PRECONDITION", "NOT_FOUND"}
)
#: The error class of each gRPC code the API tells apart (others: ``QpuApiError``).
_BY_CODE: Final[dict[str, type[QpuApiError]]] = {
    "UNAVAILABLE": QpuUnavailableError,
    "DEADLINE_EXCEEDED": QpuUnavailableError,
    "NOT_FOUND": QpuNotFoundError,
    "UNAUTHENTICATED": QpuAuthenticationError,
    "PERMISSION_DENIED": QpuAuthenticationError,
}


def _rpc_error(exc: Exception, client: QpuClient, address: str, call: str) -> QpuApiError:
    """The typed error of a failed call; ``.code`` is the gRPC status name."""
    grpc = _grpc()
    code = exc.code() if isinstance(exc, grpc.RpcError) else None
    details = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
    name = code.name if code is not None else "UNKNOWN"
    message = f"{call} on the QPU controller at {address}: {name}: {details}"
    if name == "RESOURCE_EXHAUSTED":
        from qrelay.qpu.security import MAX_MESSAGE_SETTING

        message += (
            f" (a message is bounded by {MAX_MESSAGE_SETTING}; this client's bound is "
            f"{client.security.max_message_bytes} bytes)"
        )
    if call == "Execute" and name in _REFUSED:
        return SubmissionError(message, code=name)
    return _BY_CODE.get(name, QpuApiError)(message, code=name)


def _status(message: Any) -> JobStatus:
    pb, _ = _pb()
    state = pb.JobState.Name(message.state).removeprefix("JOB_STATE_").lower()
    return JobStatus(
        job_id=message.job_id,
        state=state,
        quantum_processor_id=message.quantum_processor_id,
        estimated_delay=QpuApiDuration.from_seconds(message.estimated_delay_seconds),
        queue_position=message.queue_position,
        message=message.message,
        execution_count=message.execution_count,
    )


def _results(message: Any) -> ExecutionResults:
    shots = message.shots
    buffers: dict[str, ExecutionResult] = {}
    if message.integer_buffers:
        rows = np.frombuffer(message.integer_data, dtype=np.uint8).reshape(-1, shots)
        for name, row in zip(message.integer_buffers, rows, strict=True):
            buffers[name] = ExecutionResult(shape=[shots], data=row, dtype="integer")
    if message.complex_buffers:
        points = np.frombuffer(message.complex_data, dtype="<c8").reshape(-1, shots)
        for name, row in zip(message.complex_buffers, points, strict=True):
            buffers[name] = ExecutionResult(shape=[shots], data=row, dtype="complex")
    return ExecutionResults(
        buffers=buffers,
        memory={k: list(v.values) for k, v in message.memory.items()},
        execution_duration_microseconds=message.execution_duration_microseconds,
    )


def _outcome_name(pb: Any, value: int) -> str:
    return str(pb.CancelOutcome.Name(value)).removeprefix("CANCEL_OUTCOME_").lower()


def _finish_await(
    response: Any, job_ids: Sequence[str], done: dict[str, ExecutionResults]
) -> list[str]:
    """Record finished results; raise for failed or cancelled jobs; return those pending."""
    for result in response.results:
        done[result.job_id] = _results(result)
    pending = []
    for message in response.statuses:
        status = _status(message)
        if status.state == "failed":
            raise QpuJobFailedError(f"job {status.job_id} failed on the QPU: {status.message}")
        if status.state == "cancelled":
            raise QpuJobCancelledError(f"job {status.job_id} was cancelled: {status.message}")
        if status.job_id not in done:
            pending.append(status.job_id)
    return [j for j in job_ids if j in pending]


def _raise_unless_cancelled(job_id: str, outcome: str) -> None:
    """Raise, saying why, when a cancel did not cancel (``.code`` is the outcome)."""
    if outcome == "cancelled":
        return
    cls = QpuNotFoundError if outcome == "not_found" else QpuApiError
    raise cls(f"job {job_id} was not cancelled: {outcome.replace('_', ' ')}", code=outcome.upper())


def _options(execution_options: ExecutionOptions | None) -> ExecutionOptions:
    if execution_options is None:
        return ExecutionOptions()
    if not isinstance(execution_options, ExecutionOptions):
        raise BuildOptionsError(
            f"execution_options: expected ExecutionOptions, got {type(execution_options).__name__}"
        )
    return execution_options


# ---------------------------------------------------------------------- calls
@dataclass(frozen=True)
class _Call(Generic[_T]):
    """One call to a controller, built once for a public function and its async twin.

    The twins differ only in how they make the call (a blocking stub, or ``await`` on a
    ``grpc.aio`` one): where it goes, what it sends and how its answer is read are decided
    here, so both build the same request and read the answer the same way.
    """

    client: QpuClient
    address: str
    method: str
    request: Any
    timeout: float | None
    #: Turns the controller's answer into what the public function returns.
    read: Callable[[Any], _T]
    #: What a call that ran past its gRPC deadline gives instead of an error (unset: the
    #: error is raised).
    late: Callable[[], _T] | None = None

    def failed(self, exc: Any) -> _T:
        """What the call gives for the gRPC error ``exc``; raises it as a ``QpuApiError``.

        Only a missed deadline of a call with ``late`` set gives ``late()`` instead.
        """
        if self.late is not None and exc.code() == _grpc().StatusCode.DEADLINE_EXCEEDED:
            return self.late()
        raise _rpc_error(exc, self.client, self.address, self.method) from exc


def _invoke(call: _Call[_T]) -> _T:
    """Make ``call`` with the client's blocking stub."""
    try:
        response = getattr(call.client.stub(call.address), call.method)(
            call.request, timeout=call.timeout, metadata=call.client.metadata()
        )
    except _grpc().RpcError as exc:
        return call.failed(exc)
    return call.read(response)


async def _invoke_async(call: _Call[_T]) -> _T:
    """Make ``call`` with the client's ``grpc.aio`` stub of the running event loop."""
    try:
        response = await getattr(call.client.aio_stub(call.address), call.method)(
            call.request, timeout=call.timeout, metadata=call.client.metadata()
        )
    except _grpc().RpcError as exc:
        return call.failed(exc)
    return call.read(response)


def _job_ids(response: Any) -> list[str]:
    return list(response.job_ids)


def _outcomes(response: Any) -> dict[str, str]:
    pb, _ = _pb()
    return {r.job_id: _outcome_name(pb, r.outcome) for r in response.results}


def _first_status(response: Any) -> JobStatus:
    return _status(response.statuses[0])


def _controller_info(response: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    info: dict[str, Any] = MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for key in ("programs_executed", "jobs_completed"):
        info[key] = int(info.get(key, 0))
    for device in info.get("devices", []):
        device["programs_executed"] = int(device.get("programs_executed", 0))
    return info


def _device_info(response: Any) -> TargetInfo:
    return TargetInfo.model_validate_json(response.target_info_json)


def _execute_call(
    program: Program,
    patch_values: Sequence[PatchValues],
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
    *,
    key: str | None,
) -> _Call[list[str]]:
    """The Execute call of :func:`submit_with_parameter_batch`; ``key`` is its idempotency key."""
    options = _options(execution_options)
    qpu, request = _execute_request(program, patch_values, quantum_processor_id, options, key)
    c = _client(client)
    address = c.resolve(qpu, options)
    return _Call(c, address, "Execute", request, options.call_timeout(), _job_ids)


def _cancel_call(
    job_ids: Sequence[str],
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
) -> _Call[dict[str, str]]:
    """The Cancel call of :func:`cancel_jobs` (``job_ids`` not empty); it answers outcomes."""
    pb, _ = _pb()
    options = _options(execution_options)
    c = _client(client)
    address = c.resolve(_processor_of(job_ids[0], quantum_processor_id), options)
    request = pb.CancelRequest(job_ids=list(job_ids))
    return _Call(c, address, "Cancel", request, options.call_timeout(), _outcomes)


def _status_call(
    job_id: str,
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
) -> _Call[JobStatus]:
    """The GetStatus call of :func:`get_job_status`; it answers the job's status."""
    pb, _ = _pb()
    options = _options(execution_options)
    c = _client(client)
    address = c.resolve(_processor_of(job_id, quantum_processor_id), options)
    request = pb.GetStatusRequest(job_ids=[job_id])
    return _Call(c, address, "GetStatus", request, options.call_timeout(), _first_status)


def _await_calls(
    job_ids: Sequence[str],
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
    done: dict[str, ExecutionResults],
) -> Iterator[_Call[None]]:
    """The AwaitResults calls of one wait for ``job_ids`` (not empty); answers go to ``done``.

    The caller makes each call before it asks for the next. No call blocks longer than
    ``_AWAIT_CHUNK_SECONDS``; together they stay within the options' timeout
    (``QpuTimeoutError`` when it runs out), and they end when every job has finished.
    """
    pb, _ = _pb()
    options = _options(execution_options)
    c = _client(client)
    address = c.resolve(_processor_of(job_ids[0], quantum_processor_id), options)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    pending = list(job_ids)

    def answered(response: Any) -> None:
        nonlocal pending
        pending = _finish_await(response, pending, done)

    while pending:
        wait = _AWAIT_CHUNK_SECONDS
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                raise QpuTimeoutError(
                    f"{len(pending)} job(s) did not finish within {options.timeout} s "
                    f"(first: {pending[0]})"
                )
        request = pb.AwaitResultsRequest(job_ids=pending, timeout_seconds=wait)
        # A call past its deadline (DEADLINE_EXCEEDED) reads nothing and the loop asks again:
        # a busy controller answered late; the overall bound still holds.
        yield _Call(
            c, address, "AwaitResults", request, wait + _DEADLINE_SLACK, answered, late=lambda: None
        )


# ---------------------------------------------------------------------- sync calls
def submit_with_parameter_batch(
    program: Program,
    patch_values: Sequence[PatchValues],
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
    *,
    idempotency_key: str | None = None,
) -> list[str]:
    """Queue ``program`` once per patch-value set, atomically; return the job ids in order.

    Either every set is queued or none is (``SubmissionError`` names the bad set and
    region). Submitting again with the same ``idempotency_key`` returns the same ids.
    """
    call = _execute_call(
        program, patch_values, quantum_processor_id, client, execution_options, key=idempotency_key
    )
    return _invoke(call)


def submit(
    program: Program,
    patch_values: PatchValues,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
    *,
    idempotency_key: str | None = None,
) -> str:
    """Queue ``program`` with one patch-value set; return its job id."""
    (job_id,) = submit_with_parameter_batch(
        program,
        [patch_values],
        quantum_processor_id,
        client,
        execution_options,
        idempotency_key=idempotency_key,
    )
    return job_id


def cancel_jobs(
    job_ids: Sequence[str],
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> dict[str, str]:
    """Cancel jobs that have not started; return each job's outcome.

    Outcomes: ``cancelled``, ``already_running``, ``already_finished``, ``not_found``.
    """
    if not job_ids:
        return {}
    return _invoke(_cancel_call(job_ids, quantum_processor_id, client, execution_options))


def cancel_job(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> None:
    """Cancel one job; raise ``QpuApiError`` saying why when it could not be cancelled."""
    outcome = cancel_jobs([job_id], quantum_processor_id, client, execution_options)[job_id]
    _raise_unless_cancelled(job_id, outcome)


def get_job_status(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> JobStatus:
    """The job's state, queue position, estimated delay and execution count."""
    return _invoke(_status_call(job_id, quantum_processor_id, client, execution_options))


def retrieve_results_batch(
    job_ids: Sequence[str],
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> list[ExecutionResults]:
    """Wait for every job (bounded by the options' timeout) and return their results.

    Raises ``QpuJobFailedError`` or ``QpuJobCancelledError`` when a job failed or was
    cancelled, ``QpuTimeoutError`` when the wait ran out.
    """
    if not job_ids:
        return []
    done: dict[str, ExecutionResults] = {}
    for call in _await_calls(job_ids, quantum_processor_id, client, execution_options, done):
        _invoke(call)
    return [done[j] for j in job_ids]


def retrieve_results(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> ExecutionResults:
    """Wait for one job (bounded by the options' timeout) and return its results."""
    (results,) = retrieve_results_batch([job_id], quantum_processor_id, client, execution_options)
    return results


def get_controller_info(
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> dict[str, Any]:
    """The controller's id, version, devices (queue depth, delay) and execution counters."""
    pb, _ = _pb()
    options = _options(execution_options)
    c = _client(client)
    address = c.resolve(quantum_processor_id, options)
    request = pb.GetControllerInfoRequest()
    return _invoke(
        _Call(c, address, "GetControllerInfo", request, options.call_timeout(), _controller_info)
    )


def get_device_info(
    quantum_processor_id: str,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> TargetInfo:
    """The device as the controller describes it: a ``TargetInfo`` with live calibration."""
    pb, _ = _pb()
    options = _options(execution_options)
    c = _client(client)
    address = c.resolve(quantum_processor_id, options)
    request = pb.GetDeviceInfoRequest(quantum_processor_id=quantum_processor_id)
    return _invoke(
        _Call(c, address, "GetDeviceInfo", request, options.call_timeout(), _device_info)
    )


# ---------------------------------------------------------------------- async twins
async def submit_with_parameter_batch_async(
    program: Program,
    patch_values: Sequence[PatchValues],
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
    *,
    idempotency_key: str | None = None,
) -> list[str]:
    """Async twin of :func:`submit_with_parameter_batch`."""
    call = _execute_call(
        program, patch_values, quantum_processor_id, client, execution_options, key=idempotency_key
    )
    return await _invoke_async(call)


async def submit_async(
    program: Program,
    patch_values: PatchValues,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
    *,
    idempotency_key: str | None = None,
) -> str:
    """Async twin of :func:`submit`."""
    (job_id,) = await submit_with_parameter_batch_async(
        program,
        [patch_values],
        quantum_processor_id,
        client,
        execution_options,
        idempotency_key=idempotency_key,
    )
    return job_id


async def cancel_jobs_async(
    job_ids: Sequence[str],
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> dict[str, str]:
    """Async twin of :func:`cancel_jobs`."""
    if not job_ids:
        return {}
    return await _invoke_async(
        _cancel_call(job_ids, quantum_processor_id, client, execution_options)
    )


async def cancel_job_async(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> None:
    """Async twin of :func:`cancel_job`."""
    outcomes = await cancel_jobs_async([job_id], quantum_processor_id, client, execution_options)
    _raise_unless_cancelled(job_id, outcomes[job_id])


async def get_job_status_async(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> JobStatus:
    """Async twin of :func:`get_job_status`."""
    return await _invoke_async(
        _status_call(job_id, quantum_processor_id, client, execution_options)
    )


async def retrieve_results_batch_async(
    job_ids: Sequence[str],
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> list[ExecutionResults]:
    """Async twin of :func:`retrieve_results_batch`."""
    if not job_ids:
        return []
    done: dict[str, ExecutionResults] = {}
    for call in _await_calls(job_ids, quantum_processor_id, client, execution_options, done):
        await _invoke_async(call)
    return [done[j] for j in job_ids]


async def retrieve_results_async(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> ExecutionResults:
    """Async twin of :func:`retrieve_results`."""
    (results,) = await retrieve_results_batch_async(
        [job_id], quantum_processor_id, client, execution_options
    )
    return results
