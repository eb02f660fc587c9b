"""Closed-loop HTTP clients for the throughput rows, and the bare uvicorn echo they face.

``threads`` threads, each with its own keep-alive ``httpx.Client``: against qrelay each
submits its share of small Bell jobs, then long-polls each until it ended; against the
echo each posts the same body and reads the answer, again and again. The rate is
completed jobs (or answered requests) per second of wall time.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from benchmarks.peers.service import free_port

_TERMINAL = {"completed", "failed", "cancelled"}

_UVICORN_ECHO = r"""
import sys, uvicorn

async def echo(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})

uvicorn.run(echo, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""

BELL_JOB = json.dumps(
    {
        "target": "aer_simulator",
        "shots": 100,
        "circuits": [
            {
                "num_qubits": 2,
                "registers": [{"name": "c", "size": 2}],
                "instructions": [
                    {"op": "h", "qubits": [0]},
                    {"op": "cx", "qubits": [0, 1]},
                    {"op": "measure", "qubits": [0], "clbits": [0]},
                    {"op": "measure", "qubits": [1], "clbits": [1]},
                ],
            }
        ],
    }
).encode()


@contextlib.contextmanager
def uvicorn_echo() -> Iterator[str]:
    """A bare ASGI echo under uvicorn in its own process; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _UVICORN_ECHO, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            with contextlib.suppress(httpx.TransportError):
                httpx.post(url + "/", content=b"{}", timeout=1)
                break
            time.sleep(0.025)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _pool(urls: Sequence[str], threads: int, token: str | None) -> list[httpx.Client]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return [
        httpx.Client(base_url=urls[i % len(urls)], headers=headers, timeout=120)
        for i in range(threads)
    ]


def echo_rate(url: str, count: int, threads: int = 8) -> float:
    """Requests per second of ``count`` posts of the job body to the echo."""
    clients = _pool([url], threads, None)
    try:
        for client in clients:
            client.post("/", content=BELL_JOB)
        per = count // threads

        def loop(client: httpx.Client) -> None:
            for _ in range(per):
                client.post("/", content=BELL_JOB).raise_for_status()

        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(loop, clients))
        return per * threads / (time.perf_counter() - start)
    finally:
        for client in clients:
            client.close()


def job_windows(
    urls: Sequence[str], token: str, windows: int, size: int, threads: int = 8
) -> list[float]:
    """Completed jobs per second in each of ``windows`` consecutive windows of ``size`` jobs.

    In a window each thread submits its share of the jobs, then long-polls each until it
    ended; the window's rate is its jobs over its wall time. The later windows run over a
    growing history.
    """
    clients = _pool(urls, threads, token)
    per = max(1, size // threads)

    def submit_then_wait(client: httpx.Client) -> None:
        ids = []
        for _ in range(per):
            posted = client.post(
                "/v1/jobs", content=BELL_JOB, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            posted.raise_for_status()
            ids.append(posted.json()["job_id"])
        for job_id in ids:
            while True:
                data = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
                states = data.get("statuses") or [data.get("status")]
                if all(state in _TERMINAL for state in states):
                    break

    rates = []
    try:
        for client in clients:
            client.get("/healthz")
        with ThreadPoolExecutor(threads) as pool:
            for _ in range(windows):
                start = time.perf_counter()
                list(pool.map(submit_then_wait, clients))
                rates.append(per * threads / (time.perf_counter() - start))
    finally:
        for client in clients:
            client.close()
    return rates
