"""A real service for the tests: the app under uvicorn in a thread, on a real database."""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, insert

from qrelay.payload import Readout
from qrelay.service.app import create_app
from qrelay.service.db.engine import run, run_many
from qrelay.service.db.tables import jobs, tasks, users
from qrelay.settings import ServiceSettings

POSTGRES_ENV = "QRELAY_TEST_POSTGRES_URL"


def bell(shots: int = 100, *, registers: int = 1) -> dict[str, Any]:
    """A small payload circuit as JSON."""
    regs = [{"name": f"c{i}" if i else "c", "size": 2} for i in range(registers)]
    insts: list[dict[str, Any]] = [{"op": "h", "qubits": [0]}, {"op": "cx", "qubits": [0, 1]}]
    insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(2)]
    return {"num_qubits": 2, "registers": regs, "instructions": insts}


def new_job(circuits: int = 1, shots: int = 100, **extra: Any) -> dict[str, Any]:
    return {
        "target": "aer_simulator",
        "circuits": [bell() for _ in range(circuits)],
        "shots": shots,
    } | extra


def readout(shots: int, width: int = 2, name: str = "c") -> dict[str, Any]:
    bits = np.zeros((shots, width), dtype=np.uint8)
    bits[::2] = 1
    return Readout.from_arrays({name: bits}).model_dump(mode="json")


def completed(lease_id: str, shots: int, rows: int = 1) -> dict[str, Any]:
    return {
        "lease_id": lease_id,
        "status": "completed",
        "successful_shots": shots,
        "readouts": [readout(shots) for _ in range(rows)],
    }


@dataclass
class Live:
    """A running service and tokens to reach it."""

    url: str
    admin_token: str
    database_url: str
    server: Any = None
    thread: threading.Thread | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=60.0)
        self.clients.append(c)
        return c

    @property
    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    def user(self, balance: float = 1000.0, role: str = "user") -> httpx.Client:
        email = f"u{uuid.uuid4().hex[:10]}@example.org"
        r = self.admin.post(
            "/v1/users", json={"name": "Test", "email": email, "balance": balance, "role": role}
        )
        assert r.status_code == 201, r.text
        return self.client(r.json()["token"])

    def worker(self, targets: list[str] | None = None) -> httpx.Client:
        r = self.admin.post(
            "/v1/workers", json={"name": "w", "targets": targets or ["aer_simulator"]}
        )
        assert r.status_code == 201, r.text
        return self.client(r.json()["token"])

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.clients.clear()
        if self.server is not None:
            self.server.should_exit = True
            self.server.force_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


def start(database_url: str, admin_token: str | None = None, **settings: Any) -> Live:
    """Start the app under uvicorn on an ephemeral loopback port."""
    import uvicorn

    token = admin_token or "adm_" + secrets.token_urlsafe(16)
    app = create_app(ServiceSettings(database_url=database_url, admin_token=token, **settings))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "the service did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    return Live(
        url=f"http://127.0.0.1:{port}",
        admin_token=token,
        database_url=database_url,
        server=server,
        thread=thread,
    )


@contextlib.contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new schema on the test PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'service.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        import pytest

        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server for this run")
    # One schema helper serves the tests and the benchmarks; it needs only SQLAlchemy.
    from benchmarks.peers.service import postgres_schema

    with postgres_schema(base, "t_") as url:
        yield url


def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy (bounded)."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(step)


#: A parsed Prometheus scrape: each sample's value by its name and its sorted labels.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, parsed with ``prometheus_client``'s own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when the scrape has none)."""
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_until(
    read: Callable[[], Samples], name: str, expected: float, **labels: str
) -> Samples | None:
    """The first scrape ``read`` returns in which ``name`` reads ``expected``, or None
    after ten seconds. The service counts a change right after its commit, and some
    gauges are read every few seconds: a scrape taken as soon as a job has ended may
    come a moment early."""
    found: Samples | None = wait_for(
        lambda: scrape if value(scrape := read(), name, **labels) == expected else None
    )
    return found


#: When :func:`stored_history`'s jobs were submitted and updated.
_HISTORY_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def stored_history(conn: Connection, count: int, status: str) -> list[str]:
    """``count`` one-circuit jobs of a new user on ``aer_simulator``, their tasks in
    ``status``; the jobs' ids."""
    uid, ids = uuid.uuid4().hex, [uuid.uuid4().hex for _ in range(count)]
    run(
        conn,
        insert(users),
        {
            "id": uid,
            "name": "n",
            "email": f"{uid}@example.org",
            "role": "user",
            "balance": 1.0,
            "active": True,
            "token_hash": None,
            "created_at": _HISTORY_AT,
        },
    )
    job = {
        "user_id": uid,
        "job_type": "simulate",
        "target": "aer_simulator",
        "circuit_type": "payload",
        "num_circuits": 1,
        "shots": 10,
        "sim_method": None,
        "priority": 0,
        "tags": "",
        "job_metadata": None,
        "verbatim": False,
        "memory": False,
        "meas_level": 2,
        "options": None,
        "cost": 0.0,
        "charged": True,
        "deleted": False,
        "request_hash": "h",
        "response": "{}",
        "submitted_at": _HISTORY_AT,
        "updated_at": _HISTORY_AT,
    }
    run_many(
        conn,
        insert(jobs),
        [job | {"id": jid, "status": status, "idempotency_key": jid} for jid in ids],
    )
    task = {
        "circuit_index": 0,
        "target": "aer_simulator",
        "priority": 0,
        "status": status,
        "queue_status": "awaiting_simulation",
        "circuit": "{}",
        "bindings": None,
        "num_rows": 1,
        "shots": 10,
        "attempt": 0,
        "max_attempts": 3,
        "cancel_requested": False,
        "updated_at": _HISTORY_AT,
    }
    run_many(conn, insert(tasks), [task | {"job_id": jid} for jid in ids])
    return ids
