"""Schemathesis against the service's own OpenAPI document: no input may cause a 5xx.

Bounded: a few dozen generated requests per operation, in process over ASGI, on a fresh
SQLite file. An admin token for user and admin routes, a worker token for worker routes.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("schemathesis")

import schemathesis
from hypothesis import HealthCheck, settings

from qrelay.service.app import create_app
from qrelay.settings import ServiceSettings

from .conftest import catalog

_HOME = Path(__import__("tempfile").mkdtemp(prefix="qrelay-fuzz-"))
ADMIN = "adm_" + secrets.token_urlsafe(16)
APP = create_app(
    ServiceSettings(
        database_url=f"sqlite:///{_HOME / 'fuzz.db'}",
        admin_token=ADMIN,
        targets_file=catalog(_HOME / "targets.json"),
        max_wait_seconds=0.2,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
_WORKER: dict[str, str] = {}


def _worker_token() -> str:
    if not _WORKER:
        from qrelay.service import bootstrap

        _WORKER["token"] = bootstrap.create_worker_token(
            f"sqlite:///{_HOME / 'fuzz.db'}", name="fuzz", targets=["aer_simulator"]
        )
    return _WORKER["token"]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_a_5xx(case: Any) -> None:
    token = _worker_token() if case.path.startswith("/v1/worker") else ADMIN
    headers = {"Authorization": f"Bearer {token}"}
    if case.method.upper() == "POST" and case.path == "/v1/jobs":
        headers["Idempotency-Key"] = secrets.token_hex(8)
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        case.method,
        case.path,
        case.body if hasattr(case, "body") else None,
        response.status_code,
        response.text[:500],
    )
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0].startswith("application/problem+json"), response.text[:300]
