"""Targets and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from qrelay.payload import (
    BalanceResponse,
    GetTargetsFilterModel,
    TargetInfo,
    TargetModel,
    UserInfo,
)
from qrelay.service.api.deps import User, query_model, runtime
from qrelay.service.problems import ApiError

router = APIRouter(prefix="/v1", tags=["targets", "me"])


@router.get("/targets", response_model=list[TargetModel])
async def list_targets(request: Request, _principal: User) -> list[TargetModel]:
    """The targets, with live status (query: ``GetTargetsFilterModel`` fields)."""
    filters = query_model(GetTargetsFilterModel, request)
    rt = runtime(request)
    infos = await run_in_threadpool(rt.store.targets_live)
    out = []
    for info in infos:
        model = TargetModel.from_info(info)
        if filters.admits(model):
            out.append(model)
    return out


@router.get("/targets/{name}", response_model=TargetInfo)
async def get_target(request: Request, _principal: User, name: str) -> TargetInfo:
    """One target in full, with its live status and queue depth."""
    rt = runtime(request)
    if rt.catalog.get(name) is None:
        raise ApiError(404, "not_found", f"target: no target {name!r}")
    infos = await run_in_threadpool(rt.store.targets_live, [name])
    return infos[0]


@router.get("/me", response_model=UserInfo)
async def me(request: Request, principal: User) -> UserInfo:
    """The caller."""
    rt = runtime(request)
    return await run_in_threadpool(rt.store.get_user, principal.user_id)


@router.get("/me/balance", response_model=BalanceResponse)
async def balance(request: Request, principal: User) -> BalanceResponse:
    """The caller's balance."""
    rt = runtime(request)
    return BalanceResponse(balance=await run_in_threadpool(rt.store.balance, principal.user_id))
