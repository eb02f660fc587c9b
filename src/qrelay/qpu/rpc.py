"""The QPU API's call machinery (internal; see :mod:`qrelay.qpu.api`).

Each public function and its ``_async`` twin build the same :class:`Call` here and differ
only in how they make it (:func:`invoke` or :func:`invoke_async`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from qrelay.errors import (
    QpuTimeoutError,
)
from qrelay.qpu.client import (
    ExecutionResults,
    JobStatus,
    QpuClient,
    client_or_default,
    grpc_module,
    proto,
)
from qrelay.qpu.messages import (
    PatchValues,
    Program,
    checked_options,
    execute_request,
    finish_await,
    first_status,
    job_ids_of,
    outcomes,
    processor_of,
    rpc_error,
)
from qrelay.qpu.options import (
    ExecutionOptions,
)

#: The longest one AwaitResults call may block; longer waits are several calls.
_AWAIT_CHUNK_SECONDS: Final = 20.0
#: Headroom of a call's gRPC deadline over the wait it asks the server for.
_DEADLINE_SLACK: Final = 5.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class Call(Generic[_T]):
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
        if self.late is not None and exc.code() == grpc_module().StatusCode.DEADLINE_EXCEEDED:
            return self.late()
        raise rpc_error(exc, self.client, self.address, self.method) from exc


def invoke(call: Call[_T]) -> _T:
    """Make ``call`` with the client's blocking stub."""
    try:
        response = getattr(call.client.stub(call.address), call.method)(
            call.request, timeout=call.timeout, metadata=call.client.metadata()
        )
    except grpc_module().RpcError as exc:
        return call.failed(exc)
    return call.read(response)


async def invoke_async(call: Call[_T]) -> _T:
    """Make ``call`` with the client's ``grpc.aio`` stub of the running event loop."""
    try:
        response = await getattr(call.client.aio_stub(call.address), call.method)(
            call.request, timeout=call.timeout, metadata=call.client.metadata()
        )
    except grpc_module().RpcError as exc:
        return call.failed(exc)
    return call.read(response)


def execute_call(
    program: Program,
    patch_values: Sequence[PatchValues],
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
    *,
    key: str | None,
) -> Call[list[str]]:
    """The Execute call of :func:`submit_with_parameter_batch`; ``key`` is its idempotency key."""
    options = checked_options(execution_options)
    qpu, request = execute_request(program, patch_values, quantum_processor_id, options, key)
    c = client_or_default(client)
    address = c.resolve(qpu, options)
    return Call(c, address, "Execute", request, options.call_timeout(), job_ids_of)


def cancel_call(
    job_ids: Sequence[str],
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
) -> Call[dict[str, str]]:
    """The Cancel call of :func:`cancel_jobs` (``job_ids`` not empty); it answers outcomes."""
    pb, _ = proto()
    options = checked_options(execution_options)
    c = client_or_default(client)
    address = c.resolve(processor_of(job_ids[0], quantum_processor_id), options)
    request = pb.CancelRequest(job_ids=list(job_ids))
    return Call(c, address, "Cancel", request, options.call_timeout(), outcomes)


def status_call(
    job_id: str,
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
) -> Call[JobStatus]:
    """The GetStatus call of :func:`get_job_status`; it answers the job's status."""
    pb, _ = proto()
    options = checked_options(execution_options)
    c = client_or_default(client)
    address = c.resolve(processor_of(job_id, quantum_processor_id), options)
    request = pb.GetStatusRequest(job_ids=[job_id])
    return Call(c, address, "GetStatus", request, options.call_timeout(), first_status)


def await_calls(
    job_ids: Sequence[str],
    quantum_processor_id: str | None,
    client: QpuClient | None,
    execution_options: ExecutionOptions | None,
    done: dict[str, ExecutionResults],
) -> Iterator[Call[None]]:
    """The AwaitResults calls of one wait for ``job_ids`` (not empty); answers go to ``done``.

    The caller makes each call before it asks for the next. No call blocks longer than
    ``_AWAIT_CHUNK_SECONDS``; together they stay within the options' timeout
    (``QpuTimeoutError`` when it runs out), and they end when every job has finished.
    """
    pb, _ = proto()
    options = checked_options(execution_options)
    c = client_or_default(client)
    address = c.resolve(processor_of(job_ids[0], quantum_processor_id), options)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    pending = list(job_ids)

    def answered(response: Any) -> None:
        nonlocal pending
        pending = finish_await(response, pending, done)

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
        yield Call(
            c, address, "AwaitResults", request, wait + _DEADLINE_SLACK, answered, late=lambda: None
        )
