"""Prometheus metrics of the service and of a worker, scraped after real jobs.

The service runs under uvicorn on a real database with a priced catalog; a real
:class:`~qrelay.worker.Worker` runs tasks in a thread and serves its own metrics on a
loopback port. Each scrape is parsed with ``prometheus_client``'s own parser.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.reliability.procs import PRICE, free_port, priced_catalog

from qrelay.exposition import serve_registry
from qrelay.worker import Worker
from qrelay.worker.metrics import WorkerMetrics

from .support import (
    Live,
    Samples,
    bell,
    completed,
    samples,
    scrape_until,
    start,
    value,
    wait_for,
)

METRICS_TOKEN = "metrics-" + secrets.token_urlsafe(12)
TARGET = "aer_simulator"


@pytest.fixture(scope="module")
def priced(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    catalog = priced_catalog(tmp_path_factory.mktemp("catalog") / "targets.json")
    service = start(db_url, targets_file=catalog, metrics_token=METRICS_TOKEN, lease_seconds=5.0)
    yield service
    service.stop()


def scrape(live: Live) -> Samples:
    r = live.client(METRICS_TOKEN).get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


def job(shots: int = 10, priority: int | None = None) -> dict[str, object]:
    body: dict[str, object] = {"target": TARGET, "circuits": [bell()], "shots": shots}
    if priority is not None:
        body["priority"] = priority
    return body


def submit(client: httpx.Client, body: dict[str, object]) -> str:
    r = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 201, r.text
    return str(r.json()["job_id"])


def test_metrics_need_the_metrics_token_or_an_admin(priced: Live) -> None:
    assert priced.client().get("/metrics").status_code == 401
    assert priced.client("wrong-" + METRICS_TOKEN).get("/metrics").status_code == 401
    assert priced.user().get("/metrics").status_code == 403
    assert priced.admin.get("/metrics").status_code == 200
    assert "/metrics" not in priced.admin.get("/openapi.json").json()["paths"]


def test_counters_move_by_what_the_jobs_did(priced: Live) -> None:
    before = scrape(priced)
    user = priced.user(balance=100.0)
    worker_http = priced.worker([TARGET])

    # Two jobs queue at priority 3 and wait: the queue gauges see them.
    waiting = [submit(user, job(priority=3)) for _ in range(2)]
    # The queue is read at most every couple of seconds: wait for a fresh reading.
    mid = scrape_until(lambda: scrape(priced), "qrelay_queue_depth", 2, target=TARGET, priority="3")
    assert mid, "the queue depth did not show the two queued jobs"
    assert value(mid, "qrelay_queue_oldest_seconds", target=TARGET, priority="3") >= 0
    assert (
        value(mid, "qrelay_jobs_submitted_total", target=TARGET)
        - value(before, "qrelay_jobs_submitted_total", target=TARGET)
        == 2
    )

    # One is cancelled while queued; a worker leases the other and finishes it by hand.
    r = user.post("/v1/jobs/cancel", json={"job_ids": [waiting[0]]})
    assert r.json()["succeeded"] == [waiting[0]]
    task = worker_http.post("/v1/worker/lease", json={"targets": [TARGET], "wait": 5}).json()
    assert task["job_id"] == waiting[1]
    stale = worker_http.post(
        f"/v1/worker/tasks/{task['task_id']}/heartbeat", json={"lease_id": "0" * 32}
    )
    assert stale.status_code == 409  # fenced: not the current lease
    done = worker_http.post(
        f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 10)
    )
    assert done.status_code == 204, done.text

    # Three more run on a real worker (with its own metrics port).
    worker_token = worker_http.headers["authorization"].removeprefix("Bearer ")
    worker = Worker(priced.url, worker_token, [TARGET], lease_wait=1.0, heartbeat_seconds=1.0)
    worker_metrics = WorkerMetrics(worker)
    port = free_port()
    stop_port = serve_registry(worker_metrics.registry, "127.0.0.1", port)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        ran = [submit(user, job(shots=20)) for _ in range(3)]
        for job_id in ran:
            data = user.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
            assert data["status"] == "completed", data
        worker_scrape = scrape_until(
            lambda: samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text),
            "qrelay_worker_tasks_total",
            3,
            target=TARGET,
            outcome="completed",
        )
    finally:
        stop.set()
        worker.stop()
        thread.join(timeout=15)
        stop_port()
        worker.close()
    assert worker_scrape, "the worker's metrics did not count three tasks"
    assert value(worker_scrape, "qrelay_worker_task_seconds_count", target=TARGET) == 3
    assert value(worker_scrape, "qrelay_worker_engine_restarts_total") == 0

    after = scrape(priced)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("qrelay_jobs_submitted_total", target=TARGET) == 5
    assert moved("qrelay_jobs_ended_total", target=TARGET, status="completed") == 4
    assert moved("qrelay_jobs_ended_total", target=TARGET, status="cancelled") == 1
    assert moved("qrelay_jobs_ended_total", target=TARGET, status="failed") == 0
    assert moved("qrelay_leases_granted_total", target=TARGET) == 4
    assert moved("qrelay_leases_fenced_total") == 1
    assert moved("qrelay_job_queue_seconds_count", target=TARGET) == 4
    assert moved("qrelay_task_run_seconds_count", target=TARGET) == 4
    assert moved("qrelay_balance_charged_total", target=TARGET) == pytest.approx(
        PRICE * (10 + 3 * 20)
    )
    assert scrape_until(
        lambda: scrape(priced), "qrelay_queue_depth", 0, target=TARGET, priority="3"
    )
    assert moved("qrelay_http_requests_total", method="POST", route="/v1/jobs", status="201") == 5
    assert (
        moved(
            "qrelay_http_requests_total",
            method="POST",
            route="/v1/worker/tasks/{task_id}/heartbeat",
            status="409",
        )
        == 1
    )
    assert moved("qrelay_http_request_seconds_count", route="/v1/jobs") == 5
    balance = user.get("/v1/me/balance").json()["balance"]
    assert balance == pytest.approx(100.0 - PRICE * 70)


def test_an_expired_lease_is_counted(db_url: str) -> None:
    service = start(db_url, metrics_on_app=True, lease_seconds=0.3, max_attempts=1)
    try:
        user = service.user()
        worker = service.worker([TARGET])
        job_id = submit(user, job())
        assert worker.post("/v1/worker/lease", json={"targets": [TARGET]}).status_code == 200
        data = user.get(f"/v1/jobs/{job_id}", params={"wait": 20}).json()
        assert data["status"] == "failed"  # one attempt, and its lease ran out
        # Counted right after the commit: a long poll that read the database on its own
        # (its poll interval, not the wake-up) may answer a moment before the count.
        found = scrape_until(
            lambda: samples(service.admin.get("/metrics").text),
            "qrelay_jobs_ended_total",
            1,
            target=TARGET,
            status="failed",
        )
        assert found, "the failed job was not counted"
        assert value(found, "qrelay_leases_expired_total", target=TARGET) == 1
    finally:
        service.stop()


def test_the_metrics_port_serves_the_service_alone(db_url: str) -> None:
    port = free_port()
    service = start(db_url, metrics_port=port)
    try:
        submit(service.user(), job())
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        # A registry per service: this one counts only its own job.
        assert value(samples(text), "qrelay_jobs_submitted_total", target=TARGET) == 1
        assert service.admin.get("/metrics").status_code == 404  # not on the app
    finally:
        service.stop()
    assert wait_for(lambda: _closed(port), timeout=10), "the metrics port stayed open"


def test_without_settings_there_are_no_metrics(priced: Live, tmp_path: Path) -> None:
    service = start(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        assert service.admin.get("/metrics").status_code == 404
    finally:
        service.stop()


def _closed(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
    except httpx.TransportError:
        return True
    time.sleep(0.05)
    return False


def test_database_errors_reaching_a_request_are_counted(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'broken.db'}"
    service = start(url, metrics_token=METRICS_TOKEN)
    try:
        user = service.user()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE transitions"))  # every submission now fails
        engine.dispose()
        r = user.post("/v1/jobs", json=job(), headers={"Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code in (500, 503), r.text
        found = scrape(service)
        assert value(found, "qrelay_db_errors_total", kind="OperationalError") == 1
        assert value(found, "qrelay_jobs_submitted_total", target=TARGET) == 0
    finally:
        service.stop()
