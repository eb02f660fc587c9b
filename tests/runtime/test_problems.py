"""Problem documents become the matching ServiceError subclass, with code and Retry-After."""

from __future__ import annotations

import json

import pytest

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
from qrelay.runtime.problems import error_from_response


def _problem(status: int, code: str, detail: str = "it went wrong") -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Problem",
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "unauthenticated", AuthenticationError),
        (402, "insufficient_balance", InsufficientBalanceError),
        (403, "forbidden", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (429, "rate_limited", RateLimitedError),
        (503, "unavailable", RateLimitedError),
        (500, "internal", ServiceError),
    ],
)
def test_status_maps_to_class(status: int, code: str, cls: type[ServiceError]) -> None:
    error = error_from_response(status, {"retry-after": "2"}, _problem(status, code))
    assert type(error) is cls
    assert error.status == status
    assert error.code == code
    assert error.retry_after == 2.0
    assert "it went wrong" in str(error)


def test_validation_problem_is_also_a_validation_error() -> None:
    body = _problem(422, "validation_error", "shots: must be at least 1")
    error = error_from_response(422, {}, body)
    assert isinstance(error, ServiceError)
    assert isinstance(error, ValidationError)
    assert "shots" in str(error)
    assert error.detail is not None
    assert error.detail["code"] == "validation_error"


def test_non_problem_body_still_maps() -> None:
    error = error_from_response(502, {}, b"<html>bad gateway</html>")
    assert type(error) is ServiceError
    assert error.code == "http_502"
    assert "bad gateway" in str(error)
    empty = error_from_response(404, {}, b"")
    assert isinstance(empty, NotFoundError)
    assert empty.code == "not_found"
