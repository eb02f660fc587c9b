"""Jobs: submit, read (with a long poll), list, results, cancel and delete."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from qrelay.payload import (
    JobCancellationResults,
    JobData,
    JobPage,
    JobQuery,
    JobResults,
    JobTimeline,
    NewJob,
    NewJobResponse,
)
from qrelay.service import operations
from qrelay.service.api.deps import User, body_model, json_body, query_model, runtime

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
_JSON = "application/json"


class CancelRequest(BaseModel):
    """``POST /v1/jobs/cancel``: the jobs to cancel."""

    model_config = ConfigDict(extra="forbid")
    job_ids: list[str]


def _new_job_schema() -> dict[str, object]:
    schema = NewJob.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def prefer_wait(header: str | None) -> float:
    """The ``wait`` preference of a ``Prefer`` header (RFC 7240) in seconds, else 0."""
    for preference in (header or "").split(","):
        name, _, value = preference.split(";")[0].strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                seconds = float(value.strip().strip('"'))
            except ValueError:
                return 0.0
            return seconds if math.isfinite(seconds) and seconds > 0 else 0.0
    return 0.0


@router.post(
    "",
    status_code=201,
    response_model=NewJobResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/NewJob"}}},
        }
    },
    responses={200: {"model": NewJobResponse, "description": "A replay of an earlier submission"}},
)
async def submit_job(
    request: Request,
    principal: User,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            max_length=200,
            description="`wait=N` (RFC 7240): for a small simulation that an idle worker "
            "takes at once, answer when it has ended (at most N seconds), with the job",
        ),
    ] = None,
) -> Response:
    """Queue a job. The ``Idempotency-Key`` header makes retries safe; ``Prefer: wait=N``
    lets the answer carry a small simulation's finished job (see ``NewJobResponse.job``)."""
    body = await request.body()
    rt = runtime(request)
    hold = min(prefer_wait(prefer), rt.settings.max_wait_seconds)
    sent = await operations.submit_job(rt, principal, body, idempotency_key, hold=hold)
    headers = {"Preference-Applied": f"wait={hold:g}"} if sent.held else None
    return Response(
        sent.response,
        status_code=201 if sent.created else 200,
        media_type=_JSON,
        headers=headers,
    )


@router.get("", response_model=JobPage)
async def list_jobs(request: Request, principal: User) -> Response:
    """The caller's jobs, newest first, one page at a time (query: ``JobQuery`` fields)."""
    query = query_model(JobQuery, request)
    rt = runtime(request)
    return Response(await rt.offload(rt.store.list_jobs, principal, query), media_type=_JSON)


@router.post(
    "/cancel", response_model=JobCancellationResults, openapi_extra=json_body(CancelRequest)
)
async def cancel_jobs(request: Request, principal: User) -> JobCancellationResults:
    """Cancel jobs: queued circuits at once, running ones at the worker's next heartbeat."""
    body = await body_model(CancelRequest, request)
    rt = runtime(request)
    return await rt.offload(rt.store.cancel, principal, body.job_ids)


@router.get("/{job_id}", response_model=JobData)
async def get_job(
    request: Request,
    principal: User,
    job_id: str,
    wait: Annotated[float, Query(ge=0, le=60)] = 0.0,
    include: Annotated[str | None, Query(pattern=r"^(readout)?$")] = None,
) -> Response:
    """A job; with ``wait`` it answers once the job has ended or the wait is over."""
    content = await operations.wait_for_job(
        runtime(request), principal, job_id, wait=wait, include_readout=include == "readout"
    )
    return Response(content, media_type=_JSON)


@router.get("/{job_id}/results", response_model=JobResults)
async def job_results(request: Request, principal: User, job_id: str) -> Response:
    """Each circuit's layout and its readout per binding row."""
    rt = runtime(request)
    return Response(await rt.offload(rt.store.job_results, principal, job_id), media_type=_JSON)


@router.get("/{job_id}/timeline", response_model=JobTimeline)
async def job_timeline(request: Request, principal: User, job_id: str) -> JobTimeline:
    """The job's status changes, oldest first: each circuit's from and to status."""
    rt = runtime(request)
    return await rt.offload(rt.store.job_timeline, principal, job_id)


@router.delete("/{job_id}", status_code=204)
async def delete_job(request: Request, principal: User, job_id: str) -> Response:
    """Soft-delete a job that has ended (409 while it still runs)."""
    rt = runtime(request)
    await rt.offload(rt.store.delete, principal, job_id)
    return Response(status_code=204)
