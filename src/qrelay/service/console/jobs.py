"""The console's job pages: the list with filters and paging, one job, and cancelling.

Each page calls the store's and :mod:`qrelay.service.operations`' functions that the
``/v1/jobs`` routes call, for the session's user: another user's job is a 404 here as
there.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError as PydanticValidationError

from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    JobData,
    JobPage,
    JobQuery,
)
from qrelay.service import operations
from qrelay.service.api.deps import runtime
from qrelay.service.console import svg
from qrelay.service.console.render import page, render, see_other
from qrelay.service.console.session import checked_form, current
from qrelay.service.problems import ApiError, pydantic_errors

router = APIRouter(prefix="/ui", include_in_schema=False)

#: Jobs per page of the list.
PAGE_SIZE = 25
#: The filters of the list, as the form names them.
FILTERS = ("target", "status", "tag", "from", "to", "cursor")
#: Circuits of a job whose summary and histogram the job page draws (the rest are counted).
MAX_CIRCUITS_SHOWN = 20


def day(text: str, field: str) -> date:
    """The date ``YYYY-MM-DD`` of a filter (422 naming ``field`` for anything else)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "validation_error", f"{field}: expected a date YYYY-MM-DD") from None


def job_query(params: dict[str, str]) -> JobQuery:
    """The ``JobQuery`` of the list's filters; ``to`` includes its whole day (UTC)."""
    values: dict[str, Any] = {"limit": PAGE_SIZE}
    if params.get("target"):
        values["target_name"] = params["target"]
    if params.get("status"):
        values["status"] = [params["status"]]
    if params.get("tag"):
        values["tag"] = params["tag"]
    if params.get("from"):
        values["submitted_after"] = datetime.combine(day(params["from"], "from"), time())
    if params.get("to"):
        end = day(params["to"], "to") + timedelta(days=1)
        values["submitted_before"] = datetime.combine(end, time())
    if params.get("cursor"):
        values["cursor"] = params["cursor"]
    try:
        return JobQuery.model_validate(values)
    except PydanticValidationError as exc:
        raise pydantic_errors(exc) from None


@router.get("/jobs")
@page
async def jobs(request: Request) -> Response:
    """The session user's jobs, newest first, filtered and a page at a time."""
    session = await current(request)
    rt = runtime(request)
    params = {k: request.query_params[k][:200] for k in FILTERS if k in request.query_params}
    query = job_query(params)
    raw = await rt.offload(rt.store.list_jobs, session.principal, query)
    listed = JobPage.model_validate_json(raw)
    targets = sorted(info.name for info in rt.catalog.all())
    following = {k: v for k, v in params.items() if k != "cursor"}
    return render(
        request,
        "jobs.html",
        session,
        jobs=listed.jobs,
        next_cursor=listed.next_cursor,
        filters=params,
        following=following,
        targets=targets,
        statuses=[s.value for s in CircuitStatus if s is not CircuitStatus.DELETED],
    )


@router.get("/jobs/{job_id}")
@page
async def job(request: Request, job_id: str) -> Response:
    """One job: status, timeline, circuits, histograms, cost and provenance."""
    session = await current(request)
    rt = runtime(request)
    raw = await operations.wait_for_job(
        rt, session.principal, job_id, wait=0.0, include_readout=False
    )
    data = JobData.model_validate_json(raw)
    timeline = await rt.offload(rt.store.job_timeline, session.principal, job_id)
    submitted = await rt.offload(
        rt.store.job_circuits, session.principal, job_id, MAX_CIRCUITS_SHOWN
    )
    circuits = [_circuit_view(data, i, circuit) for i, circuit in enumerate(submitted)]
    return render(
        request,
        "job.html",
        session,
        job=data,
        timeline=timeline,
        circuits=circuits,
        more_circuits=max(0, data.num_circuits - MAX_CIRCUITS_SHOWN),
        cancellable=data.status not in TERMINAL_CIRCUIT_STATES,
        provenance=_provenance(data),
    )


def _circuit_view(data: JobData, i: int, submitted: Circuit) -> dict[str, Any]:
    """What the job page shows of circuit ``i``: status, size, op counts (of the compiled
    circuit once there is one), histogram."""
    compiled = data.compiled_circuits[i] if i < len(data.compiled_circuits) else None
    drawn = compiled or submitted
    ops = Counter(ins["op"] for ins in drawn.instructions)
    counts = data.counts[i] if i < len(data.counts) else None
    return {
        "index": i,
        "status": data.statuses[i].value if i < len(data.statuses) else None,
        "message": data.status_messages[i] if i < len(data.status_messages) else None,
        "shots": data.shots[i] if i < len(data.shots) else None,
        "num_qubits": drawn.num_qubits,
        "num_instructions": len(drawn.instructions),
        "ops": ", ".join(f"{op} x{n}" for op, n in ops.most_common(12)),
        "compiled": compiled is not None,
        "histogram": svg.histogram(counts, data.shots[i] if i < len(data.shots) else None)
        if counts
        else None,
    }


def _provenance(data: JobData) -> dict[str, object]:
    """The calibrations the job's results ran under (each once, in circuit order; None
    before any result), its trace id, and while it waits its estimated start and finish
    and why the wait is longer than the queue alone."""
    calibrations = list(dict.fromkeys(c for c in data.calibration_ids if c is not None))
    return {
        "calibration_id": ", ".join(calibrations) or None,
        "trace_id": data.trace_id,
        "estimated_start": data.estimated_start,
        "estimated_finish": data.estimated_finish,
        "queue_note": data.queue_note,
    }


@router.post("/jobs/{job_id}/cancel")
@page
async def cancel(request: Request, job_id: str) -> Response:
    """Cancel the job (a form with the session's CSRF token), then show it again."""
    session = await current(request)
    await checked_form(request, session)
    rt = runtime(request)
    outcome = await rt.offload(functools.partial(rt.store.cancel, session.principal, [job_id]))
    if job_id in outcome.not_found:
        raise ApiError(404, "not_found", f"job_id: no job {job_id!r}")
    return see_other(f"/jobs/{job_id}")
