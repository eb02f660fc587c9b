"""Sustained mixed load on real processes: ``qrelay serve`` (one or two) and four ``qrelay worker``.

N client threads submit, long-poll, list and cancel for a fixed time; then everything
drains and the books are checked: every accepted job ended, none is missing or
duplicated, each task ended once, and each user was charged successful shots x price.

A row per configuration (SQLite with one service; PostgreSQL with one and with two
service processes sharing the database, when ``QRELAY_TEST_POSTGRES_URL`` is set):
``ours`` is the wall time per completed job under load, ``reference`` the same for one
client alone on the same stack (submit, then wait), so ``ratio`` is what concurrency
costs per job (< 1: the stack overlaps jobs). ``jobs_per_s``, ``p50_ms``/``p99_ms``
(every request) and ``turnaround_p50_ms``/``turnaround_p99_ms`` (submit to seen ended)
are added, with the counts ``accepted``, ``terminal``, ``lost``, ``duplicated``.

``run_config`` is public so the test suite runs the same load at a reduced size.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PRICE = 0.001
WORKERS = 4
_TERMINAL = {"completed", "failed", "cancelled"}
_MAIN = "import sys; from qrelay.cli import main; sys.exit(main(sys.argv[1:]))"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bell(shots_note: int) -> dict[str, Any]:
    return {
        "num_qubits": 2,
        "registers": [{"name": "c", "size": 2}],
        "instructions": [
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
        "metadata": {"n": shots_note},
    }


@contextlib.contextmanager
def _database(kind: str, home: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{home / 'load.db'}"
        return
    from benchmarks.peers.service import postgres_schema

    with postgres_schema(os.environ["QRELAY_TEST_POSTGRES_URL"], "load_") as url:
        yield url


@dataclass
class _Stack:
    home: Path
    database_url: str
    admin_token: str = field(default_factory=lambda: "adm_" + secrets.token_urlsafe(16))
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
        env |= {
            "QRELAY_HOME": str(self.home),
            "QRELAY_CONFIG": os.devnull,  # no config file: no profiles
            "QRELAY_ADMIN_TOKEN": self.admin_token,
            "QRELAY_HEARTBEAT_SECONDS": "2",
        }
        return env

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.home / log).open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", _MAIN, *args],
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start(self, services: int, targets_file: Path) -> None:
        for i in range(services):
            port = _free_port()
            proc = self._spawn(
                [
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--database-url",
                    self.database_url,
                    "--targets",
                    str(targets_file),
                ],
                f"serve-{i}.log",
            )
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"qrelay serve exited; see {self.home}/serve-{i}.log")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("qrelay serve did not become ready")
                time.sleep(0.1)
            self.urls.append(url)
        token = self.post(
            self.urls[0], "/v1/workers", {"name": "load", "targets": ["aer_simulator"]}
        )["token"]
        for i in range(WORKERS):
            url = self.urls[i % len(self.urls)]
            self._spawn(
                [
                    "worker",
                    "--url",
                    url,
                    "--token",
                    token,
                    "--target",
                    "aer_simulator",
                    "--lease-wait",
                    "5",
                ],
                f"worker-{i}.log",
            )

    def post(self, url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(
            url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        r.raise_for_status()
        return dict(r.json())

    def new_user(self, balance: float) -> str:
        email = f"load-{uuid.uuid4().hex[:10]}@example.org"
        body = {"name": "Load", "email": email, "balance": balance}
        return str(self.post(self.urls[0], "/v1/users", body)["token"])

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    turnaround: list[float] = field(default_factory=list)
    accepted: dict[str, list[str]] = field(default_factory=dict)
    cancelled: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client_loop(url: str, token: str, stop: threading.Event, tally: _Tally, seed: int) -> None:
    rng = random.Random(seed)
    mine: list[str] = []
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:

        def timed(method: str, path: str, **kwargs: Any) -> httpx.Response | None:
            start = time.perf_counter()
            try:
                r = http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                with tally.lock:
                    tally.errors[type(exc).__name__] += 1
                return None
            with tally.lock:
                tally.latencies.append(time.perf_counter() - start)
                if r.status_code >= 400:
                    tally.errors[f"{method} {r.status_code}"] += 1
            return r

        step = 0
        while not stop.is_set():
            step += 1
            circuits = [_bell(step) for _ in range(rng.choice((1, 1, 2)))]
            job = {"target": "aer_simulator", "circuits": circuits, "shots": rng.randint(50, 200)}
            began = time.perf_counter()
            r = timed("POST", "/v1/jobs", json=job, headers={"Idempotency-Key": uuid.uuid4().hex})
            if r is None or r.status_code not in (200, 201):
                continue
            job_id = r.json()["job_id"]
            mine.append(job_id)
            if step % 5 == 0:
                timed("POST", "/v1/jobs/cancel", json={"job_ids": [job_id]})
                with tally.lock:
                    tally.cancelled += 1
            elif step % 3 == 0:
                timed("GET", "/v1/jobs", params={"limit": 20})
            else:
                got = timed("GET", f"/v1/jobs/{job_id}", params={"wait": 10, "include": "readout"})
                if got is not None and set(got.json().get("statuses", [])) <= _TERMINAL:
                    with tally.lock:
                        tally.turnaround.append(time.perf_counter() - began)
    with tally.lock:
        tally.accepted.setdefault(token, []).extend(mine)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _drain_and_audit(stack: _Stack, tally: _Tally, balance: float, bound: float) -> dict[str, Any]:
    """Wait for every accepted job to end, then check jobs, tasks and charges."""
    from sqlalchemy import create_engine, select

    from qrelay.service.db.tables import jobs, tasks, transitions

    url = stack.urls[0]
    terminal = 0
    charges_ok = True
    deadline = time.monotonic() + bound
    for token, ids in tally.accepted.items():
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            shots = 0
            for job_id in ids:
                while True:
                    wait = max(0.0, min(10.0, deadline - time.monotonic()))
                    data = http.get(f"/v1/jobs/{job_id}", params={"wait": wait}).json()
                    if set(data["statuses"]) <= _TERMINAL or wait == 0:
                        break
                if set(data["statuses"]) <= _TERMINAL:
                    terminal += 1
                results = http.get(f"/v1/jobs/{job_id}/results").json()
                for status, rows in zip(results["statuses"], results["readouts"], strict=True):
                    if status == "completed":  # a circuit cancelled while it ran is free
                        shots += sum(int(r["successful_shots"]) for r in rows or [])
            spent = balance - float(http.get("/v1/me/balance").json()["balance"])
            charges_ok &= abs(spent - shots * PRICE) < 1e-6
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            stored = Counter(j for (j,) in conn.execute(select(jobs.c.id)))
            ended = Counter(
                t
                for (t,) in conn.execute(
                    select(transitions.c.task_id).where(transitions.c.to_status.in_(_TERMINAL))
                )
            )
            task_ids = {t for (t,) in conn.execute(select(tasks.c.id))}
    finally:
        engine.dispose()
    accepted = [j for ids in tally.accepted.values() for j in ids]
    lost = sum(1 for j in accepted if j not in stored)
    duplicated = sum(n - 1 for n in stored.values() if n > 1)
    duplicated += sum(n - 1 for n in Counter(accepted).values() if n > 1)
    duplicated += sum(n - 1 for n in ended.values() if n > 1)  # a task ended twice
    return {
        "accepted": len(accepted),
        "terminal": terminal,
        "lost": lost,
        "duplicated": duplicated,
        "tasks_never_ended": len(task_ids - set(ended)),
        "charges_ok": charges_ok,
    }


def _reference(stack: _Stack, token: str, jobs: int) -> float:
    """Seconds per job for one client alone: submit, then long-poll until it ended.

    One untimed job first, so the workers' start-up is not in the figure.
    """
    with httpx.Client(
        base_url=stack.urls[0], headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        start = 0.0
        for i in range(jobs + 1):
            if i == 1:
                start = time.perf_counter()
            job = {"target": "aer_simulator", "circuits": [_bell(i)], "shots": 100}
            r = http.post("/v1/jobs", json=job, headers={"Idempotency-Key": uuid.uuid4().hex})
            job_id = r.json()["job_id"]
            while (
                not set(http.get(f"/v1/jobs/{job_id}", params={"wait": 10}).json()["statuses"])
                <= _TERMINAL
            ):
                pass
        return (time.perf_counter() - start) / jobs


def run_config(
    kind: str,
    services: int,
    *,
    clients: int,
    seconds: float,
    home: Path | None = None,
    reference_jobs: int = 10,
) -> dict[str, Any]:
    """Run one load configuration on fresh processes and a fresh database; one result row."""
    home = home or Path(tempfile.mkdtemp(prefix="qrelay-load-"))
    targets = home / "targets.json"
    targets.write_text(
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
    balance = 1e6
    with _database(kind, home) as database_url:
        stack = _Stack(home, database_url)
        try:
            stack.start(services, targets)
            reference_token = stack.new_user(balance)
            per_job_alone = _reference(stack, reference_token, reference_jobs)
            tally = _Tally()
            tokens = [stack.new_user(balance) for _ in range(max(1, clients // 2))]
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=_client_loop,
                    args=(stack.urls[i % services], tokens[i % len(tokens)], stop, tally, i),
                    daemon=True,
                )
                for i in range(clients)
            ]
            began = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join(timeout=120)
            elapsed = time.perf_counter() - began
            books = _drain_and_audit(stack, tally, balance, bound=120)
        finally:
            stack.stop()
    done = books["accepted"]
    per_job = elapsed / done if done else float("nan")
    return {
        "case": f"load: {clients} clients, {services} service(s) on {kind}, {WORKERS} workers",
        "ours": per_job * 1e3,
        "reference": per_job_alone * 1e3,
        "unit": "ms/job",
        "ratio": per_job / per_job_alone if done else float("nan"),
        "jobs_per_s": done / elapsed if elapsed else 0.0,
        "requests": len(tally.latencies),
        "requests_per_s": len(tally.latencies) / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(tally.latencies, 0.50) * 1e3,
        "p99_ms": _percentile(tally.latencies, 0.99) * 1e3,
        "turnaround_p50_ms": _percentile(tally.turnaround, 0.50) * 1e3,
        "turnaround_p99_ms": _percentile(tally.turnaround, 0.99) * 1e3,
        "cancel_requests": tally.cancelled,
        "errors": dict(tally.errors),
        **books,
        "notes": "every accepted job ended; charges == successful shots x price"
        if books["terminal"] == done and books["charges_ok"]
        else "BOOKS DO NOT ADD UP",
    }


def configurations() -> list[tuple[str, int]]:
    """SQLite x 1 service; PostgreSQL x 1 and x 2 services when its URL is set."""
    configs = [("sqlite", 1)]
    if os.environ.get("QRELAY_TEST_POSTGRES_URL"):
        configs += [("postgres", 1), ("postgres", 2)]
    return configs


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per configuration; quick: 4 clients for 3 s, else 16 clients for 20 s."""
    clients, seconds = (4, 3.0) if quick else (16, 20.0)
    return [
        run_config(kind, services, clients=clients, seconds=seconds)
        for kind, services in configurations()
    ]


if __name__ == "__main__":
    # ``python benchmarks/load_bench.py``: make ``benchmarks`` importable as a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
