"""A real service for the security suite: the app under uvicorn on loopback, on SQLite.

Limits are set low so they are cheap to hit: a 64 KiB body limit and a 1 s long-poll cap.
``aer_simulator`` has a price, so balances matter.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

BODY_LIMIT = 64 * 1024
PRICE = 0.001


@dataclass
class Served:
    url: str
    admin_token: str
    database_url: str
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=30.0)
        self.clients.append(c)
        return c

    def new_user(self, balance: float = 100.0, role: str = "user") -> tuple[str, str]:
        """A fresh user: (token, user id)."""
        r = self.client(self.admin_token).post(
            "/v1/users",
            json={
                "name": "Sec",
                "email": f"s{uuid.uuid4().hex[:10]}@example.org",
                "balance": balance,
                "role": role,
            },
        )
        assert r.status_code == 201, r.text
        body = r.json()
        return str(body["token"]), str(body["user_id"])

    def new_worker(self, targets: list[str]) -> str:
        r = self.client(self.admin_token).post(
            "/v1/workers", json={"name": "sec-worker", "targets": targets}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def count_jobs(self) -> int:
        from sqlalchemy import create_engine, func, select

        from qrelay.service.db.tables import jobs

        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())
        finally:
            engine.dispose()


def catalog(path: Path) -> Path:
    path.write_text(
        json.dumps(
            [
                {
                    "name": "aer_simulator",
                    "driver": "aer",
                    "simulator": True,
                    "num_qubits": 8,
                    "price_per_shot": PRICE,
                },
                {"name": "cirq_simulator", "driver": "cirq", "simulator": True, "num_qubits": 8},
            ]
        )
    )
    return path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from qrelay.service.app import create_app
    from qrelay.settings import ServiceSettings

    tmp = tmp_path_factory.mktemp("security")
    token = "adm_" + secrets.token_urlsafe(16)
    url = f"sqlite:///{tmp / 'qrelay.db'}"
    app = create_app(
        ServiceSettings(
            database_url=url,
            admin_token=token,
            targets_file=catalog(tmp / "targets.json"),
            max_body_bytes=BODY_LIMIT,
            max_wait_seconds=1.0,
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
    s = Served(f"http://127.0.0.1:{port}", token, url)
    try:
        yield s
    finally:
        for c in s.clients:
            c.close()
        server.should_exit = True
        thread.join(timeout=10)
