"""Job service throughput, measured against a trivial echo endpoint of the same app.

One service process under uvicorn on loopback; concurrent httpx clients in this process.
Rows (``ratio`` = ours / reference, higher is better; for times it is reference / ours):

- ``submit_small[db]``: jobs/s of ``POST /v1/jobs`` with a 4-instruction circuit, vs the
  echo endpoint's requests/s with the same body (target: ratio >= 0.5);
- ``submit_2k[db]``: the same with a 2,000-instruction circuit;
- ``lease_result[db]``: ms per lease -> result cycle of one worker, vs two echo round trips.

``db`` is ``sqlite``, and ``postgres`` when ``QRELAY_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

_SERVER = r"""
import os, uvicorn
from fastapi import Request, Response
from qrelay.service.app import create_app
from qrelay.settings import ServiceSettings

app = create_app(ServiceSettings(database_url=os.environ["BENCH_DB"], admin_token=os.environ["BENCH_ADMIN"]))

@app.post("/bench/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")

uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), log_level="warning", access_log=False)
"""


def _circuit(instructions: int) -> dict[str, Any]:
    if instructions <= 4:
        insts: list[dict[str, Any]] = [{"op": "h", "qubits": [0]}, {"op": "cx", "qubits": [0, 1]}]
        insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(2)]
        return {"num_qubits": 2, "registers": [{"name": "c", "size": 2}], "instructions": insts}
    n = 20
    insts = []
    while len(insts) < instructions - n:
        q = len(insts) % n
        insts.append({"op": "rx", "qubits": [q], "params": [0.1 * (q + 1)]})
        insts.append({"op": "cx", "qubits": [q, (q + 1) % n]})
    insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(n)]
    return {
        "num_qubits": n,
        "registers": [{"name": "c", "size": n}],
        "instructions": insts[:instructions],
    }


def _job(instructions: int) -> bytes:
    body = {"target": "aer_simulator", "circuits": [_circuit(instructions)], "shots": 100}
    return json.dumps(body).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    from benchmarks.peers.service import postgres_schema

    with postgres_schema(os.environ["QRELAY_TEST_POSTGRES_URL"], "bench_") as url:
        yield url


@contextlib.contextmanager
def _server(database_url: str) -> Iterator[tuple[str, str]]:
    admin = "bench_" + secrets.token_urlsafe(16)
    port = _free_port()
    env = os.environ | {"BENCH_DB": database_url, "BENCH_ADMIN": admin, "BENCH_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("the benchmark service did not start")
        yield url, admin
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _rate(url: str, path: str, token: str, body: bytes, count: int, concurrency: int) -> float:
    """Requests per second of ``count`` POSTs from ``concurrency`` client threads."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for _ in range(concurrency)]
    for client in clients:  # connect before the clock starts
        client.post(path, content=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    per_client = count // concurrency

    def run(client: httpx.Client) -> None:
        for _ in range(per_client):
            r = client.post(path, content=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            if r.status_code >= 300:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            start = time.perf_counter()
            for future in [pool.submit(run, c) for c in clients]:
                future.result()
            return per_client * concurrency / (time.perf_counter() - start)
    finally:
        for client in clients:
            client.close()


def _cycle(url: str, admin: str, user_token: str, count: int) -> tuple[float, float]:
    """(ms per lease -> result cycle, ms per two echo round trips)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        worker = client.post(
            "/v1/workers",
            json={"name": "bench", "targets": ["aer_simulator"]},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["token"]
        wh = {"Authorization": f"Bearer {worker}"}
        # drain what the submit cases queued, then queue exactly `count` small jobs
        while (
            client.post(
                "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}, headers=wh
            ).status_code
            == 200
        ):
            pass
        body = _job(4)
        uh = {"Authorization": f"Bearer {user_token}", "Content-Type": "application/json"}
        for _ in range(count):
            client.post(
                "/v1/jobs", content=body, headers=uh | {"Idempotency-Key": uuid.uuid4().hex}
            )
        result_template = {
            "status": "completed",
            "successful_shots": 100,
            "readouts": [
                {
                    "successful_shots": 100,
                    "registers": [{"name": "c", "width": 2, "bits": _zeros(100)}],
                }
            ],
        }
        start = time.perf_counter()
        for _ in range(count):
            task = client.post(
                "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}, headers=wh
            ).json()
            r = client.post(
                f"/v1/worker/tasks/{task['task_id']}/result",
                json=result_template | {"lease_id": task["lease_id"]},
                headers=wh,
            )
            if r.status_code != 204:
                raise RuntimeError(r.text)
        ours = (time.perf_counter() - start) / count * 1e3
        start = time.perf_counter()
        for _ in range(count):
            client.post("/bench/echo", content=b'{"targets":["aer_simulator"],"wait":0}')
            client.post("/bench/echo", content=b'{"lease_id":"x","status":"completed"}')
        ref = (time.perf_counter() - start) / count * 1e3
    return ours, ref


def _zeros(shots: int) -> str:
    import base64

    return base64.urlsafe_b64encode(bytes(shots)).decode()


def _bench(kind: str, quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    small_n, big_n, cycles = (300, 60, 100) if quick else (2000, 300, 500)
    with _database(kind) as db, _server(db) as (url, admin):
        user = httpx.post(
            url + "/v1/users",
            json={
                "name": "bench",
                "email": f"bench{uuid.uuid4().hex[:6]}@example.org",
                "balance": 1e9,
            },
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["token"]
        for case, instructions, n in (("submit_small", 4, small_n), ("submit_2k", 2000, big_n)):
            body = _job(instructions)
            echo = _rate(url, "/bench/echo", user, body, n, 8)
            ours = _rate(url, "/v1/jobs", user, body, n, 8)
            rows.append(
                {
                    "case": f"{case}[{kind}]",
                    "ours": round(ours, 1),
                    "reference": round(echo, 1),
                    "unit": "jobs/s vs echo req/s",
                    "ratio": round(ours / echo, 3),
                }
            )
        ours_ms, ref_ms = _cycle(url, admin, user, cycles)
        rows.append(
            {
                "case": f"lease_result[{kind}]",
                "ours": round(ours_ms, 3),
                "reference": round(ref_ms, 3),
                "unit": "ms per cycle vs 2 echo round trips",
                "ratio": round(ref_ms / ours_ms, 3),
            }
        )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    """The benchmark rows (SQLite, and PostgreSQL when its test URL is set)."""
    kinds = ["sqlite"] + (["postgres"] if os.environ.get("QRELAY_TEST_POSTGRES_URL") else [])
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        rows += _bench(kind, quick)
    return rows


if __name__ == "__main__":
    # ``python benchmarks/service_bench.py``: make ``benchmarks`` importable as a package.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
