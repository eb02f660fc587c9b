"""The console's admin pages: users (balance, role, active), workers (revoke, rotate) and
the audit log. Admins only (403 for anyone else); each change goes through
:mod:`qrelay.service.accounts`, as the admin API's does, and so lands in the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError as PydanticValidationError

from qrelay.payload import UpdateUserDetails, UserQuery
from qrelay.payload.audit import AuditQuery
from qrelay.service import accounts
from qrelay.service.api.deps import runtime
from qrelay.service.console.render import page, render, see_other
from qrelay.service.console.session import Session, checked_form, current
from qrelay.service.db.audit import read_page
from qrelay.service.problems import ApiError, pydantic_errors

router = APIRouter(prefix="/ui/admin", include_in_schema=False)

#: Audit records per page.
AUDIT_PAGE = 50


async def _admin(request: Request) -> Session:
    session = await current(request)
    if not session.is_admin:
        raise ApiError(403, "forbidden", "these pages are for admins")
    return session


@router.get("/users")
@page
async def users(request: Request) -> Response:
    session = await _admin(request)
    rt = runtime(request)
    listed = await rt.offload(rt.store.list_users, UserQuery())
    return render(request, "users.html", session, users=listed)


def _user_change(form: dict[str, str]) -> UpdateUserDetails:
    values: dict[str, Any] = {}
    if form.get("balance", "") != "":
        values["balance"] = form["balance"]
    if form.get("role"):
        values["role"] = form["role"]
    values["active"] = form.get("active") == "on"
    try:
        return UpdateUserDetails.model_validate(values)
    except PydanticValidationError as exc:
        raise pydantic_errors(exc) from None


@router.post("/users/{user_id}")
@page
async def change_user(request: Request, user_id: str) -> Response:
    """Set a user's balance, role and active flag from the users page's form."""
    session = await _admin(request)
    form = await checked_form(request, session)
    rt = runtime(request)
    await rt.offload(accounts.update_user, rt, session.principal, user_id, _user_change(form))
    return see_other("/admin/users")


@router.get("/workers")
@page
async def workers(request: Request) -> Response:
    session = await _admin(request)
    rt = runtime(request)
    listed = await rt.offload(rt.store.list_workers)
    return render(request, "workers.html", session, workers=listed, issued=None)


@router.post("/workers/{worker_id}/revoke")
@page
async def revoke(request: Request, worker_id: str) -> Response:
    session = await _admin(request)
    await checked_form(request, session)
    rt = runtime(request)
    await rt.offload(accounts.revoke_worker, rt, session.principal, worker_id)
    return see_other("/admin/workers")


@router.post("/workers/{worker_id}/rotate")
@page
async def rotate(request: Request, worker_id: str) -> Response:
    """A new token for the worker, shown once on the page that answers the form."""
    session = await _admin(request)
    await checked_form(request, session)
    rt = runtime(request)
    issued = await rt.offload(accounts.rotate_worker, rt, session.principal, worker_id)
    listed = await rt.offload(rt.store.list_workers)
    return render(request, "workers.html", session, workers=listed, issued=issued)


@router.get("/audit")
@page
async def audit(request: Request) -> Response:
    """The audit log, newest first, a page at a time."""
    session = await _admin(request)
    rt = runtime(request)
    values: dict[str, Any] = {"limit": AUDIT_PAGE}
    for key in ("action", "cursor"):
        if request.query_params.get(key):
            values[key] = request.query_params[key][:64]
    try:
        query = AuditQuery.model_validate(values)
    except PydanticValidationError as exc:
        raise pydantic_errors(exc) from None
    found = await rt.offload(read_page, rt.engine, query)
    return render(request, "audit.html", session, audit=found, action=values.get("action", ""))
