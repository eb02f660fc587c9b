"""The real service for worker tests: the app on a SQLite file, served on loopback.

Skipped when the service is not installed. Each test module gets its own database, an
admin (user) token and a worker token for the catalog targets it uses.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

WORKER_TARGETS = ["aer_simulator", "cirq_simulator", "square_qpu", "heavyhex_qpu", "ion_qpu"]


@dataclass
class Service:
    url: str
    token: str
    worker_token: str
    database_url: str
    http: httpx.Client

    def submit(self, job: dict[str, Any]) -> str:
        response = self.http.post(
            "/v1/jobs", json=job, headers={"Idempotency-Key": secrets.token_hex(8)}
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["job_id"])

    def job(self, job_id: str, *, wait: float = 0.0) -> dict[str, Any]:
        params: dict[str, Any] = {"include": "readout"}
        if wait:
            params["wait"] = wait
        response = self.http.get(f"/v1/jobs/{job_id}", params=params, timeout=wait + 30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def statuses(self, job_id: str) -> list[str]:
        data = self.job(job_id)
        return [str(s) for s in data.get("statuses") or [data.get("status")]]

    def wait_for(self, job_id: str, states: set[str], bound: float = 60.0) -> dict[str, Any]:
        """Poll until every circuit of the job is in ``states`` (bounded, not timed)."""
        deadline = time.monotonic() + bound
        while True:
            data = self.job(job_id, wait=1.0)
            found = circuit_states(data)
            if found and set(found) <= states:
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} stayed in {found}")
            time.sleep(0.05)


def circuit_states(data: dict[str, Any]) -> list[str]:
    """The per-circuit states of a ``JobData`` document."""
    statuses = data.get("statuses")
    if isinstance(statuses, list) and statuses:
        return [str(s) for s in statuses]
    return [str(data.get("status"))]


@contextlib.contextmanager
def _started_service(home: Path) -> Iterator[Service]:
    """A service on its own SQLite file under ``home``, on a loopback server."""
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    from qrelay.service import bootstrap
    from qrelay.service.app import create_app
    from qrelay.service.loopback import serve_loopback
    from qrelay.settings import ServiceSettings

    settings = ServiceSettings(home=home, lease_seconds=3.0)
    database_url = settings.resolved_database_url()
    token = "qr_" + secrets.token_urlsafe(24)
    bootstrap.ensure_admin(database_url, token)
    worker_token = bootstrap.create_worker_token(
        database_url, name="worker-tests", targets=WORKER_TARGETS
    )
    app = create_app(settings.model_copy(update={"database_url": database_url}))
    server = serve_loopback(app)  # the embedded service's own loopback server, in a thread
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0
    )
    try:
        yield Service(server.url, token, worker_token, database_url, http)
    finally:
        http.close()
        server.stop(timeout=5)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with _started_service(tmp_path_factory.mktemp("worker-service")) as started:
        yield started


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[Service]:
    """A service of the test's own: no task an earlier test left queued or leased (whose
    lease may lapse mid-test) can reach the test's workers."""
    with _started_service(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def fleet() -> Iterator[str]:
    """A QPU controller on an ephemeral loopback port; yields its address."""
    from qrelay.qpu.server import start_server

    handle = start_server(host="127.0.0.1", port=0)
    try:
        yield str(handle.address)
    finally:
        handle.stop(grace=0.5)
