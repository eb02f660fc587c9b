"""``qrelay serve`` and ``qrelay worker`` as subprocesses on loopback, for the benchmarks.

Each service process gets its own port; all share one database (a SQLite file in a
temporary ``QRELAY_HOME``, or the PostgreSQL URL given). The admin token comes from
``QRELAY_ADMIN_TOKEN``; a user with a large balance and one worker token per worker are
made through the admin API, as an operator would. :func:`postgres_schema` gives a run a
schema of its own on a shared PostgreSQL server (the load and service benchmarks and the
test suites use it as well).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_CLI = "from qrelay.cli import main; raise SystemExit(main())"


@dataclass
class Service:
    """The running processes and the tokens to use them."""

    urls: list[str]
    admin_token: str
    user_token: str
    home: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"qrelay serve exited ({proc.returncode}): {_tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"qrelay serve on {url} not ready after {timeout} s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-800:]
    except OSError:
        return ""


@contextlib.contextmanager
def postgres_schema(base_url: str, prefix: str) -> Iterator[str]:
    """A new, empty schema on the PostgreSQL server at ``base_url``; dropped afterwards.

    Yields ``base_url`` with that schema as its search path, so each run (a benchmark, a
    test suite) gets a database of its own on one shared server and leaves nothing behind.
    ``prefix`` says whose a schema is when a killed run leaves one.
    """
    from sqlalchemy import create_engine, text

    schema = prefix + uuid.uuid4().hex[:12]
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@contextlib.contextmanager
def serve(
    database_url: str | None = None,
    *,
    processes: int = 1,
    workers: int = 1,
    targets: Sequence[str] = ("aer_simulator",),
    settings: Mapping[str, str] | None = None,
) -> Iterator[Service]:
    """Start ``processes`` x ``qrelay serve`` and ``workers`` x ``qrelay worker``;
    ``settings`` are more ``QRELAY_*`` environment variables for them."""
    with tempfile.TemporaryDirectory(prefix="qrelay-bench-") as tmp:
        home = Path(tmp)
        admin = "qr_" + secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
        env |= {"QRELAY_HOME": str(home), "QRELAY_ADMIN_TOKEN": admin, **(settings or {})}
        db_args = ["--database-url", database_url] if database_url else []
        service = Service(urls=[], admin_token=admin, user_token="", home=home)
        try:
            for index in range(processes):
                port = free_port()
                log = home / f"serve{index}.log"
                proc = subprocess.Popen(
                    [sys.executable, "-c", _CLI, "serve", "--port", str(port), *db_args],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log.open("wb"),
                )
                service.processes.append(proc)
                url = f"http://127.0.0.1:{port}"
                _wait_ready(url, proc, log)  # one at a time: the first creates the schema
                service.urls.append(url)
            admin_headers = {"Authorization": f"Bearer {admin}"}
            base = service.urls[0]
            user = httpx.post(
                base + "/v1/users",
                json={
                    "name": "bench",
                    "email": f"bench-{uuid.uuid4().hex[:8]}@example.org",
                    "balance": 1e12,
                },
                headers=admin_headers,
                timeout=30,
            )
            user.raise_for_status()
            service.user_token = user.json()["token"]
            for index in range(workers):
                made = httpx.post(
                    base + "/v1/workers",
                    json={"name": f"bench-worker-{index}", "targets": list(targets)},
                    headers=admin_headers,
                    timeout=30,
                )
                made.raise_for_status()
                url = service.urls[index % len(service.urls)]
                target_args = [arg for name in targets for arg in ("--target", name)]
                log = home / f"worker{index}.log"
                service.processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-c",
                            _CLI,
                            "worker",
                            "--url",
                            url,
                            "--token",
                            made.json()["token"],
                            "--lease-wait",
                            "5",
                            *target_args,
                        ],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log.open("wb"),
                    )
                )
            yield service
        finally:
            for proc in reversed(service.processes):
                proc.terminate()
            for proc in service.processes:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
