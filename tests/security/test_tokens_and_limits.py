"""Per-token rate limits, token revocation, rotation and expiry, and the ``/docs`` page.

Each test runs the real app under uvicorn on loopback over its own SQLite file, with the
settings it attacks.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.reliability.procs import wait_until

from qrelay.errors import ConfigurationError

from .conftest import catalog


@contextmanager
def serving(tmp: Path, database: str | None = None, **settings: Any) -> Iterator[str]:
    """The app under uvicorn on a free loopback port; yields its URL."""
    import uvicorn

    from qrelay.service.app import create_app
    from qrelay.settings import ServiceSettings

    app = create_app(
        ServiceSettings(
            database_url=database or f"sqlite:///{tmp / 'qrelay.db'}",
            admin_token=ADMIN,
            targets_file=catalog(tmp / "targets.json"),
            max_wait_seconds=1.0,
            **settings,
        )
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the service did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


ADMIN = "adm_" + secrets.token_urlsafe(16)


def _client(url: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def _new_user(url: str) -> dict[str, Any]:
    with _client(url, ADMIN) as admin:
        r = admin.post(
            "/v1/users",
            json={"name": "U", "email": f"u{uuid.uuid4().hex[:10]}@example.org", "balance": 10},
        )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


def _new_worker(url: str) -> dict[str, Any]:
    with _client(url, ADMIN) as admin:
        r = admin.post("/v1/workers", json={"name": "w", "targets": ["aer_simulator"]})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


def _lease(url: str, token: str) -> int:
    with _client(url, token) as c:
        r = c.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0})
    return r.status_code


# ---------------------------------------------------------------- rate limits


def test_a_token_over_its_limit_gets_429_with_retry_after(tmp_path: Path) -> None:
    with serving(tmp_path, rate_limit_user="5/minute") as url:
        flooder, other = _new_user(url)["token"], _new_user(url)["token"]
        with _client(url, flooder) as c:
            codes = [c.get("/v1/jobs").status_code for _ in range(5)]
            assert codes == [200] * 5
            r = c.get("/v1/jobs")
        assert r.status_code == 429
        problem = r.json()
        assert problem["code"] == "rate_limited"
        assert "5 per 1 minute" in problem["detail"]
        assert "user" in problem["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # Another user's token, and the admin's (a role with its own limit), still pass.
        with _client(url, other) as c:
            assert c.get("/v1/jobs").status_code == 200
        with _client(url, ADMIN) as c:
            assert c.get("/v1/users").status_code == 200


def test_in_process_counts_refuse_past_the_limit_and_start_no_thread() -> None:
    """Counted in this process, a window refuses the hit past its limit (saying when it
    ends) and counts another key apart, and counting starts no thread of its own."""
    import asyncio

    from qrelay.service.auth import WorkerPrincipal
    from qrelay.service.problems import ApiError
    from qrelay.service.ratelimit import RateLimits
    from qrelay.settings import ServiceSettings

    limits = RateLimits.from_settings(ServiceSettings(rate_limit_worker="3/minute"))
    busy, other = (WorkerPrincipal(w, w, frozenset()) for w in ("w1", "w2"))
    before = set(threading.enumerate())

    async def hits() -> ApiError:
        for _ in range(3):
            await limits.check(busy)
        await limits.check(other)
        with pytest.raises(ApiError) as refused:
            await limits.check(busy)
        return refused.value

    refused = asyncio.run(hits())
    assert refused.status == 429
    assert refused.retry_after is not None
    assert 1 <= refused.retry_after <= 60
    # no thread was started (threads of earlier tests may end meanwhile: not counted)
    assert set(threading.enumerate()) - before == set()


def test_default_limits_leave_a_worker_loop_alone(tmp_path: Path) -> None:
    """A worker polling for work and heartbeating as fast as it can is not refused."""
    with serving(tmp_path) as url:
        token = _new_worker(url)["token"]
        with _client(url, token) as c:
            codes = {
                c.post(
                    "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}
                ).status_code
                for _ in range(300)
            }
        assert codes == {204}


def test_a_limit_that_cannot_be_read_is_refused_naming_the_setting(tmp_path: Path) -> None:
    from qrelay.service.app import create_app
    from qrelay.settings import ServiceSettings

    settings = ServiceSettings(
        database_url=f"sqlite:///{tmp_path / 'qrelay.db'}", rate_limit_worker="as many as it likes"
    )
    with pytest.raises(ConfigurationError, match="rate_limit_worker"):
        create_app(settings)


# ---------------------------------------------------------------- token lifecycle


def test_a_worker_token_can_be_rotated_and_revoked(tmp_path: Path) -> None:
    with serving(tmp_path) as url:
        made = _new_worker(url)
        assert made["token_expires_at"] is None
        assert _lease(url, made["token"]) == 204
        with _client(url, ADMIN) as admin:
            r = admin.post(f"/v1/workers/{made['worker_id']}/token")
            assert r.status_code == 200, r.text
            assert r.headers["cache-control"] == "no-store"
            rotated = r.json()
            assert rotated["worker_id"] == made["worker_id"]
            assert rotated["targets"] == ["aer_simulator"]
            assert rotated["token"] != made["token"]
            assert _lease(url, made["token"]) == 401
            assert _lease(url, rotated["token"]) == 204

            assert admin.delete(f"/v1/workers/{made['worker_id']}/token").status_code == 204
            assert _lease(url, rotated["token"]) == 401
            # A revoked worker serves again only with a new token.
            again = admin.post(f"/v1/workers/{made['worker_id']}/token").json()
            assert _lease(url, again["token"]) == 204
            assert _lease(url, rotated["token"]) == 401

            missing = admin.delete("/v1/workers/nope/token")
            assert missing.status_code == 404
            assert "worker_id" in missing.json()["detail"]
            # Only admins may do any of it.
            with _client(url, again["token"]) as worker:
                assert worker.delete(f"/v1/workers/{made['worker_id']}/token").status_code == 403
            assert _lease(url, again["token"]) == 204


def test_a_user_token_can_be_revoked_and_replaced(tmp_path: Path) -> None:
    with serving(tmp_path) as url:
        user = _new_user(url)
        with _client(url, user["token"]) as c:
            assert c.get("/v1/jobs").status_code == 200
            with _client(url, ADMIN) as admin:
                assert admin.delete(f"/v1/users/{user['user_id']}/token").status_code == 204
                assert c.get("/v1/jobs").status_code == 401
                r = admin.post(f"/v1/users/{user['user_id']}/token")
                assert r.headers["cache-control"] == "no-store"
            with _client(url, r.json()["token"]) as fresh:
                assert fresh.get("/v1/jobs").status_code == 200
            assert c.get("/v1/jobs").status_code == 401


def test_tokens_expire_when_the_settings_say(tmp_path: Path) -> None:
    """With a lifetime set, user and worker tokens carry their expiry and stop working
    after it (a 401); the admin's own token has none."""
    lifetime = 3 / 86400  # three seconds, in days
    with serving(
        tmp_path, user_token_days=lifetime, worker_token_days=lifetime, auth_cache_seconds=0
    ) as url:
        user, worker = _new_user(url), _new_worker(url)
        for made in (user, worker):
            assert made["token_expires_at"] is not None
        with _client(url, user["token"]) as c:
            assert c.get("/v1/jobs").status_code == 200
            assert _lease(url, worker["token"]) == 204
            wait_until(lambda: c.get("/v1/jobs").status_code == 401, 20, "the user token to expire")
            assert c.get("/v1/jobs").json()["code"] == "unauthenticated"
        wait_until(lambda: _lease(url, worker["token"]) == 401, 20, "the worker token to expire")
        with _client(url, ADMIN) as admin:
            assert admin.get("/v1/users").status_code == 200


def test_a_revocation_reaches_another_replica_within_the_cache_lifetime(tmp_path: Path) -> None:
    """Two replicas share a database; a worker token revoked through one stops working on
    the other, which had it cached, within ``auth_cache_seconds``."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        serving(tmp_path / "a", database, auth_cache_seconds=1) as a,
        serving(tmp_path / "b", database, auth_cache_seconds=1) as b,
    ):
        worker = _new_worker(a)
        assert _lease(b, worker["token"]) == 204  # now cached on b
        with _client(a, ADMIN) as admin:
            assert admin.delete(f"/v1/workers/{worker['worker_id']}/token").status_code == 204
        assert _lease(a, worker["token"]) == 401  # at once on the replica that revoked it
        wait_until(lambda: _lease(b, worker["token"]) == 401, 10, "the other replica", 0.1)


# ---------------------------------------------------------------- docs


def test_docs_page_loads_its_assets_from_the_service(tmp_path: Path) -> None:
    with serving(tmp_path) as url, _client(url) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assert not re.search(r"https?://", page.text), "the page refers to another host"
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert any(a.endswith(".js") for a in assets)
        assert any(a.endswith(".css") for a in assets)
        for asset in assets:
            r = c.get(asset)
            assert r.status_code == 200, asset
            assert len(r.content) > 100
        assert c.get("/openapi.json").json()["info"]["title"] == "qrelay job service"


def test_docs_and_openapi_can_be_turned_off(tmp_path: Path) -> None:
    with serving(tmp_path, docs_enabled=False) as url, _client(url) as c:
        for path in ("/docs", "/openapi.json", "/redoc", "/docs/static/swagger-ui.css"):
            assert c.get(path).status_code == 404, path
        assert c.get("/healthz").status_code == 200


# ---------------------------------------------------------------- large bodies


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b'{"target": ' + b"[" * 5000 + b"]" * 5000 + b"}", "recursion limit"),
        (b'{"target": "\\ud800", "circuits": []}', "hex escape"),
        (b'{"target": "\xff\xfe"}', "line 1"),
        (b"[1, 2, 3]", "an object"),
        (b'{"target": "aer_simulator", "circuits": [], "shots": 1', "EOF"),
        (b'{"target": "aer_simulator", "shots": "many", "circuits": []}', "shots"),
    ],
    ids=["deep", "lone-surrogate", "not-utf8", "not-an-object", "cut-short", "bad-field"],
)
def test_a_large_bad_body_is_refused_as_a_small_one_is(
    tmp_path: Path, body: bytes, names: str
) -> None:
    """Bodies over ``parse_in_thread_bytes`` take the threaded parser; what it refuses
    gets the same 422 ``validation_error`` naming the fault, and nothing is stored."""
    with serving(tmp_path, parse_in_thread_bytes=1024) as url:
        user = _new_user(url)
        with _client(url, user["token"]) as c:
            for padded in (body, body + b" " * 4096):
                r = c.post(
                    "/v1/jobs",
                    content=padded,
                    headers={
                        "Idempotency-Key": uuid.uuid4().hex,
                        "Content-Type": "application/json",
                    },
                )
                assert r.status_code == 422, r.text
                assert r.json()["code"] == "validation_error"
                assert names in r.text
            assert c.get("/v1/jobs").json()["jobs"] == []
