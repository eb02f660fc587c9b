"""Admin endpoints: users, their tokens, and workers. Every action lands in the audit table."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qrelay.payload import (
    NewUser,
    NewWorker,
    UpdateUserDetails,
    UserInfo,
    UserQuery,
    UserTokenResponse,
    WorkerTokenResponse,
)
from qrelay.service.api.deps import Admin, body_model, json_body, query_model, runtime
from qrelay.service.auth import WORKER_PREFIX, new_token

router = APIRouter(prefix="/v1", tags=["admin"])


@router.post(
    "/users", status_code=201, response_model=UserTokenResponse, openapi_extra=json_body(NewUser)
)
async def create_user(request: Request, principal: Admin) -> UserTokenResponse:
    """Create a user; the token is shown once."""
    body = await body_model(NewUser, request)
    rt = runtime(request)
    token = new_token()
    info = await rt.offload(
        lambda: rt.store.create_user(
            name=body.name,
            email=str(body.email),
            role=body.role,
            balance=body.balance,
            token=token,
            actor=principal,
        )
    )
    return UserTokenResponse(user_id=info.user_id, email=info.email, token=token)


@router.get("/users", response_model=list[UserInfo])
async def list_users(request: Request, _principal: Admin) -> list[UserInfo]:
    """Users matching the query (``UserQuery`` fields)."""
    query = query_model(UserQuery, request)
    rt = runtime(request)
    return await rt.offload(rt.store.list_users, query)


@router.patch(
    "/users/{user_id}", response_model=UserInfo, openapi_extra=json_body(UpdateUserDetails)
)
async def update_user(request: Request, principal: Admin, user_id: str) -> UserInfo:
    """Change a user's name, role, balance or active flag."""
    body = await body_model(UpdateUserDetails, request)
    rt = runtime(request)
    info = await rt.offload(rt.store.update_user, user_id, body, principal)
    rt.auth_cache.clear()
    return info


@router.post("/users/{user_id}/token", response_model=UserTokenResponse)
async def regenerate_token(request: Request, principal: Admin, user_id: str) -> UserTokenResponse:
    """Give a user a new token; the old one stops working."""
    rt = runtime(request)
    token = new_token()
    info = await rt.offload(rt.store.set_user_token, user_id, token, principal)
    rt.auth_cache.clear()
    return UserTokenResponse(user_id=info.user_id, email=info.email, token=token)


@router.post(
    "/workers",
    status_code=201,
    response_model=WorkerTokenResponse,
    openapi_extra=json_body(NewWorker),
)
async def create_worker(request: Request, principal: Admin) -> WorkerTokenResponse:
    """Register a worker for some targets; the token is shown once."""
    body = await body_model(NewWorker, request)
    rt = runtime(request)
    token = new_token(WORKER_PREFIX)
    worker_id = await rt.offload(rt.store.create_worker, body.name, body.targets, token, principal)
    return WorkerTokenResponse(
        worker_id=worker_id, name=body.name, targets=body.targets, token=token
    )
