"""Targets and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qrelay.payload import (
    BalanceResponse,
    GetTargetsFilterModel,
    TargetInfo,
    TargetModel,
    UserInfo,
)
from qrelay.service import operations
from qrelay.service.api.deps import User, query_model, runtime

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
