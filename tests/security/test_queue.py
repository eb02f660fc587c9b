"""Attacks on the queue: leases, fair share, results too large, cancelling for free.

Each test runs the app under uvicorn on loopback, on SQLite and on PostgreSQL (when the
test server is set), and plays the attack through the worker and job routes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from tests.service.support import Live, bell, completed, database, new_job, start

from qrelay.service.db.tables import jobs, tasks

from .conftest import PRICE, Served


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with database(request.param, tmp_path_factory.mktemp("queue")) as url:
        yield url


@pytest.fixture(scope="module")
def live(db_url: str) -> Iterator[Live]:
    service = start(db_url, max_body_bytes=256 * 1024)
    yield service
    service.stop()


def _submit(user: httpx.Client, job: dict[str, Any]) -> httpx.Response:
    return user.post("/v1/jobs", json=job, headers={"Idempotency-Key": uuid.uuid4().hex})


def _lease(worker: httpx.Client, targets: list[str] | None = None) -> dict[str, Any] | None:
    r = worker.post("/v1/worker/lease", json={"targets": targets or ["aer_simulator"], "wait": 0})
    assert r.status_code in (200, 204), r.text
    return dict(r.json()) if r.status_code == 200 else None


def _drain(worker: httpx.Client) -> None:
    """End every queued task, so each test starts from an empty queue."""
    while (task := _lease(worker)) is not None:
        worker.post(
            f"/v1/worker/tasks/{task['task_id']}/result",
            json={"lease_id": task["lease_id"], "status": "failed", "status_message": "drained"},
        )


def _task_row(database_url: str, task_id: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(tasks).where(tasks.c.id == int(task_id))).mappings().one()
            return dict(row)
    finally:
        engine.dispose()


def test_a_lease_id_alone_does_not_let_another_worker_act(live: Live) -> None:
    user, holder, thief = live.user(), live.worker(), live.worker()
    _drain(holder)
    assert _submit(user, new_job()).status_code == 201
    task = _lease(holder)
    assert task is not None
    before = _task_row(live.database_url, task["task_id"])
    lease = task["lease_id"]
    for path, body in (
        ("heartbeat", {"lease_id": lease}),
        ("status", {"lease_id": lease, "status": "running"}),
        ("result", completed(lease, 100)),
    ):
        r = thief.post(f"/v1/worker/tasks/{task['task_id']}/{path}", json=body)
        assert r.status_code == 403, r.text
        assert "leased to another worker" in r.json()["detail"]
    assert _task_row(live.database_url, task["task_id"]) == before  # nothing changed
    r = holder.post(f"/v1/worker/tasks/{task['task_id']}/result", json=completed(lease, 100))
    assert r.status_code == 204, r.text


def test_a_lease_naming_a_target_thousands_of_times_is_refused_naming_the_cap(
    live: Live,
) -> None:
    worker = live.worker()
    r = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"] * 5000, "wait": 0})
    assert r.status_code == 422, r.text
    assert "targets" in r.text
    assert "100" in r.json()["detail"]
    # a few repeats within the cap are one target
    r = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"] * 50, "wait": 0})
    assert r.status_code in (200, 204), r.text


def test_the_store_caps_a_leases_targets_too(db_url: str) -> None:
    """The store's own lease (the embedded default calls it without the HTTP route)
    refuses more than 100 distinct targets, naming the cap, and leases nothing."""
    from qrelay.service.app import ServiceRuntime
    from qrelay.service.auth import WorkerPrincipal
    from qrelay.service.db.migrate import upgrade
    from qrelay.service.problems import ApiError
    from qrelay.settings import ServiceSettings

    rt = ServiceRuntime(ServiceSettings(database_url=db_url))
    upgrade(rt.engine)
    try:
        names = [f"t{i}" for i in range(101)]
        worker_id = rt.store.create_worker("w", ["aer_simulator"], "wt-" + uuid.uuid4().hex, None)
        principal = WorkerPrincipal(worker_id, "w", frozenset(names))
        with pytest.raises(ApiError) as refused:
            rt.store.lease_many(principal, names, 4)
        assert refused.value.status == 422
        assert "100" in str(refused.value)
        assert rt.store.lease_many(principal, names[:100] * 2, 4) == []  # repeats: one each
    finally:
        rt.engine.dispose()


def test_one_lease_statement_whatever_the_number_of_targets(db_url: str) -> None:
    """Leases naming 1..5 targets run the same two statement texts (the head of the queue,
    the lease of the tasks taken): nothing grows per list length."""
    from sqlalchemy import event

    from qrelay.service.app import ServiceRuntime
    from qrelay.service.auth import WorkerPrincipal
    from qrelay.service.db.migrate import upgrade
    from qrelay.settings import ServiceSettings

    names = ["aer_simulator", "cirq_simulator", "square_qpu", "heavyhex_qpu", "ion_qpu"]
    rt = ServiceRuntime(ServiceSettings(database_url=db_url))
    upgrade(rt.engine)
    seen: set[str] = set()

    def note(sql: str) -> None:
        if sql.lstrip().upper().startswith(("UPDATE TASKS SET STATUS=CASE", "SELECT TASKS.ID")):
            # SQLite traces statements with their values in line: keep the shape only
            seen.add(re.sub(r"\b\d+\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql)))

    if rt.engine.dialect.name == "sqlite":

        @event.listens_for(rt.engine, "connect")
        def _trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(note)
    else:
        import psycopg

        class Traced(psycopg.Cursor[Any]):
            """A cursor that notes each statement it sends (the store's prebuilt
            statements go straight to the driver, past SQLAlchemy's events)."""

            def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
                note(str(query))
                return super().execute(query, *args, **kwargs)

        @event.listens_for(rt.engine, "connect")
        def _traced(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.cursor_factory = Traced

    rt.engine.dispose()  # new connections, traced
    try:
        worker_id = rt.store.create_worker("w", ["aer_simulator"], "wt-" + uuid.uuid4().hex, None)
        principal = WorkerPrincipal(worker_id, "w", frozenset(names))
        for count in range(1, len(names) + 1):
            rt.store.lease(principal, names[:count])
            rt.store.lease(principal, names[:count] * 3)
    finally:
        rt.engine.dispose()
    assert len(seen) == 2, seen


def test_a_backlog_does_not_starve_another_users_job(live: Live) -> None:
    """A 20-circuit job queued first; another user's job of the same priority is leased
    second, not 21st."""
    hog, other, worker = live.user(), live.user(), live.worker()
    _drain(worker)
    assert _submit(hog, new_job(circuits=20)).status_code == 201
    mine = _submit(other, new_job()).json()["job_id"]
    order = []
    while (task := _lease(worker)) is not None:
        order.append(task["job_id"])
        worker.post(
            f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
        )
    assert len(order) == 21
    assert order.index(mine) <= 1, order


def test_backlogs_of_several_users_take_turns(live: Live) -> None:
    a, b, worker = live.user(), live.user(), live.worker()
    _drain(worker)
    job_a = _submit(a, new_job(circuits=4)).json()["job_id"]
    job_b = _submit(b, new_job(circuits=4)).json()["job_id"]
    order = []
    while (task := _lease(worker)) is not None:
        order.append("a" if task["job_id"] == job_a else "b" if task["job_id"] == job_b else "?")
        worker.post(
            f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
        )
    assert order == ["a", "b"] * 4


def test_unfinished_circuits_are_capped_per_user(
    db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Jobs that will fail are free, so what bounds them is a cap on unfinished circuits."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    with database(kind, tmp_path_factory.mktemp("cap")) as url:
        live = start(url, max_unfinished_circuits=60)
        try:
            _capped(live)
        finally:
            live.stop()


def _capped(live: Live) -> None:
    user, worker = live.user(), live.worker()
    assert _submit(user, new_job(circuits=40)).status_code == 201
    r = _submit(user, new_job(circuits=30))
    assert r.status_code == 429, r.text
    assert r.json()["max_unfinished_circuits"] == 60
    assert "max_unfinished_circuits 60" in r.json()["detail"]
    _drain(worker)  # the first job fails: it no longer counts
    assert _submit(user, new_job(circuits=30)).status_code == 201
    _drain(worker)


def test_a_result_that_could_not_be_posted_is_refused_at_submission(live: Live) -> None:
    """3,000 shots of a 1,000-bit register: about 500 kB of readout, over a 256 KiB limit."""
    user = live.user()
    circuit = bell()
    circuit["registers"] = [{"name": "c", "size": 1000}]
    count_before = _count_jobs(live.database_url)
    for extra in ({}, {"dry_run": True}):
        r = _submit(user, {"target": "aer_simulator", "circuits": [circuit], "shots": 3000} | extra)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "3000 shots" in detail
        assert "1000 bits" in detail
        assert "max_body_bytes 262144" in detail
    assert _count_jobs(live.database_url) == count_before
    # the same circuit with fewer shots fits
    r = _submit(user, {"target": "aer_simulator", "circuits": [circuit], "shots": 100})
    assert r.status_code == 201, r.text


def test_cancelling_after_the_lease_gets_no_results(live: Live) -> None:
    """The worker's result arrives after the cancel: withheld, and nothing is charged."""
    user, worker = live.user(), live.worker()
    _drain(worker)
    job_id = _submit(user, new_job()).json()["job_id"]
    task = _lease(worker)
    assert task is not None
    assert task["job_id"] == job_id
    assert user.post("/v1/jobs/cancel", json={"job_ids": [job_id]}).status_code == 200
    r = worker.post(
        f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100)
    )
    assert r.status_code == 204, r.text
    data = user.get(f"/v1/jobs/{job_id}", params={"include": "readout"}).json()
    assert data["status"] == "cancelled"
    assert data["readouts"] == [None]
    assert data["counts"] == [None]
    results = user.get(f"/v1/jobs/{job_id}/results").json()
    assert results["readouts"] == [None]
    assert data["cost"] == 0.0


def _count_jobs(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(jobs.c.id)).all())
    finally:
        engine.dispose()


def test_compile_jobs_are_charged(served: Served) -> None:
    """A compile job runs no shots but takes a worker: it costs one shot per circuit."""
    token, _uid = served.new_user(balance=1.0)
    user = served.client(token)
    worker = served.client(served.new_worker(["aer_simulator"]))
    _drain(worker)
    r = _submit(user, new_job(circuits=3, job_type="compile"))
    assert r.status_code == 201, r.text
    assert r.json()["estimated_cost"] == pytest.approx(3 * PRICE)
    job_id = r.json()["job_id"]
    while (task := _lease(worker)) is not None:
        assert task["job_id"] == job_id
        r = worker.post(
            f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 0)
        )
        assert r.status_code == 204, r.text
    data = user.get(f"/v1/jobs/{job_id}").json()
    assert data["status"] == "completed"
    assert data["cost"] == pytest.approx(3 * PRICE)
    assert user.get("/v1/me/balance").json()["balance"] == pytest.approx(1.0 - 3 * PRICE)
