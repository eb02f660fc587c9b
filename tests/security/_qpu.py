"""Helpers of the QPU controller attacks: programs, certificates, a service per deployment."""

from __future__ import annotations

import math
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from qrelay import registry
from qrelay.errors import ConfigurationError
from qrelay.payload import Bindings, Circuit, Readout, TargetInfo
from qrelay.plugins import SimulationEngine


def aer_engine() -> SimulationEngine:
    """The ``aer`` engine plugin, or a visible skip when it is not installed."""
    from qrelay.qpu.emulator import DEFAULT_ENGINE_OPTIONS

    try:
        factory = registry.load(registry.ENGINES, "aer")
    except ConfigurationError:
        pytest.skip("the 'aer' engine plugin is not installed")
    engine: SimulationEngine = factory(**DEFAULT_ENGINE_OPTIONS)
    return engine


def flip(flipped: bool, *, qubits: int = 1) -> Circuit:
    """A native square_qpu program: rx(pi) on every qubit when ``flipped``, then measure."""
    instructions: list[dict[str, Any]] = []
    if flipped:
        instructions += [{"op": "rx", "qubits": [q], "params": [math.pi]} for q in range(qubits)]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(qubits)]
    return Circuit(
        num_qubits=qubits, registers=[{"name": "c", "size": qubits}], instructions=instructions
    )


def self_signed(directory: Path, name: str = "controller") -> tuple[bytes, bytes]:
    """A self-signed certificate for localhost and 127.0.0.1 (PEM chain, PEM key)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert.read_bytes(), key.read_bytes()


class HeldEngine:
    """The real engine behind a gate: a program starts, then runs only once released.

    It stands for a long program on the device, so a test can act while it runs.
    """

    def __init__(self, engine: SimulationEngine) -> None:
        self.engine = engine
        self.started = threading.Event()
        self.release = threading.Event()

    def run(
        self,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None = None,
        noise: TargetInfo | None = None,
        seed: int | None = None,
    ) -> list[Readout]:
        self.started.set()
        self.release.wait(timeout=120)
        return self.engine.run(circuit, shots=shots, bindings=bindings, noise=noise, seed=seed)


@dataclass
class Deployment:
    """One qrelay deployment: its own service on its own database."""

    url: str
    database_url: str
    worker_token: str
    http: httpx.Client

    def submit(self, circuit: Circuit, shots: int = 400) -> str:
        response = self.http.post(
            "/v1/jobs",
            json={
                "target": "square_qpu",
                "circuits": [circuit.model_dump(mode="json")],
                "shots": shots,
            },
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/jobs/{job_id}", params={"include": "readout"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def until(self, job_id: str, check: Any, bound: float = 60.0) -> dict[str, Any]:
        """Poll the job until ``check(data)`` holds (a functional bound, not a timing)."""
        deadline = time.monotonic() + bound
        while True:
            data = self.job(job_id)
            if check(data):
                return data
            assert time.monotonic() < deadline, f"job {job_id}: {data.get('statuses')}"
            time.sleep(0.05)

    def column(self, sql: str) -> list[Any]:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [row[0] for row in conn.execute(text(sql))]
        finally:
            engine.dispose()


@contextmanager
def deployment(home: Path) -> Iterator[Deployment]:
    """A fresh service (its own SQLite file, so its own deployment id) on loopback."""
    from qrelay.service import bootstrap
    from qrelay.service.app import create_app
    from qrelay.service.loopback import serve_loopback
    from qrelay.settings import ServiceSettings

    settings = ServiceSettings(home=home, lease_seconds=5.0)
    database_url = settings.resolved_database_url()
    token = "qr_" + secrets.token_urlsafe(24)
    bootstrap.ensure_admin(database_url, token)
    worker_token = bootstrap.create_worker_token(
        database_url, name="qpu-worker", targets=["square_qpu"]
    )
    server = serve_loopback(create_app(settings.model_copy(update={"database_url": database_url})))
    http = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0
    )
    try:
        yield Deployment(server.url, database_url, worker_token, http)
    finally:
        http.close()
        server.stop(timeout=5)
