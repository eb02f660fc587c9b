"""Admin endpoints: users, their tokens, and workers. Every action lands in the audit table.

Answers that carry a token are sent with ``Cache-Control: no-store``, so no cache on the
way keeps them. A token's lifetime follows ``ServiceSettings.user_token_days`` and
``worker_token_days`` (no expiry by default). Revoking or rotating a token takes effect
on this process at once and on other replicas within ``auth_cache_seconds``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from qrelay.payload import (
    NewUser,
    NewWorker,
    UpdateUserDetails,
    UserInfo,
    UserQuery,
    UserTokenResponse,
    WorkerInfo,
    WorkerTokenResponse,
)
from qrelay.service import accounts
from qrelay.service.accounts import expiry as _expiry
from qrelay.service.api.deps import Admin, body_model, json_body, query_model, runtime
from qrelay.service.auth import WORKER_PREFIX, new_token

router = APIRouter(prefix="/v1", tags=["admin"])


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/users", status_code=201, response_model=UserTokenResponse, openapi_extra=json_body(NewUser)
)
async def create_user(request: Request, response: Response, principal: Admin) -> UserTokenResponse:
    """Create a user; the token is shown once."""
    body = await body_model(NewUser, request)
    rt = runtime(request)
    token = new_token()
    expires = _expiry(rt.settings.user_token_days)
    info = await rt.offload(
        lambda: rt.store.create_user(
            name=body.name,
            email=str(body.email),
            role=body.role,
            balance=body.balance,
            token=token,
            actor=principal,
            token_expires_at=expires,
        )
    )
    _no_store(response)
    return UserTokenResponse(
        user_id=info.user_id, email=info.email, token=token, token_expires_at=expires
    )


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
    return await rt.offload(accounts.update_user, rt, principal, user_id, body)


@router.post("/users/{user_id}/token", response_model=UserTokenResponse)
async def regenerate_token(
    request: Request, response: Response, principal: Admin, user_id: str
) -> UserTokenResponse:
    """Give a user a new token; the old one stops working."""
    rt = runtime(request)
    token = new_token()
    expires = _expiry(rt.settings.user_token_days)
    info = await rt.offload(rt.store.set_user_token, user_id, token, principal, expires)
    rt.auth_cache.clear()
    _no_store(response)
    return UserTokenResponse(
        user_id=info.user_id, email=info.email, token=token, token_expires_at=expires
    )


@router.delete("/users/{user_id}/token", status_code=204)
async def revoke_user_token(request: Request, principal: Admin, user_id: str) -> Response:
    """Revoke a user's token: the user keeps its jobs and balance but holds no token
    until a new one is made (``POST /v1/users/{user_id}/token``)."""
    rt = runtime(request)
    await rt.offload(rt.store.set_user_token, user_id, None, principal)
    rt.auth_cache.clear()
    return Response(status_code=204)


@router.post(
    "/workers",
    status_code=201,
    response_model=WorkerTokenResponse,
    openapi_extra=json_body(NewWorker),
)
async def create_worker(
    request: Request, response: Response, principal: Admin
) -> WorkerTokenResponse:
    """Register a worker for some targets; the token is shown once."""
    body = await body_model(NewWorker, request)
    rt = runtime(request)
    token = new_token(WORKER_PREFIX)
    expires = _expiry(rt.settings.worker_token_days)
    worker_id = await rt.offload(
        rt.store.create_worker, body.name, body.targets, token, principal, expires
    )
    _no_store(response)
    return WorkerTokenResponse(
        worker_id=worker_id,
        name=body.name,
        targets=body.targets,
        token=token,
        token_expires_at=expires,
    )


@router.get("/workers", response_model=list[WorkerInfo])
async def list_workers(request: Request, _principal: Admin) -> list[WorkerInfo]:
    """Every registered worker, revoked ones included."""
    rt = runtime(request)
    return await rt.offload(rt.store.list_workers)


@router.post("/workers/{worker_id}/token", response_model=WorkerTokenResponse)
async def rotate_worker_token(
    request: Request, response: Response, principal: Admin, worker_id: str
) -> WorkerTokenResponse:
    """Give a worker a new token (shown once) and let it serve again if it was revoked;
    the old token stops working."""
    rt = runtime(request)
    answer = await rt.offload(accounts.rotate_worker, rt, principal, worker_id)
    _no_store(response)
    return answer


@router.delete("/workers/{worker_id}/token", status_code=204)
async def revoke_worker(request: Request, principal: Admin, worker_id: str) -> Response:
    """Revoke a worker: its token stops working and it leases nothing more; the tasks it
    holds go back to the queue when their leases run out."""
    rt = runtime(request)
    await rt.offload(accounts.revoke_worker, rt, principal, worker_id)
    return Response(status_code=204)
