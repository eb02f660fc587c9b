"""The console's target pages: every target's status and queue, and one target's
coupling map, calibration table and history, and maintenance windows (through the
operations the ``/v1/targets`` routes call)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError as PydanticValidationError

from qrelay.payload import GetTargetsFilterModel, TargetInfo
from qrelay.payload.calibration import Calibration, CalibrationQuery
from qrelay.service import operations
from qrelay.service.api.deps import runtime
from qrelay.service.console import svg
from qrelay.service.console.jobs import day
from qrelay.service.console.render import MISSING, page, render
from qrelay.service.console.session import current
from qrelay.service.problems import pydantic_errors

router = APIRouter(prefix="/ui", include_in_schema=False)

#: Snapshots per page of the calibration history table.
HISTORY_PAGE = 20
#: The history a target page shows when its form names no dates: the last week.
DEFAULT_DAYS = 7
#: The filters of the history, as the form names them.
HISTORY_FILTERS = ("from", "to", "cursor")


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
    """One target: status, maintenance windows, coupling map (SVG), calibration table,
    and the calibration history of a date range (a table a page at a time, and T1 over
    the whole range as a chart)."""
    session = await current(request)
    rt = runtime(request)
    info: TargetInfo = await rt.offload(operations.get_target, rt, name)
    drawn = info.coupling_map is not None and len(info.coupling_map) > 0
    params = {k: request.query_params[k][:40] for k in HISTORY_FILTERS if k in request.query_params}
    shown = _range(params)
    listed = await rt.offload(
        operations.calibration_history, rt, name, _history_query(shown, HISTORY_PAGE)
    )
    charted = await rt.offload(
        operations.calibration_history, rt, name, _history_query(shown, svg.MAX_POINTS, False)
    )
    points = [(c.taken_at, [q.t1_us for q in c.qubits]) for c in charted.calibrations]
    following = {k: v for k, v in shown.items() if k != "cursor"}
    return render(
        request,
        "target.html",
        session,
        target=info,
        coupling=svg.coupling_map(info) if drawn else None,
        legend=svg.legend(info),
        pair_gates=[g for g in info.gates if len(g.qubits) == 2],
        single_gates=[g for g in info.gates if len(g.qubits) == 1],
        now=datetime.now(UTC),
        history=[_history_row(c) for c in listed.calibrations],
        next_cursor=listed.next_cursor,
        shown=shown,
        following=following,
        t1_chart=svg.t1_history(points),
        chart_truncated=charted.next_cursor is not None,
        svg_points=svg.MAX_POINTS,
    )


def _range(params: dict[str, str]) -> dict[str, str]:
    """The history's filters, with ``from`` the last week's first day when none is given."""
    shown = dict(params)
    if not shown.get("from") and not shown.get("to"):
        start = datetime.now(UTC).date() - timedelta(days=DEFAULT_DAYS - 1)
        shown["from"] = start.isoformat()
    return {k: v for k, v in shown.items() if v}


def _history_query(shown: dict[str, str], limit: int, paged: bool = True) -> CalibrationQuery:
    """The query of the shown range; ``to`` includes its whole day (UTC)."""
    values: dict[str, Any] = {"limit": limit}
    if shown.get("from"):
        values["from"] = _midnight(day(shown["from"], "from"))
    if shown.get("to"):
        values["to"] = _midnight(day(shown["to"], "to") + timedelta(days=1))
    if paged and shown.get("cursor"):
        values["cursor"] = shown["cursor"]
    try:
        return CalibrationQuery.model_validate(values)
    except PydanticValidationError as exc:
        raise pydantic_errors(exc) from None


def _midnight(on: date) -> datetime:
    return datetime.combine(on, time(), tzinfo=UTC)


def _history_row(c: Calibration) -> dict[str, Any]:
    """One row of the history table: the snapshot and its qubits' mean T1, T2, readout."""

    def mean(values: list[float | None], fmt: str) -> str:
        known = [v for v in values if v is not None]
        return fmt.format(sum(known) / len(known)) if known else MISSING

    return {
        "calibration_id": c.calibration_id,
        "taken_at": c.taken_at,
        "source": c.source.value,
        "t1": mean([q.t1_us for q in c.qubits], "{:.1f}"),
        "t2": mean([q.t2_us for q in c.qubits], "{:.1f}"),
        "readout": mean([q.readout_error for q in c.qubits], "{:.2e}"),
    }
