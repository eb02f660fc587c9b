"""RFC 9457 problem documents: every error the API gives has a stable ``code``.

Routes raise :class:`ApiError` (or one of qrelay's own errors, which map by class); the
handlers installed by :func:`install` turn them, FastAPI's validation errors and
anything unexpected into ``application/problem+json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qrelay.errors import ServiceError
from qrelay.errors import ValidationError as QRelayValidationError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://qrelay.dev/problems/"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: HTTP status, stable code and a message that says what to fix."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        retry_after: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        self.extra = extra or {}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    retry_after: float | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        body.update(extra)
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def pydantic_errors(
    exc: PydanticValidationError | RequestValidationError, prefix: str = ""
) -> ApiError:
    """A 422 naming each field at fault (``circuits.0.instructions.3.qubits: ...``)."""
    errors = exc.errors()
    parts = []
    for err in errors[:20]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        parts.append(f"{prefix}{loc}: {message}" if loc else message)
    detail = "; ".join(parts) or "invalid request"
    fields = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in errors[:20]
    ]
    return ApiError(422, "validation_error", detail, extra={"errors": fields})


def _from_api(exc: ApiError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.detail, retry_after=exc.retry_after, extra=exc.extra)


def _from_pydantic(exc: RequestValidationError | PydanticValidationError) -> JSONResponse:
    err = pydantic_errors(exc)
    return problem(err.status, err.code, err.detail, extra=err.extra)


def _from_ours(exc: QRelayValidationError) -> JSONResponse:
    return problem(422, "validation_error", str(exc))


def _from_service(exc: ServiceError) -> JSONResponse:
    return problem(exc.status, exc.code, str(exc), retry_after=exc.retry_after)


def _from_http(exc: StarletteHTTPException) -> JSONResponse:
    return problem(exc.status_code, _DEFAULT_CODES.get(exc.status_code, "error"), str(exc.detail))


def _from_db(exc: OperationalError) -> JSONResponse:
    log.warning("database unavailable: %s", exc.orig)
    return problem(503, "unavailable", "the database is unavailable; try again", retry_after=1)


def _from_unexpected(exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return problem(500, "internal", "internal error")


#: How each kind of exception becomes an answer; the most specific class in an
#: exception's MRO wins, as in Starlette's own handler lookup.
_HANDLERS: dict[type[Exception], Callable[[Any], JSONResponse]] = {
    ApiError: _from_api,
    RequestValidationError: _from_pydantic,
    PydanticValidationError: _from_pydantic,
    QRelayValidationError: _from_ours,
    ServiceError: _from_service,
    StarletteHTTPException: _from_http,
    OperationalError: _from_db,
    Exception: _from_unexpected,
}


def as_problem(exc: Exception) -> JSONResponse:
    """The problem+json answer for an error raised while serving a request.

    The app's handlers answer with it, and the in-process path (:mod:`qrelay.service.local`)
    turns the same answer into the client's exception, so both report an error alike.
    """
    for cls in type(exc).__mro__:
        handler = _HANDLERS.get(cls)
        if handler is not None:
            return handler(exc)
    return _from_unexpected(exc)  # pragma: no cover - Exception is in every MRO


def install(app: FastAPI) -> None:
    """Install the handlers that turn every error into problem+json."""

    async def _handle(_request: Request, exc: Exception) -> JSONResponse:
        return as_problem(exc)

    for cls in _HANDLERS:
        app.add_exception_handler(cls, _handle)
