"""Security basics: caps on bodies and waits, loopback by default, no CORS, audited admins,
and no token in the logs of a request's handling."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from qrelay.cli import build_parser
from qrelay.settings import ServiceSettings

from .conftest import BODY_LIMIT, Served


def _bell() -> dict[str, Any]:
    return {
        "num_qubits": 1,
        "registers": [{"name": "c", "size": 1}],
        "instructions": [{"op": "measure", "qubits": [0], "clbits": [0]}],
    }


def test_defaults_bind_loopback_and_keep_cors_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("QRELAY_HOST", "QRELAY_CORS_ORIGINS"):
        monkeypatch.delenv(key, raising=False)
    settings = ServiceSettings.load()
    assert settings.host == "127.0.0.1"
    assert settings.cors_origins == []
    parser = build_parser()
    assert parser.parse_args(["serve"]).host is None  # falls through to the setting
    assert parser.parse_args(["qpu", "serve"]).host == "127.0.0.1"


def test_no_cors_headers_by_default(served: Served) -> None:
    client = served.client(served.admin_token)
    pre = client.options(
        "/v1/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers
    got = client.get("/v1/me", headers={"Origin": "https://evil.example"})
    assert got.status_code == 200
    assert "access-control-allow-origin" not in got.headers


def test_waits_are_capped(served: Served) -> None:
    token, _ = served.new_user()
    user = served.client(token)
    job_id = user.post(
        "/v1/jobs",
        json={"target": "aer_simulator", "circuits": [_bell()], "shots": 10},
        headers={"Idempotency-Key": "cap"},
    ).json()["job_id"]
    over = user.get(f"/v1/jobs/{job_id}", params={"wait": 61})
    assert over.status_code == 422
    assert "wait" in over.json()["detail"]
    # no worker serves it: a 30 s wait answers at the service's 1 s cap, job still queued
    capped = user.get(f"/v1/jobs/{job_id}", params={"wait": 30}, timeout=20)
    assert capped.status_code == 200
    assert capped.json()["statuses"] == ["awaiting_submission"]
    worker = served.client(served.new_worker(["aer_simulator"]))
    lease = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 600})
    assert lease.status_code == 422
    assert lease.json()["code"] == "validation_error"


def test_a_chunked_body_over_the_limit_is_refused(served: Served) -> None:
    token, _ = served.new_user()
    user = served.client(token)

    def chunks() -> Iterator[bytes]:
        yield b'{"target": "aer_simulator", "metadata": {"pad": "'
        for _ in range(BODY_LIMIT // 4096 + 2):
            yield b"x" * 4096
        yield b'"}}'

    r = user.post(
        "/v1/jobs",
        content=chunks(),
        headers={"Idempotency-Key": "chunked", "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"
    assert user.get("/v1/jobs").json()["jobs"] == []


def test_admin_actions_are_audited_with_the_actor(served: Served) -> None:
    from sqlalchemy import create_engine, select

    from qrelay.service.db.tables import audit, users

    admin = served.client(served.admin_token)
    token, user_id = served.new_user()
    admin.patch(f"/v1/users/{user_id}", json={"balance": 5.0})
    admin.post(f"/v1/users/{user_id}/token")
    served.new_worker(["aer_simulator"])
    engine = create_engine(served.database_url)
    try:
        with engine.connect() as conn:
            admin_ids = {
                i for (i,) in conn.execute(select(users.c.id).where(users.c.role == "admin"))
            }
            rows = conn.execute(
                select(audit.c.action, audit.c.actor_id, audit.c.subject).order_by(audit.c.id)
            ).all()
    finally:
        engine.dispose()
    about = [(a, actor) for a, actor, subject in rows if subject == user_id]
    assert [a for a, _ in about][:3] == ["user.create", "user.update", "user.token"]
    assert all(actor in admin_ids for _, actor in about)
    assert any(a == "worker.create" and actor in admin_ids for a, actor, _ in rows)
    assert token not in repr(rows)


def test_tokens_never_reach_the_logs(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    token, _ = served.new_user()
    worker_token = served.new_worker(["aer_simulator"])
    bogus = "qru_" + "S3cr3t" * 6
    with caplog.at_level(logging.DEBUG):
        user = served.client(token)
        user.post(
            "/v1/jobs",
            json={"target": "aer_simulator", "circuits": [_bell()], "shots": 5},
            headers={"Idempotency-Key": "log"},
        )
        served.client(bogus).get("/v1/me")
        served.client(worker_token).get("/v1/jobs")
        served.client(worker_token).post(
            "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}
        )
        served.client(served.admin_token).get("/v1/users")
    text = caplog.text
    assert caplog.records  # the run did log
    for secret in (token, worker_token, bogus, served.admin_token):
        assert secret not in text
