"""Targets and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from qrelay.payload import (
    BalanceResponse,
    GetTargetsFilterModel,
    TargetInfo,
    TargetModel,
    UserInfo,
)
from qrelay.payload.calibration import (
    Calibration,
    CalibrationPage,
    CalibrationQuery,
    NewCalibration,
)
from qrelay.payload.maintenance import MaintenanceWindow, NewMaintenance
from qrelay.service import operations
from qrelay.service.api.deps import Admin, User, body_model, json_body, query_model, runtime

router = APIRouter(prefix="/v1", tags=["targets", "me"])


@router.get("/targets", response_model=list[TargetModel])
async def list_targets(request: Request, _principal: User) -> list[TargetModel]:
    """The targets, with live status (query: ``GetTargetsFilterModel`` fields)."""
    filters = query_model(GetTargetsFilterModel, request)
    rt = runtime(request)
    return await rt.offload(operations.list_targets, rt, filters)


@router.get("/targets/{name}", response_model=TargetInfo)
async def get_target(request: Request, _principal: User, name: str) -> TargetInfo:
    """One target in full, with its live status and queue depth."""
    rt = runtime(request)
    return await rt.offload(operations.get_target, rt, name)


@router.get("/targets/{name}/calibrations", response_model=CalibrationPage)
async def calibrations(request: Request, _principal: User, name: str) -> CalibrationPage:
    """The target's calibration history, oldest first: ``from`` (inclusive) and ``to``
    (exclusive) bound the time it was taken; page with ``limit`` and ``cursor``."""
    query = query_model(CalibrationQuery, request)
    rt = runtime(request)
    return await rt.offload(operations.calibration_history, rt, name, query)


@router.get("/targets/{name}/calibrations/{calibration_id}", response_model=Calibration)
async def calibration(
    request: Request, _principal: User, name: str, calibration_id: str
) -> Calibration:
    """One calibration snapshot of the target."""
    rt = runtime(request)
    return await rt.offload(rt.store.get_calibration, name, calibration_id)


@router.post(
    "/targets/{name}/calibrations",
    response_model=Calibration,
    status_code=201,
    openapi_extra=json_body(NewCalibration),
)
async def post_calibration(request: Request, principal: Admin, name: str) -> Calibration:
    """An operator's calibration snapshot: the target's current one from now on (admins)."""
    new = await body_model(NewCalibration, request)
    rt = runtime(request)
    return await rt.offload(operations.post_calibration, rt, principal, name, new)


@router.get("/targets/{name}/maintenance", response_model=list[MaintenanceWindow])
async def maintenance_windows(
    request: Request, _principal: User, name: str
) -> list[MaintenanceWindow]:
    """The target's open and coming maintenance windows, soonest first."""
    rt = runtime(request)
    return await rt.offload(operations.maintenance_windows, rt, name)


@router.post(
    "/targets/{name}/maintenance",
    response_model=MaintenanceWindow,
    status_code=201,
    openapi_extra=json_body(NewMaintenance),
)
async def schedule_maintenance(request: Request, principal: Admin, name: str) -> MaintenanceWindow:
    """Schedule a maintenance window (admins): while it is open no worker leases the
    target's tasks; jobs submitted meanwhile wait, and their estimates say why."""
    new = await body_model(NewMaintenance, request)
    rt = runtime(request)
    return await rt.offload(operations.schedule_maintenance, rt, principal, name, new)


@router.delete("/targets/{name}/maintenance/{window_id}", status_code=204)
async def cancel_maintenance(
    request: Request, principal: Admin, name: str, window_id: int
) -> Response:
    """End a maintenance window now (admins): the target's tasks are leased again."""
    rt = runtime(request)
    await rt.offload(operations.cancel_maintenance, rt, principal, name, window_id)
    return Response(status_code=204)


@router.get("/me", response_model=UserInfo)
async def me(request: Request, principal: User) -> UserInfo:
    """The caller."""
    rt = runtime(request)
    return await rt.offload(rt.store.get_user, principal.user_id)


@router.get("/me/balance", response_model=BalanceResponse)
async def balance(request: Request, principal: User) -> BalanceResponse:
    """The caller's balance."""
    rt = runtime(request)
    return BalanceResponse(balance=await rt.offload(rt.store.balance, principal.user_id))
