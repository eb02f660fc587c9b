"""Real qrelay processes for fault tests: ``qrelay serve``, ``qrelay worker``, ``qrelay qpu serve``.

Each runs as a subprocess on a free loopback port with its own ``QRELAY_HOME``, writes its
log to a file (so a full pipe never stalls it) and is stopped with a real signal. Workers
run in their own process group: SIGKILL of the group also ends the simulation child a
worker keeps, as a machine crash would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

_MAIN = "import sys; from qrelay.cli import main; sys.exit(main(sys.argv[1:]))"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, bound: float, what: str, step: float = 0.05) -> Any:
    """Poll ``predicate`` until truthy; fail naming ``what`` after ``bound`` seconds."""
    end = time.monotonic() + bound
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what} after {bound} s")
        time.sleep(step)


@dataclass
class Proc:
    """One subprocess and its log file."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    group: bool = False
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-c", _MAIN, *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=self.group,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (to the whole group for grouped processes) and reap the process."""
        if not self.alive():
            return
        if self.group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
        else:
            os.kill(self.pid, sig)
        assert self.popen is not None
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if not self.alive():
            return
        assert self.popen is not None
        try:
            self.kill(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _env(home: Path, **values: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["QRELAY_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").touch()  # an empty config: no profiles
    env["QRELAY_CONFIG"] = str(home / "config.toml")
    for key, value in values.items():
        if value is not None:
            env["QRELAY_" + key.upper()] = str(value)
    return env


@dataclass
class Stack:
    """A service process (restartable on the same database) and the processes around it."""

    home: Path
    database_url: str
    lease_seconds: float = 2.0
    max_attempts: int = 5
    liveness_seconds: float = 60.0
    targets_file: Path | None = None
    #: More service settings (``QRELAY_<NAME>`` environment variables), e.g. a body limit.
    settings: dict[str, Any] = field(default_factory=dict)
    admin_token: str = field(default_factory=lambda: "adm_" + secrets.token_urlsafe(16))
    port: int = field(default_factory=free_port)
    service: Proc | None = None
    others: list[Proc] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)
    #: More environment for the processes started from now on (e.g. tracing's).
    extra_env: dict[str, str] = field(default_factory=dict)
    _count: int = 0

    def _environ(self, **values: Any) -> dict[str, str]:
        return {**_env(self.home, **values), **self.extra_env}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _log(self, name: str) -> Path:
        self._count += 1
        return self.home / f"{self._count:02d}-{name}.log"

    def start_service(
        self,
        database_url: str | None = None,
        port: int | None = None,
        *,
        serve_args: tuple[str, ...] = (),
        settings: dict[str, Any] | None = None,
    ) -> Proc:
        """Start ``qrelay serve`` and wait until ``/readyz`` answers.

        ``serve_args`` are added to the command line; ``settings`` are more service
        settings, given as ``QRELAY_*`` variables.
        """
        env = self._environ(
            admin_token=self.admin_token,
            lease_seconds=self.lease_seconds,
            max_attempts=self.max_attempts,
            worker_liveness_seconds=self.liveness_seconds,
            **self.settings,
            **(settings or {}),
        )
        port = port or self.port
        args = [
            "-vv",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            database_url or self.database_url,
        ]
        if self.targets_file is not None:
            args += ["--targets", str(self.targets_file)]
        args += serve_args
        proc = Proc(
            args,
            env,
            self._log("serve"),
        ).start()

        def ready() -> bool:
            assert proc.alive(), f"qrelay serve exited:\n{proc.log()}"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 60, "qrelay serve to be ready")
        if port == self.port:
            self.service = proc
        else:
            self.others.append(proc)
        return proc

    def client(self, token: str | None = None, url: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=url or self.url, headers=headers, timeout=60.0)
        self.clients.append(c)
        return c

    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    def new_user(self, balance: float = 1e9, role: str = "user") -> str:
        email = f"u{uuid.uuid4().hex[:10]}@example.org"
        with httpx.Client(base_url=self.url, timeout=30) as c:
            r = c.post(
                "/v1/users",
                json={"name": "Load", "email": email, "balance": balance, "role": role},
                headers={"Authorization": f"Bearer {self.admin_token}"},
            )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def new_worker_token(self, targets: list[str]) -> str:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            r = c.post(
                "/v1/workers",
                json={"name": "w", "targets": targets},
                headers={"Authorization": f"Bearer {self.admin_token}"},
            )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def start_worker(
        self,
        token: str,
        targets: list[str],
        *,
        qpu_address: str | None = None,
        url: str | None = None,
        heartbeat: float = 0.5,
    ) -> Proc:
        args = ["-v", "worker", "--url", url or self.url, "--token", token, "--lease-wait", "1"]
        for t in targets:
            args += ["--target", t]
        if qpu_address:
            args += ["--qpu-address", qpu_address]
        proc = Proc(
            args, self._environ(heartbeat_seconds=heartbeat), self._log("worker"), group=True
        ).start()
        self.others.append(proc)
        return proc

    def start_qpu(self, devices: str = "square_qpu", port: int | None = None) -> tuple[Proc, str]:
        port = port or free_port()
        log = self._log("qpu")
        proc = Proc(
            [
                "qpu",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--devices",
                devices,
                "--seed",
                "7",
            ],
            self._environ(),
            log,
            group=True,
        ).start()
        self.others.append(proc)

        def listening() -> bool:
            assert proc.alive(), f"qrelay qpu serve exited:\n{proc.log()}"
            return "listening on" in proc.log()

        wait_until(listening, 60, "the QPU controller to listen")
        return proc, f"127.0.0.1:{port}"

    def close(self) -> None:
        for c in self.clients:
            c.close()
        for proc in [*self.others, *([self.service] if self.service else [])]:
            proc.stop()
        self.others.clear()


#: The price per shot of ``aer_simulator`` in :func:`priced_catalog`.
PRICE = 0.001


def priced_catalog(path: Path) -> Path:
    """A catalog whose ``aer_simulator`` costs :data:`PRICE` per shot."""
    import json

    path.write_text(
        json.dumps(
            [
                {
                    "name": "aer_simulator",
                    "driver": "aer",
                    "simulator": True,
                    "num_qubits": 20,
                    "price_per_shot": PRICE,
                }
            ]
        )
    )
    return path


def submit(client: httpx.Client, job: dict[str, Any], key: str | None = None) -> str:
    r = client.post("/v1/jobs", json=job, headers={"Idempotency-Key": key or uuid.uuid4().hex})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["job_id"])


TERMINAL = {"completed", "failed", "cancelled"}


def job(client: httpx.Client, job_id: str, wait: float = 0.0) -> dict[str, Any]:
    r = client.get(f"/v1/jobs/{job_id}", params={"wait": wait}, timeout=wait + 30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_terminal(client: httpx.Client, job_id: str, bound: float = 90.0) -> dict[str, Any]:
    """Long-poll until every circuit of the job has ended (bounded)."""
    end = time.monotonic() + bound
    while True:
        data = job(client, job_id, wait=5.0)
        if set(data["statuses"]) <= TERMINAL:
            return data
        if time.monotonic() > end:
            raise AssertionError(f"job {job_id} stayed in {data['statuses']}")
