"""The console's session: a token in an HttpOnly, SameSite=Strict cookie, and CSRF tokens.

Logging in checks the token exactly as the API checks a bearer token
(:func:`qrelay.service.api.deps.principal_of`: the same lookup, cache and rate limit), and
every later request checks the cookie's token the same way, so a revoked or rotated
token, or a deactivated user, ends the session at once. Nothing is kept on the server:
the session works across replicas and restarts.

Each form carries a CSRF token derived from the session's token with HMAC-SHA256, which a
page of another origin can neither read nor compute; the login form, before any session
exists, uses a random double-submit cookie instead. Both are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import Request, Response

from qrelay.service.api.deps import principal_of, runtime
from qrelay.service.auth import UserPrincipal
from qrelay.service.problems import ApiError

if TYPE_CHECKING:
    from qrelay.service.app import ServiceRuntime

#: Where the console lives, and the only path its cookies are sent to.
ROOT = "/ui"
SESSION_COOKIE = "qrelay_session"
LOGIN_COOKIE = "qrelay_login"
#: The largest form body the console reads (its forms hold a few short fields).
MAX_FORM_BYTES = 16 * 1024
_CSRF_MESSAGE = b"qrelay console csrf v1"


class LoginNeededError(Exception):
    """The request has no valid session: the console answers with the login page."""


@dataclass(frozen=True, slots=True)
class Session:
    """Who a console request acts for, and the CSRF token its forms carry."""

    principal: UserPrincipal
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin


def csrf_for(token: str) -> str:
    """The CSRF token of the session holding ``token``."""
    return hmac.new(token.encode("utf-8"), _CSRF_MESSAGE, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


async def check_token(rt: ServiceRuntime, token: str) -> UserPrincipal:
    """The user holding ``token``; 401 for no such token or a worker's."""
    found = await principal_of(rt, token)
    if not isinstance(found, UserPrincipal):
        raise ApiError(401, "unauthenticated", "token: a worker token cannot log in")
    return found


async def current(request: Request) -> Session:
    """The request's session; :class:`LoginNeededError` when it has none that is valid."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginNeededError
    try:
        principal = await check_token(runtime(request), token)
    except ApiError as exc:
        if exc.status == 401:
            raise LoginNeededError from None
        raise
    return Session(principal, csrf_for(token))


async def read_form(request: Request) -> dict[str, str]:
    """The request's urlencoded form (the first value of each field; an empty body is an
    empty form), bounded in size."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and kind != "application/x-www-form-urlencoded":
        raise ApiError(415, "unsupported_media_type", "body: expected a form (urlencoded)")
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "too_large", f"body: a console form holds at most {MAX_FORM_BYTES} B")
    form: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The form of a state-changing request, refused (403) without the session's CSRF token."""
    form = await read_form(request)
    if not same(form.get("csrf", ""), session.csrf):
        raise ApiError(403, "csrf_failed", "csrf: the form's CSRF token is missing or wrong")
    return form


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str, hours: float) -> None:
    """Set the session cookie (and drop the login form's)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(hours * 3600),
        path=ROOT,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=ROOT)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=ROOT)


def login_nonce(request: Request) -> str:
    """The login form's CSRF token: the one its cookie holds, or a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def remember_login_nonce(request: Request, response: Response, nonce: str) -> None:
    """Set the login form's cookie to ``nonce``."""
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path=ROOT,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def check_login_nonce(request: Request, form: dict[str, str]) -> None:
    """Refuse (403) a login form whose CSRF token is not its cookie's."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not same(form.get("csrf", ""), nonce):
        raise ApiError(403, "csrf_failed", "csrf: the form's CSRF token is missing or wrong")
