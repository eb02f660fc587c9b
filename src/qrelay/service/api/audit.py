"""``GET /v1/admin/audit``: the audit log, for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request

from qrelay.payload.audit import AuditPage, AuditQuery
from qrelay.service.api.deps import Admin, query_model, runtime
from qrelay.service.db.audit import read_page

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/audit", response_model=AuditPage)
async def read_audit(request: Request, _principal: Admin) -> AuditPage:
    """Admin actions, newest first: filter by ``actor_id``, ``action``, ``subject`` and
    time (``after`` inclusive, ``before`` exclusive); page with ``limit`` and
    ``cursor`` (the ``next_cursor`` of the previous page)."""
    query = query_model(AuditQuery, request)
    rt = runtime(request)
    return await rt.offload(read_page, rt.engine, query)
