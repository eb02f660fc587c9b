"""Attacks on a real ``qrelay serve`` process: a large body, half-sent requests, tokens in logs.

Each starts the service as a subprocess on SQLite (see ``tests/reliability/procs.py``).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.reliability.procs import Stack, wait_until

#: Instructions pairs of the large dry run (about 20 MiB of JSON).
_PAIRS = 250_000


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'qrelay.db'}")
    try:
        yield s
    finally:
        s.close()


def _large_dry_run() -> bytes:
    """A valid dry run of about 20 MiB: one circuit of half a million instructions."""
    insts: list[dict[str, Any]] = []
    for i in range(_PAIRS):
        insts.append({"op": "rx", "qubits": [i % 8], "params": [0.1234567]})
        insts.append({"op": "cx", "qubits": [i % 7, 7]})
    circuit = {"num_qubits": 8, "registers": [{"name": "c", "size": 8}], "instructions": insts}
    job = {"target": "aer_simulator", "shots": 10, "dry_run": True, "circuits": [circuit]}
    return json.dumps(job).encode()


def test_a_large_body_does_not_stall_other_users(stack: Stack) -> None:
    """While one user's 20 MiB dry run is read and checked, another user's requests are
    answered: the typical one takes a small part of the large request's time, and none
    waits for a whole large request (on the event loop the parse held every request for
    seconds). The median, not the slowest, carries the bound: on a shared machine one
    request can lose the processor for a while whatever the service does."""
    stack.start_service()
    attacker, other = stack.new_user(), stack.new_user()
    body = _large_dry_run()
    assert len(body) > 18 * 2**20
    reader = stack.client(other)
    assert reader.get("/v1/jobs").status_code == 200
    posts: list[float] = []
    done = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=stack.url, timeout=120) as c:
            for _ in range(2):
                start = time.perf_counter()
                r = c.post(
                    "/v1/jobs",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {attacker}",
                        "Idempotency-Key": uuid.uuid4().hex,
                        "Content-Type": "application/json",
                    },
                )
                posts.append(time.perf_counter() - start)
                assert r.status_code == 201, r.text
                assert r.json()["dry_run"] is True
        done.set()

    poster = threading.Thread(target=post)
    poster.start()
    waits: list[float] = []
    while not done.is_set():
        start = time.perf_counter()
        assert reader.get("/v1/jobs").status_code == 200
        waits.append(time.perf_counter() - start)
    poster.join()
    assert len(posts) == 2
    assert len(waits) > 10
    assert statistics.median(waits) < min(posts) / 5, (statistics.median(waits), posts)
    assert max(waits) < max(posts), (max(waits), posts)


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_half_sent_requests_cannot_hold_connections(stack: Stack) -> None:
    """200 connections that send part of a request's headers and then nothing more are
    closed by the service at its header deadline, so, even when they are more than the
    process may hold open, another client still gets its answers."""
    proc = stack.start_service(settings={"header_timeout_seconds": 2})
    # Room for about 100 more connections: the 200 half-sent ones exhaust it.
    room = _open_fds(proc.pid) + 100
    resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (room, room))
    sockets: list[socket.socket] = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
            s.sendall(b"GET /v1/jobs HTTP/1.1\r\nHost: qrelay\r\nX-Slow: ")
            sockets.append(s)

        def answered() -> bool:
            try:
                r = httpx.get(f"{stack.url}/healthz", timeout=5)
            except httpx.TransportError:
                return False  # refused or dropped while the descriptors are all taken
            return r.status_code == 200 and r.json() == {"status": "ok"}

        wait_until(answered, 30, "another client to get an answer", step=0.5)

        # Every half-sent request was closed by the service (end of stream or a reset).
        def closed(s: socket.socket) -> bool:
            try:
                return s.recv(1024) == b""
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True

        for s in sockets:
            s.settimeout(30)
            assert closed(s)
        # A complete request on a fresh connection is still served.
        assert httpx.get(f"{stack.url}/healthz", timeout=30).status_code == 200
    finally:
        for s in sockets:
            s.close()
    assert proc.alive()


def test_no_token_in_the_access_log(stack: Stack) -> None:
    """With the access log on and debug logging, requests that carry, make, rotate and
    revoke tokens (and refused ones) leave no token text in the service's log."""
    proc = stack.start_service(serve_args=("--access-log",))
    admin = stack.admin()
    user = stack.new_user()
    made = admin.post("/v1/workers", json={"name": "w", "targets": ["aer_simulator"]}).json()
    rotated = admin.post(f"/v1/workers/{made['worker_id']}/token").json()
    users = admin.get("/v1/users").json()
    user_id = next(u["user_id"] for u in users if u["role"] == "user")
    regenerated = admin.post(f"/v1/users/{user_id}/token").json()
    tokens = [stack.admin_token, user, made["token"], rotated["token"], regenerated["token"]]
    for token in tokens:
        c = stack.client(token)
        c.get("/v1/jobs")
        c.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0})
    bogus = "qru_" + "NotAToken" * 4
    assert stack.client(bogus).get("/v1/jobs").status_code == 401
    assert admin.delete(f"/v1/workers/{made['worker_id']}/token").status_code == 204
    assert (
        stack.client(rotated["token"]).post("/v1/worker/lease", json={"targets": ["x"]}).status_code
        == 401
    )
    wait_until(lambda: '"GET /v1/jobs HTTP/1.1" 401' in proc.log(), 10, "the access log")
    stack.close()
    log = proc.log()
    assert log.count("HTTP/1.1") >= 15  # the access log wrote a line per request
    for secret in [*tokens, bogus]:
        assert secret not in log
