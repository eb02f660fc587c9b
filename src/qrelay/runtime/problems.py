"""Turn the service's RFC 9457 problem documents into qrelay's exception tree.

The service answers every error as ``application/problem+json`` with a stable ``code``;
each HTTP status maps to one :class:`~qrelay.errors.ServiceError` subclass so callers can
catch what they care about (``except NotFoundError``) without parsing messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from qrelay.errors import (
    AuthenticationError,
    ConflictError,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceError,
    ValidationError,
)
from qrelay.runtime.retry import retry_after_from

#: The error class of each status; others become a plain :class:`ServiceError`.
STATUS_ERRORS: Final[dict[int, type[ServiceError]]] = {
    401: AuthenticationError,
    402: InsufficientBalanceError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
    503: RateLimitedError,
}

_DEFAULT_CODES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "unauthenticated",
    402: "insufficient_balance",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class ServiceValidationError(ServiceError, ValidationError):
    """422: the service refused the request's content; the message names the field.

    It is both a :class:`ServiceError` (the service said so) and a
    :class:`~qrelay.errors.ValidationError` (bad input), so either ``except`` catches it.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        ServiceError.__init__(self, message, **kwargs)
        self.location = ()


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ServiceError:
    """The exception for an error answer, from its status, headers and body.

    A body that is not a problem document (a proxy's HTML page, say) still gives an error
    of the right class, with the start of the body as its message.
    """
    problem: dict[str, Any] = {}
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            problem = parsed
    code = str(problem.get("code") or _DEFAULT_CODES.get(status, f"http_{status}"))
    title = problem.get("title")
    detail = problem.get("detail")
    if isinstance(detail, str) and detail:
        text = detail if not title else f"{title}: {detail}"
    elif title:
        text = str(title)
    else:
        snippet = body[:200].decode("utf-8", "replace").strip() if body else ""
        text = snippet or f"HTTP {status}"
    message = f"{text} (HTTP {status}, code {code})"
    cls: type[ServiceError]
    if status == 422 or code in {"validation_error", "idempotency_mismatch"}:
        cls = ServiceValidationError
    else:
        cls = STATUS_ERRORS.get(status, ServiceError)
    return cls(
        message,
        status=status,
        code=code,
        detail=problem or None,
        retry_after=retry_after_from(headers),
    )
