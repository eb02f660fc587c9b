"""Worker endpoints: lease (long poll), heartbeat, progress and results."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from qrelay.payload import (
    MAX_RESULTS_PER_BATCH,
    HeartbeatResponse,
    TargetInfo,
    WorkerResultsAnswer,
    WorkerResultsBatch,
    WorkerTask,
    WorkerTaskResults,
    WorkerTaskStatus,
)
from qrelay.payload.calibration import Calibration
from qrelay.service import operations
from qrelay.service.api.deps import Worker, body_model, json_body, runtime
from qrelay.service.db.leasing import MAX_LEASE_TARGETS

router = APIRouter(prefix="/v1/worker", tags=["worker"])
_JSON = "application/json"


class LeaseRequest(BaseModel):
    """``POST /v1/worker/lease``: which targets to lease for, and how long to wait."""

    model_config = ConfigDict(extra="forbid")
    targets: Annotated[list[str], Field(min_length=1, max_length=MAX_LEASE_TARGETS)]
    wait: Annotated[float, Field(ge=0, le=60)] = 20.0
    #: Take up to this many tasks (the service takes at most ``MAX_LEASE_TASKS``); the
    #: answer is then ``LeasedTasks``. Without it, one task (``WorkerTask``) or 204.
    max_tasks: Annotated[int, Field(ge=1, le=MAX_RESULTS_PER_BATCH)] | None = None


class HeartbeatRequest(BaseModel):
    """``POST /v1/worker/tasks/{id}/heartbeat``: the lease being kept alive."""

    model_config = ConfigDict(extra="forbid")
    lease_id: str


@router.get("/targets/{name}", response_model=TargetInfo)
async def target(request: Request, principal: Worker, name: str) -> TargetInfo:
    """A target this worker serves, in full: calibration, limits and native gates."""
    rt = runtime(request)
    return await rt.offload(operations.worker_target, rt, principal, name)


@router.post(
    "/targets/{name}/calibrations",
    response_model=Calibration,
    openapi_extra=json_body(TargetInfo),
)
async def report_calibration(request: Request, principal: Worker, name: str) -> Calibration:
    """The device's own calibration, as its controller reports it: the target's newest."""
    info = await body_model(TargetInfo, request)
    rt = runtime(request)
    return await rt.offload(operations.report_calibration, rt, principal, name, info)


@router.post(
    "/lease",
    response_model=WorkerTask,
    responses={204: {"description": "nothing to do"}},
    openapi_extra=json_body(LeaseRequest),
)
async def lease(request: Request, principal: Worker) -> Response:
    """The next task for these targets, waiting up to ``wait`` seconds for one; with
    ``max_tasks``, the tasks queued then, up to that many (``LeasedTasks``)."""
    body = await body_model(LeaseRequest, request)
    rt = runtime(request)
    if body.max_tasks is None:
        return _task_answer(await operations.wait_for_lease(rt, principal, body.targets, body.wait))
    tasks = await operations.wait_for_leases(rt, principal, body.targets, body.wait, body.max_tasks)
    return Response(operations.leased_answer(tasks), media_type=_JSON)


def _task_answer(task: bytes | None) -> Response:
    """A lease's answer: the ``WorkerTask`` JSON, or 204 when no task came in time."""
    if task is None:
        return Response(status_code=204)
    return Response(task, media_type=_JSON)


@router.post(
    "/tasks/{task_id}/heartbeat",
    response_model=HeartbeatResponse,
    openapi_extra=json_body(HeartbeatRequest),
)
async def heartbeat(request: Request, principal: Worker, task_id: str) -> HeartbeatResponse:
    """Extend the lease; says whether the user asked to cancel."""
    body = await body_model(HeartbeatRequest, request)
    rt = runtime(request)
    expires, cancel = await rt.offload(rt.store.heartbeat, principal, task_id, body.lease_id)
    return HeartbeatResponse(lease_expires_at=expires, cancel_requested=cancel)


@router.post("/tasks/{task_id}/status", status_code=204, openapi_extra=json_body(WorkerTaskStatus))
async def report_status(request: Request, principal: Worker, task_id: str) -> Response:
    """Record progress (compiling, running, ...) and the device's execution id."""
    body = await body_model(WorkerTaskStatus, request)
    rt = runtime(request)
    await rt.offload(rt.store.report_status, principal, task_id, body)
    return Response(status_code=204)


@router.post(
    "/tasks/{task_id}/result",
    status_code=204,
    responses={200: {"model": WorkerTask, "description": "the next task, when ``lease`` asked"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/WorkerTaskResults"}}},
        }
    },
)
async def post_result(
    request: Request,
    principal: Worker,
    task_id: str,
    lease: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_LEASE_TARGETS,
            description="then lease the next task of these targets, as ``/v1/worker/lease`` "
            "does, in the same request (200 with it, 204 when none came in time)",
        ),
    ] = None,
    wait: Annotated[float, Query(ge=0, le=60, description="how long the lease waits")] = 20.0,
) -> Response:
    """End a task with its result; refused (409) unless the lease is current. With
    ``lease``, the answer then waits for the worker's next task: one request per task
    instead of two."""
    body = await request.body()
    rt = runtime(request)
    results = await rt.bodies.validate_json_mode(WorkerTaskResults, body)
    if lease:  # refused before anything is stored
        operations.check_targets(principal, lease)
    await rt.offload(rt.store.post_result, principal, task_id, results)
    if not lease:
        return Response(status_code=204)
    # One turn of the loop first: a submission waiting for this job (``Prefer: wait``)
    # was woken by the result and answers its client before the next lease is looked for.
    await asyncio.sleep(0)
    return _task_answer(await operations.wait_for_lease(rt, principal, lease, wait))


@router.post(
    "/results",
    response_model=WorkerResultsAnswer,
    openapi_extra=json_body(WorkerResultsBatch),
)
async def post_results(
    request: Request,
    principal: Worker,
    lease: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_LEASE_TARGETS,
            description="then lease up to ``max_tasks`` next tasks of these targets, as "
            "``/v1/worker/lease`` does, in the same request",
        ),
    ] = None,
    wait: Annotated[float, Query(ge=0, le=60, description="how long the lease waits")] = 20.0,
    max_tasks: Annotated[
        int, Query(ge=1, le=MAX_RESULTS_PER_BATCH, description="how many tasks to lease")
    ] = 1,
) -> Response:
    """End several tasks with their results in one transaction. Each result is checked as
    ``/tasks/{id}/result`` checks it and accepted or refused on its own (its outcome says
    why, e.g. ``lease_lost``); a result already recorded is refused, never stored twice."""
    body = await request.body()
    rt = runtime(request)
    batch = await rt.bodies.validate_json_mode(WorkerResultsBatch, body)
    if lease:  # refused before anything is stored
        operations.check_targets(principal, lease)
    outcomes = await rt.offload(operations.post_results, rt, principal, batch)
    tasks: list[bytes] = []
    if lease:
        await asyncio.sleep(0)  # as in ``post_result``: woken submissions answer first
        tasks = await operations.wait_for_leases(rt, principal, lease, wait, max_tasks)
    return Response(operations.results_answer(outcomes, tasks), media_type=_JSON)
