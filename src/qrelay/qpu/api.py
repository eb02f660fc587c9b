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

Import everything from here. Behind it, :mod:`qrelay.qpu.client` holds the client and the
result types, :mod:`qrelay.qpu.messages` shapes requests and reads answers, and
:mod:`qrelay.qpu.rpc` builds and makes each call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from qrelay.qpu.client import (
    ExecutionResult,
    ExecutionResults,
    JobStatus,
    QpuClient,
    client_or_default,
    proto,
)
from qrelay.qpu.messages import (
    PatchValues,
    Program,
    checked_options,
    controller_info,
    device_info,
    raise_unless_cancelled,
)
from qrelay.qpu.options import (
    ADDRESS_ENV,
    ApiExecutionOptions,
    ConnectionStrategy,
    ExecutionOptions,
    ExecutionOptionsBuilder,
    QpuApiDuration,
)
from qrelay.qpu.rpc import (
    Call,
    await_calls,
    cancel_call,
    execute_call,
    invoke,
    invoke_async,
    status_call,
)

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
    call = execute_call(
        program, patch_values, quantum_processor_id, client, execution_options, key=idempotency_key
    )
    return invoke(call)


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
    return invoke(cancel_call(job_ids, quantum_processor_id, client, execution_options))


def cancel_job(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> None:
    """Cancel one job; raise ``QpuApiError`` saying why when it could not be cancelled."""
    outcome = cancel_jobs([job_id], quantum_processor_id, client, execution_options)[job_id]
    raise_unless_cancelled(job_id, outcome)


def get_job_status(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> JobStatus:
    """The job's state, queue position, estimated delay and execution count."""
    return invoke(status_call(job_id, quantum_processor_id, client, execution_options))


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
    for call in await_calls(job_ids, quantum_processor_id, client, execution_options, done):
        invoke(call)
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
    pb, _ = proto()
    options = checked_options(execution_options)
    c = client_or_default(client)
    address = c.resolve(quantum_processor_id, options)
    request = pb.GetControllerInfoRequest()
    return invoke(
        Call(c, address, "GetControllerInfo", request, options.call_timeout(), controller_info)
    )


def get_device_info(
    quantum_processor_id: str,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> TargetInfo:
    """The device as the controller describes it: a ``TargetInfo`` with live calibration."""
    pb, _ = proto()
    options = checked_options(execution_options)
    c = client_or_default(client)
    address = c.resolve(quantum_processor_id, options)
    request = pb.GetDeviceInfoRequest(quantum_processor_id=quantum_processor_id)
    return invoke(Call(c, address, "GetDeviceInfo", request, options.call_timeout(), device_info))


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
    call = execute_call(
        program, patch_values, quantum_processor_id, client, execution_options, key=idempotency_key
    )
    return await invoke_async(call)


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
    return await invoke_async(cancel_call(job_ids, quantum_processor_id, client, execution_options))


async def cancel_job_async(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> None:
    """Async twin of :func:`cancel_job`."""
    outcomes = await cancel_jobs_async([job_id], quantum_processor_id, client, execution_options)
    raise_unless_cancelled(job_id, outcomes[job_id])


async def get_job_status_async(
    job_id: str,
    quantum_processor_id: str | None = None,
    client: QpuClient | None = None,
    execution_options: ExecutionOptions | None = None,
) -> JobStatus:
    """Async twin of :func:`get_job_status`."""
    return await invoke_async(status_call(job_id, quantum_processor_id, client, execution_options))


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
    for call in await_calls(job_ids, quantum_processor_id, client, execution_options, done):
        await invoke_async(call)
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
