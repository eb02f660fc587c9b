"""Faults at the edges of one request: a client cut mid-submit, a result posted twice or late."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.service.support import database

from qrelay.payload import Readout

from .circuits import bell
from .procs import PRICE, Stack, priced_catalog, submit, wait_until

BALANCE = 100.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("edges")
    with database("sqlite", tmp) as url:
        stack = Stack(home=tmp, database_url=url, lease_seconds=1.0)
        stack.targets_file = priced_catalog(tmp / "targets.json")
        stack.start_service()
        try:
            yield stack
        finally:
            stack.close()


def _raw_post(stack: Stack, token: str, key: str, body: bytes, send: int) -> None:
    """POST /v1/jobs over a raw socket, sending only ``send`` body bytes, then hang up."""
    head = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", stack.port)) as s:
        s.sendall(head + body[:send])
        s.shutdown(socket.SHUT_RDWR)  # gone before any answer is read


@pytest.mark.parametrize("fraction", [0.5, 1.0], ids=["half-body", "whole-body"])
def test_cut_mid_submit_then_retry_with_the_key_gives_one_job(
    served: Stack, fraction: float
) -> None:
    token = served.new_user(BALANCE)
    user = served.client(token)
    body = json.dumps({"target": "aer_simulator", "circuits": [bell()], "shots": 100}).encode()
    key = f"cut-{fraction}"
    _raw_post(served, token, key, body, int(len(body) * fraction))
    time.sleep(0.2)  # let the server finish whatever it got (not an assertion on time)
    first = user.post(
        "/v1/jobs",
        content=body,
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    again = user.post(
        "/v1/jobs",
        content=body,
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert first.status_code in (200, 201), first.text
    assert again.status_code == 200, again.text
    assert first.json()["job_id"] == again.json()["job_id"]
    assert [j["job_id"] for j in user.get("/v1/jobs").json()["jobs"]] == [first.json()["job_id"]]
    user.post("/v1/jobs/cancel", json={"job_ids": [first.json()["job_id"]]})  # off the queue


def _result(lease_id: str, shots: int) -> dict[str, Any]:
    bits = np.zeros((shots, 2), dtype=np.uint8)
    bits[::2] = 1
    return {
        "lease_id": lease_id,
        "status": "completed",
        "successful_shots": shots,
        "readouts": [Readout.from_arrays({"c": bits}).model_dump(mode="json")],
    }


def test_result_twice_or_after_lease_loss_is_refused_and_changes_nothing(served: Stack) -> None:
    token = served.new_user(BALANCE)
    user = served.client(token)
    a = served.client(served.new_worker_token(["aer_simulator"]))
    b = served.client(served.new_worker_token(["aer_simulator"]))
    job_id = submit(user, {"target": "aer_simulator", "circuits": [bell()], "shots": 100})
    lease = {"targets": ["aer_simulator"], "wait": 5}
    first = a.post("/v1/worker/lease", json=lease).json()
    assert first["job_id"] == job_id

    # A stops heartbeating; its lease expires and B gets the task with a fresh lease id
    second = wait_until(
        lambda: (
            (r := b.post("/v1/worker/lease", json={**lease, "wait": 1})).status_code == 200
            and r.json()
        ),
        30,
        "the expired lease to be reclaimed",
    )
    assert second["task_id"] == first["task_id"]
    assert second["lease_id"] != first["lease_id"]
    assert second["attempt"] == 2
    held = user.get(f"/v1/jobs/{job_id}").json()
    late = a.post(
        f"/v1/worker/tasks/{first['task_id']}/result", json=_result(first["lease_id"], 90)
    )
    assert late.status_code == 409
    assert late.json()["code"] == "lease_lost"
    beat = a.post(
        f"/v1/worker/tasks/{first['task_id']}/heartbeat", json={"lease_id": first["lease_id"]}
    )
    assert beat.status_code == 409
    assert beat.json()["code"] == "lease_lost"
    assert user.get(f"/v1/jobs/{job_id}").json() == held
    assert user.get("/v1/me/balance").json()["balance"] == BALANCE

    ok = b.post(
        f"/v1/worker/tasks/{second['task_id']}/result", json=_result(second["lease_id"], 80)
    )
    assert ok.status_code == 204, ok.text
    done = user.get(f"/v1/jobs/{job_id}", params={"include": "readout"}).json()
    charged = user.get("/v1/me/balance").json()["balance"]
    assert charged == pytest.approx(BALANCE - 80 * PRICE)

    for worker, leased, shots in ((b, second, 60), (a, first, 70)):  # twice, and late again
        again = worker.post(
            f"/v1/worker/tasks/{leased['task_id']}/result", json=_result(leased["lease_id"], shots)
        )
        assert again.status_code == 409, again.text
    assert user.get(f"/v1/jobs/{job_id}", params={"include": "readout"}).json() == done
    assert user.get("/v1/me/balance").json()["balance"] == charged
