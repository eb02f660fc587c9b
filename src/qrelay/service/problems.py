"""RFC 9457 problem documents: every error the API gives has a stable ``code``.

Routes raise :class:`ApiError` (or one of qrelay's own errors, which map by class); the
handlers installed by :func:`install` turn them, FastAPI's validation errors and
anything unexpected into ``application/problem+json``.
"""

from __future__ import annotations

import logging
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


def install(app: FastAPI) -> None:
    """Install the handlers that turn every error into problem+json."""

    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError) -> JSONResponse:
        return problem(
            exc.status, exc.code, exc.detail, retry_after=exc.retry_after, extra=exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        err = pydantic_errors(exc)
        return problem(err.status, err.code, err.detail, extra=err.extra)

    @app.exception_handler(PydanticValidationError)
    async def _pydantic(_request: Request, exc: PydanticValidationError) -> JSONResponse:
        err = pydantic_errors(exc)
        return problem(err.status, err.code, err.detail, extra=err.extra)

    @app.exception_handler(QRelayValidationError)
    async def _ours(_request: Request, exc: QRelayValidationError) -> JSONResponse:
        return problem(422, "validation_error", str(exc))

    @app.exception_handler(ServiceError)
    async def _service(_request: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.code, str(exc), retry_after=exc.retry_after)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _DEFAULT_CODES.get(exc.status_code, "error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(OperationalError)
    async def _db(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return problem(503, "unavailable", "the database is unavailable; try again", retry_after=1)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return problem(500, "internal", "internal error")
