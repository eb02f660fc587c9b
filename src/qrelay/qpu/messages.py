"""How the QPU API shapes requests and reads answers (internal; see :mod:`qrelay.qpu.api`).

Programs and patch values become ``ExecuteRequest`` messages here (bad input raises a
``SubmissionError`` naming the set and region), and controller answers and gRPC errors
become the API's result types and typed errors.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from qrelay.errors import (
    BuildOptionsError,
    QpuApiError,
    QpuAuthenticationError,
    QpuJobCancelledError,
    QpuJobFailedError,
    QpuNotFoundError,
    QpuUnavailableError,
    SubmissionError,
)
from qrelay.payload import TargetInfo
from qrelay.qpu.client import (
    ExecutionResult,
    ExecutionResults,
    JobStatus,
    QpuClient,
    grpc_module,
    proto,
)
from qrelay.qpu.options import (
    ApiExecutionOptions,
    ExecutionOptions,
    QpuApiDuration,
)
from qrelay.qpu.translation import TranslationResult, executable_fields

Program = str | TranslationResult
PatchValues = Mapping[str, Sequence[float] | float]


@functools.lru_cache(maxsize=64)
def executable_message(program: str) -> tuple[str, bytes]:
    """The processor id and serialized ``Executable`` of a program (parsed once)."""
    data = executable_fields(program)
    pb, _ = proto()
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


def program_text(program: Program) -> str:
    if isinstance(program, TranslationResult):
        return program.program
    if not isinstance(program, str):
        raise SubmissionError(
            f"program: expected the str of a TranslationResult, got {type(program).__name__}"
        )
    return program


def patch_message(pb: Any, values: PatchValues, index: int) -> Any:
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


def execute_request(
    program: Program,
    patch_values: Sequence[PatchValues],
    quantum_processor_id: str | None,
    options: ExecutionOptions,
    idempotency_key: str | None,
) -> tuple[str, Any]:
    pb, _ = proto()
    qpu, serialized = executable_message(program_text(program))
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
        patch_values=[patch_message(pb, v, i) for i, v in enumerate(patch_values)],
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        bypass_settings_protection=api.bypass_settings_protection,
        seed=api.seed,
    )
    return qpu, request


def processor_of(job_id: str, quantum_processor_id: str | None) -> str | None:
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


def rpc_error(exc: Exception, client: QpuClient, address: str, call: str) -> QpuApiError:
    """The typed error of a failed call; ``.code`` is the gRPC status name."""
    grpc = grpc_module()
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


def job_status(message: Any) -> JobStatus:
    pb, _ = proto()
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


def execution_results(message: Any) -> ExecutionResults:
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


def outcome_name(pb: Any, value: int) -> str:
    return str(pb.CancelOutcome.Name(value)).removeprefix("CANCEL_OUTCOME_").lower()


def finish_await(
    response: Any, job_ids: Sequence[str], done: dict[str, ExecutionResults]
) -> list[str]:
    """Record finished results; raise for failed or cancelled jobs; return those pending."""
    for result in response.results:
        done[result.job_id] = execution_results(result)
    pending = []
    for message in response.statuses:
        status = job_status(message)
        if status.state == "failed":
            raise QpuJobFailedError(f"job {status.job_id} failed on the QPU: {status.message}")
        if status.state == "cancelled":
            raise QpuJobCancelledError(f"job {status.job_id} was cancelled: {status.message}")
        if status.job_id not in done:
            pending.append(status.job_id)
    return [j for j in job_ids if j in pending]


def raise_unless_cancelled(job_id: str, outcome: str) -> None:
    """Raise, saying why, when a cancel did not cancel (``.code`` is the outcome)."""
    if outcome == "cancelled":
        return
    cls = QpuNotFoundError if outcome == "not_found" else QpuApiError
    raise cls(f"job {job_id} was not cancelled: {outcome.replace('_', ' ')}", code=outcome.upper())


def checked_options(execution_options: ExecutionOptions | None) -> ExecutionOptions:
    if execution_options is None:
        return ExecutionOptions()
    if not isinstance(execution_options, ExecutionOptions):
        raise BuildOptionsError(
            f"execution_options: expected ExecutionOptions, got {type(execution_options).__name__}"
        )
    return execution_options


def job_ids_of(response: Any) -> list[str]:
    return list(response.job_ids)


def outcomes(response: Any) -> dict[str, str]:
    pb, _ = proto()
    return {r.job_id: outcome_name(pb, r.outcome) for r in response.results}


def first_status(response: Any) -> JobStatus:
    return job_status(response.statuses[0])


def controller_info(response: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    info: dict[str, Any] = MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for key in ("programs_executed", "jobs_completed"):
        info[key] = int(info.get(key, 0))
    for device in info.get("devices", []):
        device["programs_executed"] = int(device.get("programs_executed", 0))
    return info


def device_info(response: Any) -> TargetInfo:
    return TargetInfo.model_validate_json(response.target_info_json)
