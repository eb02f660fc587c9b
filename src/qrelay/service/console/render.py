"""Rendering the console's pages: the Jinja2 templates of the package, and errors as pages.

Templates escape every value (autoescape on); the only markup that reaches them
unescaped is the SVG that :mod:`.svg` builds, which escapes its own text.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from qrelay.service.console.session import ROOT, LoginNeededError, Session, current
from qrelay.service.problems import ApiError

if TYPE_CHECKING:
    import jinja2

_P = ParamSpec("_P")
#: Shown where a job or target does not carry a value (yet).
MISSING = "—"


def environment() -> jinja2.Environment:
    """The template environment over the package's ``templates`` folder."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("qrelay.service.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["orblank"] = orblank
    env.globals["ROOT"] = ROOT
    env.globals["MISSING"] = MISSING
    return env


def templates(request: Request) -> jinja2.Environment:
    """The app's template environment, made on the console's first page (Jinja2 is
    imported then, so a service whose console nobody opens never loads it)."""
    state = request.app.state
    env: jinja2.Environment | None = getattr(state, "console_templates", None)
    if env is None:
        env = state.console_templates = environment()
    return env


def when(value: datetime | None) -> str:
    """A time as the console shows it: UTC, to the second."""
    if value is None:
        return MISSING
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def orblank(value: object) -> object:
    """The value, or the dash for a missing one."""
    return MISSING if value is None or value == "" else value


def render(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with ``context``, for ``session`` (None: logged out)."""
    html = (
        templates(request)
        .get_template(template)
        .render(session=session, request=request, **context)
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


#: No page of the console is cached or framed, and none loads anything from elsewhere.
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "same-origin",
}


def page(
    fn: Callable[_P, Awaitable[Response]],
) -> Callable[_P, Awaitable[Response]]:
    """A console route: no session leads to the login page, an error to an error page."""

    @functools.wraps(fn)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> Response:
        request = kwargs.get("request")
        assert isinstance(request, Request), "console routes take request as a keyword"
        try:
            return await fn(*args, **kwargs)
        except LoginNeededError:
            return RedirectResponse(f"{ROOT}/login", status_code=303)
        except ApiError as exc:
            return render(
                request,
                "error.html",
                await _session_or_none(request),
                status_code=exc.status,
                status=exc.status,
                code=exc.code,
                detail=exc.detail,
            )

    return run


async def _session_or_none(request: Request) -> Session | None:
    """The session, for an error page's navigation; None if there is none."""
    try:
        return await current(request)
    except (LoginNeededError, ApiError):
        return None


def see_other(path: str) -> RedirectResponse:
    """After a form: go to ``path`` (under the console) with a GET."""
    return RedirectResponse(f"{ROOT}{path}", status_code=303)
