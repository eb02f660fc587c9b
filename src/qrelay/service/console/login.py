"""Logging in and out of the console, and its front page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from qrelay.service.api.deps import runtime
from qrelay.service.console.render import page, render, see_other
from qrelay.service.console.session import (
    check_login_nonce,
    check_token,
    checked_form,
    current,
    end_session,
    login_nonce,
    read_form,
    remember_login_nonce,
    start_session,
)
from qrelay.service.problems import ApiError

router = APIRouter(prefix="/ui", include_in_schema=False)

#: The longest token the login form takes (tokens are about 50 characters).
MAX_TOKEN_CHARS = 512


@router.get("")
@router.get("/")
@page
async def index(request: Request) -> Response:
    """The job list for a session, the login page otherwise."""
    await current(request)
    return see_other("/jobs")


def _login_page(request: Request, error: str | None, status_code: int = 200) -> HTMLResponse:
    nonce = login_nonce(request)
    response = render(
        request, "login.html", None, status_code=status_code, error=error, nonce=nonce
    )
    remember_login_nonce(request, response, nonce)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The login form: one field, the user's token."""
    return _login_page(request, None)


@router.post("/login")
@page
async def login(request: Request) -> Response:
    """Check the token as the API would and start a session holding it."""
    form = await read_form(request)
    check_login_nonce(request, form)
    token = form.get("token", "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        return _login_page(request, "token: paste the token an admin gave you", 422)
    rt = runtime(request)
    try:
        await check_token(rt, token)
    except ApiError as exc:
        if exc.status != 401:
            raise
        return _login_page(request, exc.detail, 401)
    response = see_other("/jobs")
    start_session(request, response, token, rt.settings.console_session_hours)
    return response


@router.post("/logout")
@page
async def logout(request: Request) -> Response:
    """End the session (a form with its CSRF token)."""
    session = await current(request)
    await checked_form(request, session)
    response = see_other("/login")
    end_session(response)
    return response
