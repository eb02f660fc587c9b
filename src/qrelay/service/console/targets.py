"""The console's target pages: every target's status and queue, and one target's
coupling map and calibration table (through the operations the ``/v1/targets`` routes call)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from qrelay.payload import GetTargetsFilterModel, TargetInfo
from qrelay.service import operations
from qrelay.service.api.deps import runtime
from qrelay.service.console import svg
from qrelay.service.console.render import page, render
from qrelay.service.console.session import current

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/targets")
@page
async def targets(request: Request) -> Response:
    """Every target with its live status and queue depth."""
    session = await current(request)
    rt = runtime(request)
    listed = await rt.offload(operations.list_targets, rt, GetTargetsFilterModel())
    return render(request, "targets.html", session, targets=listed)


@router.get("/targets/{name}")
@page
async def target(request: Request, name: str) -> Response:
    """One target: status, coupling map (SVG) and calibration table."""
    session = await current(request)
    rt = runtime(request)
    info: TargetInfo = await rt.offload(operations.get_target, rt, name)
    drawn = info.coupling_map is not None and len(info.coupling_map) > 0
    return render(
        request,
        "target.html",
        session,
        target=info,
        coupling=svg.coupling_map(info) if drawn else None,
        legend=svg.legend(info),
        pair_gates=[g for g in info.gates if len(g.qubits) == 2],
        single_gates=[g for g in info.gates if len(g.qubits) == 1],
    )
