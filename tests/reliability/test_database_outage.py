"""PostgreSQL goes away under the service: 503 + Retry-After, then recovery without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from tests.service.support import database

from .circuits import bell
from .procs import Stack, submit, wait_until
from .proxy import TcpProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[Stack, TcpProxy]]:
    with database("postgres", tmp_path) as url:
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        through = parsed.set(host="127.0.0.1", port=proxy.port)
        stack = Stack(home=tmp_path, database_url=through.render_as_string(hide_password=False))
        try:
            yield stack, proxy
        finally:
            stack.close()
            proxy.close()


def _refused_cleanly(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unavailable"


@pytest.mark.slow
def test_requests_fail_with_503_while_the_database_is_down_and_recover(
    proxied: tuple[Stack, TcpProxy],
) -> None:
    stack, proxy = proxied
    stack.start_service()
    user = stack.client(stack.new_user())
    before = submit(user, {"target": "aer_simulator", "circuits": [bell()], "shots": 10})

    proxy.cut()
    job = {"target": "aer_simulator", "circuits": [bell()], "shots": 10}
    tried = 0
    for _ in range(3):  # the first calls find pooled connections dead, later ones cannot connect
        _refused_cleanly(user.get(f"/v1/jobs/{before}"))
        _refused_cleanly(user.post("/v1/jobs", json=job, headers={"Idempotency-Key": "down"}))
        _refused_cleanly(user.get("/v1/jobs"))
        _refused_cleanly(httpx.get(stack.url + "/readyz"))
        tried += 4
    assert httpx.get(stack.url + "/healthz").status_code == 200  # the process is up

    proxy.restore()
    wait_until(lambda: user.get(f"/v1/jobs/{before}").status_code == 200, 30, "recovery")
    after = submit(user, job, key="down")  # the key refused while down is free: one job
    listed = {j["job_id"] for j in user.get("/v1/jobs").json()["jobs"]}
    assert listed == {before, after}
    assert httpx.get(stack.url + "/readyz").status_code == 200
    assert stack.service is not None
    assert stack.service.alive()
    assert tried == 12
