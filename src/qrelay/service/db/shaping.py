"""JSON shaping: a job's ``JobData`` answer and its readouts, spliced from stored JSON.

Circuits, compiled circuits and readouts are stored already serialized; they are spliced
into the answer as they are (:func:`splice_json`) instead of being parsed and validated
again on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qrelay.payload import (
    CircuitStatus,
    JobData,
    JobType,
    decode_readouts,
)
from qrelay.service import money
from qrelay.service.db import listing
from qrelay.service.db.base import aware

if TYPE_CHECKING:
    from qrelay.service.db.queueing import QueueEstimate


def splice_json(model_json: str, raw: dict[str, str]) -> bytes:
    """Add already-serialized JSON fields to a serialized object (no re-validation)."""
    if not raw:
        return model_json.encode()
    extra = ",".join(f'"{name}":{value}' for name, value in raw.items())
    body = model_json[:-1]
    joiner = "," if body.rstrip().endswith("{") is False else ""
    return f"{body}{joiner}{extra}}}".encode()


def readouts_json(frame: bytes | None) -> str:
    """The JSON list of a task's stored readouts (``null`` if it has none)."""
    if frame is None:
        return "null"
    return "[" + ",".join(r.model_dump_json() for r in decode_readouts(frame)) + "]"


def _l2p(value: dict[str, int] | None) -> dict[int, int] | None:
    return {int(k): v for k, v in value.items()} if value is not None else None


def trace_id(traceparent: str | None) -> str | None:
    """The trace id (32 hex digits) of a W3C ``traceparent``, if it has one."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def job_json(
    job: Any, trows: Sequence[Any], *, heavy: bool, queue: QueueEstimate | None = None
) -> bytes:
    """The ``JobData`` JSON of a job row and its task rows; ``heavy`` adds the layouts
    and readouts (the tasks were read with them), ``queue`` where a waiting job stands."""
    model = JobData(
        job_id=job.id,
        job_type=JobType(job.job_type),
        target=job.target,
        user_email=job.email,
        status=CircuitStatus(job.status),
        statuses=[CircuitStatus(t.status) for t in trows],
        status_messages=[t.status_message for t in trows],
        num_circuits=job.num_circuits,
        shots=[t.shots for t in trows],
        counts=[t.counts for t in trows],
        initial_logical_to_physicals=[_l2p(t.initial_l2p) for t in trows],
        final_logical_to_physicals=[_l2p(t.final_l2p) for t in trows],
        provider_id=[t.execution_id for t in trows],
        calibration_ids=[t.calibration_id for t in trows],
        trace_id=trace_id(job.traceparent),
        priority=job.priority,
        tags=listing.tags_list(job.tags),
        metadata=job.job_metadata,
        cost=money.from_micros(job.cost_micros),
        queue_position=queue.position if queue is not None else None,
        estimated_start=queue.start if queue is not None else None,
        estimated_finish=queue.finish if queue is not None else None,
        queue_note=queue.note if queue is not None else None,
        submission_timestamp=aware(job.submitted_at),
        last_updated_timestamp=[aware(t.updated_at) for t in trows],
    )
    raw = {"compiled_circuits": "[" + ",".join(t.compiled_circuit or "null" for t in trows) + "]"}
    exclude = {"compiled_circuits", "readouts", "layouts"}
    if heavy:
        raw["layouts"] = "[" + ",".join(t.circuit for t in trows) + "]"
        raw["readouts"] = "[" + ",".join(readouts_json(t.readouts) for t in trows) + "]"
    return splice_json(model.model_dump_json(exclude=exclude), raw)
