"""Deployments sharing one QPU controller, and cancelling a program while it runs there.

Each deployment is a real service on its own SQLite file with a real worker; the
controller is real, on loopback. Two fresh deployments number their tasks alike, so the
first task of each has the same id: the attack of a predictable idempotency key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qrelay.plugins import SimulationEngine
from qrelay.qpu import api
from qrelay.qpu.security import ServerSecurity
from qrelay.qpu.server import ServerHandle, start_server
from qrelay.worker import Worker

from ._qpu import Deployment, HeldEngine, aer_engine, deployment, flip

pytest.importorskip("qrelay.service.app", reason="the service is not installed")

TOKEN = "qpu-token-shared-by-both-deployments"


@pytest.fixture(autouse=True)
def _no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QRELAY_QPU_TOKEN", "QRELAY_QPU_TOKEN_FILE", "QRELAY_QPU_TLS_CA"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def engine() -> SimulationEngine:
    return aer_engine()


def _worker(d: Deployment, address: str) -> Worker:
    return Worker(
        d.url,
        d.worker_token,
        ["square_qpu"],
        driver_config={"qpu_address": address, "qpu_token": TOKEN},
        lease_wait=5.0,
        heartbeat_seconds=0.2,
    )


def _ended(data: dict[str, object]) -> bool:
    return set(data["statuses"]) <= {"completed", "failed", "cancelled"}  # type: ignore[arg-type]


@pytest.fixture
def shared(engine: SimulationEngine) -> Iterator[ServerHandle]:
    """One controller both deployments use, with one token they share (the worst case:
    the controller cannot tell them apart, only their keys can)."""
    security = ServerSecurity(tokens=(TOKEN,))
    handle = start_server(devices=["square_qpu"], engine=engine, seed=11, security=security)
    yield handle
    handle.stop(grace=0)


def test_two_deployments_with_the_same_task_id_each_get_their_own_run(
    tmp_path: Path, shared: ServerHandle
) -> None:
    with deployment(tmp_path / "a") as a, deployment(tmp_path / "b") as b:
        ones = a.submit(flip(True), shots=400)
        zeros = b.submit(flip(False), shots=400)
        # the attack's premise: the same task id on both sides, different deployments
        assert a.column("SELECT id FROM tasks") == b.column("SELECT id FROM tasks")
        assert a.column("SELECT id FROM deployment") != b.column("SELECT id FROM deployment")
        for d in (a, b):
            with _worker(d, shared.address) as worker:
                assert worker.run_once(wait=10.0)
        got_a = a.until(ones, _ended)
        got_b = b.until(zeros, _ended)
        assert got_a["statuses"] == ["completed"], got_a.get("status_messages")
        assert got_b["statuses"] == ["completed"], got_b.get("status_messages")
        # each received its own program's counts: all ones for a, all zeros for b
        assert got_a["counts"][0].get("1", 0) > 300
        assert got_b["counts"][0].get("0", 0) > 300
        assert got_a["provider_id"] != got_b["provider_id"]
    assert shared.controller.info()["programs_executed"] == 2


def test_cancelling_a_running_program_cancels_it_on_the_controller(
    tmp_path: Path, engine: SimulationEngine
) -> None:
    held = HeldEngine(engine)
    security = ServerSecurity(tokens=(TOKEN,))
    handle = start_server(devices=["square_qpu"], engine=held, seed=5, security=security)
    try:
        with deployment(tmp_path / "c") as d, _worker(d, handle.address) as worker:
            job_id = d.submit(flip(True), shots=200)
            thread = threading.Thread(target=worker.run_once, kwargs={"wait": 10.0})
            thread.start()
            assert held.started.wait(timeout=60), "the program never started"
            # the device's job id is stored with the service once the device took it
            data = d.until(job_id, lambda j: str(j["provider_id"][0]).startswith("square_qpu-"))
            qpu_job = str(data["provider_id"][0])
            with api.QpuClient(gateway=handle.address, token=TOKEN) as client:
                assert api.get_job_status(qpu_job, client=client).state == "running"
                response = d.http.post("/v1/jobs/cancel", json={"job_ids": [job_id]})
                assert response.status_code == 200, response.text
                # the worker's cooperative cancel reaches the controller while it runs
                deadline = time.monotonic() + 30
                while api.get_job_status(qpu_job, client=client).state != "cancelled":
                    assert time.monotonic() < deadline, "the controller job was not cancelled"
                    time.sleep(0.05)
                held.release.set()
                thread.join(timeout=60)
                assert not thread.is_alive()
                status = api.get_job_status(qpu_job, client=client)
                assert status.state == "cancelled"
                with pytest.raises(api.QpuJobCancelledError):
                    api.retrieve_results(qpu_job, client=client)
            assert handle.controller.info()["jobs_completed"] == 0
            final = d.until(job_id, _ended)
            assert final["statuses"] == ["cancelled"]
            assert not final.get("readouts") or final["readouts"][0] is None
    finally:
        held.release.set()
        handle.stop(grace=0)
