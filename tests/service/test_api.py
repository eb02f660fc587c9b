"""The service's API end to end, on the real app and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, select

from qrelay.payload import CircuitStatus, JobData, JobPage, JobResults, NewJobResponse, WorkerTask
from qrelay.service.db.tables import audit, transitions

from .support import Live, bell, completed, new_job, readout, start, wait_for


def _key() -> str:
    return uuid.uuid4().hex


def submit(c: httpx.Client, body: dict | None = None, **extra: object) -> str:
    r = c.post("/v1/jobs", json=body or new_job(**extra), headers={"Idempotency-Key": _key()})
    assert r.status_code == 201, r.text
    return NewJobResponse.model_validate_json(r.content).job_id


def lease(w: httpx.Client, wait: float = 0) -> WorkerTask | None:
    r = w.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": wait})
    if r.status_code == 204:
        return None
    assert r.status_code == 200, r.text
    return WorkerTask.model_validate_json(r.content)


def drain(w: httpx.Client) -> None:
    while (task := lease(w)) is not None:
        r = w.post(
            f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, task.shots)
        )
        assert r.status_code == 204, r.text


def test_health_readiness_and_openapi(live: Live) -> None:
    c = live.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/readyz").json() == {"status": "ready"}
    doc = c.get("/openapi.json").json()
    assert "/v1/jobs" in doc["paths"]
    assert "NewJob" in doc["components"]["schemas"]


def test_job_runs_through_and_results_come_back(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    job_id = submit(user, tags=["exp-1"], metadata={"run": 3})
    data = JobData.model_validate_json(user.get(f"/v1/jobs/{job_id}").content)
    assert data.status.value == "awaiting_submission"
    assert data.queue_position == 0
    task = lease(worker)
    assert task is not None
    assert task.job_id == job_id
    assert task.attempt == 1
    assert task.circuit.registers[0].name == "c"
    r = worker.post(
        f"/v1/worker/tasks/{task.task_id}/status",
        json={"lease_id": task.lease_id, "status": "running", "execution_id": "exec-1"},
    )
    assert r.status_code == 204, r.text
    assert user.get(f"/v1/jobs/{job_id}").json()["status"] == "running"
    hb = worker.post(f"/v1/worker/tasks/{task.task_id}/heartbeat", json={"lease_id": task.lease_id})
    assert hb.status_code == 200
    assert hb.json()["cancel_requested"] is False
    r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100))
    assert r.status_code == 204, r.text
    data = JobData.model_validate_json(user.get(f"/v1/jobs/{job_id}?include=readout").content)
    assert data.status.value == "completed"
    assert data.counts == [{"11": 50, "00": 50}]
    assert data.provider_id == ["exec-1"]
    assert data.readouts is not None
    assert data.readouts[0] is not None
    assert data.readouts[0][0].successful_shots == 100
    assert data.layouts is not None
    assert data.layouts[0].registers[0].name == "c"
    results = JobResults.model_validate_json(user.get(f"/v1/jobs/{job_id}/results").content)
    assert results.readouts[0] is not None
    assert results.readouts[0][0].counts() == {
        "11": 50,
        "00": 50,
    }
    # every transition was recorded with a time
    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        moves = conn.execute(
            select(transitions.c.from_status, transitions.c.to_status)
            .where(transitions.c.task_id == int(task.task_id))
            .order_by(transitions.c.id)
        ).all()
    engine.dispose()
    assert [tuple(m) for m in moves] == [
        ("received", "awaiting_submission"),
        ("awaiting_submission", "pending"),
        ("pending", "running"),
        ("running", "completed"),
    ]


def test_wait_wakes_when_the_job_ends(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    job_id = submit(user)
    got: dict[str, object] = {}

    def waiter() -> None:
        got["data"] = user.get(f"/v1/jobs/{job_id}?wait=30&include=readout").json()

    thread = threading.Thread(target=waiter)
    thread.start()
    task = lease(worker, wait=5)
    assert task is not None
    worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100))
    thread.join(timeout=30)
    data = got["data"]
    assert isinstance(data, dict)
    assert data["status"] == "completed"
    assert data["readouts"][0]


def test_lease_long_poll_wakes_on_submission(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    got: list[WorkerTask | None] = []
    thread = threading.Thread(target=lambda: got.append(lease(worker, wait=30)))
    thread.start()
    job_id = submit(user)
    thread.join(timeout=30)
    assert got
    assert got[0] is not None
    assert got[0].job_id == job_id
    worker.post(f"/v1/worker/tasks/{got[0].task_id}/result", json=completed(got[0].lease_id, 100))


def test_a_job_handed_to_a_waiting_worker_keeps_the_queue_order(live: Live) -> None:
    """A job submitted while a worker waits is leased to it as the job is stored, unless an
    older job of the target is queued: one stored through another replica, whose
    submission woke nobody here. Then the worker gets the older job first."""
    user, worker = live.user(), live.worker()
    drain(worker)
    replica = start(live.database_url, live.admin_token)
    try:
        got: list[WorkerTask | None] = []
        thread = threading.Thread(target=lambda: got.append(lease(worker, wait=30)))
        thread.start()
        rt = live.server.config.app.state.runtime
        wait_for(lambda: rt.notifier.waiting("target:aer_simulator"), timeout=10)
        older = submit(replica.client(user.headers["Authorization"].split()[1]))
        newer = submit(user)
        thread.join(timeout=30)
        assert got
        assert got[0] is not None
        assert got[0].job_id == older
        following = lease(worker, wait=5)
        assert following is not None
        assert following.job_id == newer
        for task in (got[0], following):
            r = worker.post(
                f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100)
            )
            assert r.status_code == 204, r.text
    finally:
        replica.stop()


def test_a_long_poll_answered_by_the_result_reads_as_the_job_does(live: Live) -> None:
    """The result that ends a job sends the job to the long polls waiting on it; that
    answer is byte for byte what reading the job gives."""
    user, worker = live.user(), live.worker()
    drain(worker)
    job_id = submit(user)
    got: dict[str, bytes] = {}

    def waiter() -> None:
        got["answer"] = user.get(f"/v1/jobs/{job_id}?wait=30&include=readout").content

    thread = threading.Thread(target=waiter)
    thread.start()
    rt = live.server.config.app.state.runtime
    wait_for(lambda: rt.notifier.waiting(f"job:{job_id}"), timeout=10)
    task = lease(worker, wait=5)
    assert task is not None
    r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100))
    assert r.status_code == 204, r.text
    thread.join(timeout=30)
    assert got["answer"] == user.get(f"/v1/jobs/{job_id}?include=readout").content
    assert json.loads(got["answer"])["status"] == "completed"


def _typed(raw: bytes) -> object:
    """JSON with each number tagged int or float, so 0 and 0.0 compare unequal."""
    return json.loads(
        raw, parse_int=lambda t: ("int", int(t)), parse_float=lambda t: ("float", float(t))
    )


def test_a_job_reads_as_validating_it_would_write_it(live: Live) -> None:
    """A job's JSON, with the parts the service splices in as it stored them, is what
    ``JobData`` validation and serialisation give (numbers keep their int or float kind),
    for a job queued, completed (with its layout, charge and logical-to-physical maps)
    and failed, read light and with readouts, and in a listing."""
    user, worker = live.user(balance=10**6), live.worker()
    drain(worker)
    done = submit(user, tags=["a", "b"], metadata={"run": 3, "note": "x"}, priority=2)
    failed = submit(user)
    for job_id in (done, failed):
        task = lease(worker, wait=5)
        assert task is not None
        assert task.job_id == job_id
        body = (
            completed(task.lease_id, 100)
            | {"initial_logical_to_physical": {"0": 3, "1": 4}, "execution_id": "run-7"}
            if job_id == done
            else {"lease_id": task.lease_id, "status": "failed", "status_message": "no device"}
        )
        r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=body)
        assert r.status_code == 204, r.text
    queued = submit(user, metadata={"pi": 3.5})
    for job_id in (done, failed, queued):
        for query in ("", "?include=readout"):
            raw = user.get(f"/v1/jobs/{job_id}{query}").content
            absent = {"layouts", "readouts"} - set(json.loads(raw))  # a light read leaves them out
            again = JobData.model_validate_json(raw).model_dump_json(exclude=absent)
            assert _typed(raw) == _typed(again.encode()), (job_id, query)
    page = user.get("/v1/jobs", params={"limit": 3}).content
    again = JobPage.model_validate_json(page).model_dump_json(
        exclude={"jobs": {"__all__": {"layouts", "readouts"}}}
    )
    assert _typed(page) == _typed(again.encode())
    drain(worker)


def _worker_answering_once(live: Live, worker: httpx.Client) -> threading.Thread:
    """A worker waiting on its lease (a long poll) that completes the one task it gets."""

    def work() -> None:
        task = lease(worker, wait=30)
        assert task is not None
        r = worker.post(
            f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100)
        )
        assert r.status_code == 204, r.text

    thread = threading.Thread(target=work)
    thread.start()
    rt = live.server.config.app.state.runtime
    wait_for(lambda: rt.notifier.waiting("target:aer_simulator"), timeout=10)
    return thread


def test_prefer_wait_answers_a_small_job_finished_when_a_worker_is_idle(live: Live) -> None:
    """``Prefer: wait=N`` (RFC 7240): a small simulation that an idle worker takes at once
    is answered once it has ended, with the job and its readouts; the long poll is saved."""
    user, worker = live.user(), live.worker()
    drain(worker)
    thread = _worker_answering_once(live, worker)
    r = user.post(
        "/v1/jobs",
        json=new_job(),
        headers={"Idempotency-Key": uuid.uuid4().hex, "Prefer": "wait=20"},
    )
    thread.join(timeout=30)
    assert r.status_code == 201, r.text
    assert r.headers["Preference-Applied"] == "wait=20"
    answer = NewJobResponse.model_validate_json(r.content)
    assert answer.job is not None
    assert answer.job.job_id == answer.job_id
    assert answer.job.statuses == [CircuitStatus.COMPLETED]
    assert answer.job.readouts is not None
    assert answer.job.readouts[0][0].successful_shots == 100


@pytest.mark.parametrize(
    ("body", "prefer", "idle_worker"),
    [
        (new_job(), "wait=20", False),  # nobody to run it at once: it may queue for long
        (new_job() | {"circuits": [bell() | {"num_qubits": 14}]}, "wait=20", True),  # too wide
        (new_job(), None, True),  # not asked to wait
        (new_job(), "wait=abc", True),  # a preference it cannot read is ignored
    ],
)
def test_prefer_wait_is_answered_at_once_otherwise(
    live: Live, body: dict[str, object], prefer: str | None, idle_worker: bool
) -> None:
    user, worker = live.user(balance=10**9), live.worker()
    drain(worker)
    thread = _worker_answering_once(live, worker) if idle_worker else None
    headers = {"Idempotency-Key": uuid.uuid4().hex} | ({"Prefer": prefer} if prefer else {})
    r = user.post("/v1/jobs", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert "Preference-Applied" not in r.headers
    assert NewJobResponse.model_validate_json(r.content).job is None
    if thread is not None:
        thread.join(timeout=30)


def test_a_result_can_lease_the_next_task_in_the_same_request(live: Live) -> None:
    """``POST .../result?lease=T&wait=W`` stores the result, then long-polls for the next
    task of ``T`` as ``/v1/worker/lease`` does: 200 with it, 204 when none came."""
    user, worker = live.user(), live.worker()
    drain(worker)

    def post(task: WorkerTask, targets: list[str], wait: float) -> httpx.Response:
        return worker.post(
            f"/v1/worker/tasks/{task.task_id}/result",
            params={"lease": targets, "wait": wait},
            json=completed(task.lease_id, 100),
        )

    first, second = submit(user), submit(user)
    task = lease(worker, wait=5)
    assert task is not None
    assert task.job_id == first
    r = post(task, ["aer_simulator"], 5)
    assert r.status_code == 200, r.text
    following = WorkerTask.model_validate_json(r.content)
    assert following.job_id == second
    assert user.get(f"/v1/jobs/{first}").json()["statuses"] == ["completed"]
    r = post(following, ["aer_simulator"], 0.1)
    assert r.status_code == 204, r.text  # stored; nothing else queued
    assert user.get(f"/v1/jobs/{second}").json()["statuses"] == ["completed"]
    stale = post(following, ["aer_simulator"], 5)
    assert stale.status_code == 409  # the lease ended with the result: refused at once
    third = submit(user)
    task = lease(worker, wait=5)
    assert task is not None
    assert task.job_id == third
    foreign = post(task, ["not_served"], 5)
    assert foreign.status_code == 403
    assert "not_served" in foreign.json()["detail"]
    assert user.get(f"/v1/jobs/{third}").json()["statuses"] != ["completed"]  # nothing stored
    done = worker.post(
        f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100)
    )
    assert done.status_code == 204  # the lease still holds: the result goes in plainly


def test_priority_orders_the_queue_and_is_capped_by_role(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    low = submit(user, priority=1)
    high = submit(user, priority=5)
    first = lease(worker)
    assert first is not None
    assert first.job_id == high
    second = lease(worker)
    assert second is not None
    assert second.job_id == low
    for t in (first, second):
        worker.post(f"/v1/worker/tasks/{t.task_id}/result", json=completed(t.lease_id, 100))
    r = user.post("/v1/jobs", json=new_job(priority=9), headers={"Idempotency-Key": _key()})
    assert r.status_code == 403
    assert r.json()["code"] == "priority_too_high"
    assert "5" in r.json()["detail"]


def test_validation_errors_name_the_field_and_store_nothing(live: Live) -> None:
    user = live.user()
    before = user.get("/v1/jobs").json()["jobs"]
    bad = new_job()
    bad["circuits"][0]["instructions"][1]["qubits"] = [0, 7]
    cases = [
        (bad, "7"),
        (new_job(shots=0), "shots"),
        (new_job() | {"shot": 5}, "shot"),
        (new_job() | {"target": "nope"}, "target"),
        (new_job(shots=2_000_000), "shots"),
    ]
    for body, word in cases:
        r = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": _key()})
        assert r.status_code == 422, r.text
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "validation_error"
        assert word in problem["detail"]
    r = user.post("/v1/jobs", json=new_job())
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["detail"]
    assert user.get("/v1/jobs").json()["jobs"] == before


def test_body_over_the_limit_gets_413(live: Live) -> None:
    from .support import start

    small = start(live.database_url, admin_token=live.admin_token, max_body_bytes=2048)
    try:
        user = small.user()
        body = new_job(circuits=20)
        r = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": _key()})
        assert r.status_code == 413
        assert r.json()["code"] == "payload_too_large"
    finally:
        small.stop()


def test_balance_dry_run_402_and_charges(live: Live) -> None:
    # a priced target comes from a catalog file; the default simulators are free, so the
    # charge rules are checked on a priced catalog in test_catalog.py. Here: free target.
    user = live.user(balance=0.0)
    r = user.post("/v1/jobs", json=new_job(dry_run=True), headers={"Idempotency-Key": _key()})
    assert r.status_code == 201
    assert r.json()["dry_run"] is True
    assert r.json()["estimated_cost"] == 0.0
    assert user.get("/v1/me/balance").json() == {"balance": 0.0}
    me = user.get("/v1/me").json()
    assert me["role"] == "user"
    assert me["max_priority"] == 5


def test_cancel_queued_and_running(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    running = submit(user)
    task = lease(worker)
    assert task is not None
    queued = submit(user)
    r = user.post("/v1/jobs/cancel", json={"job_ids": [queued, running, "missing"]})
    out = r.json()
    assert sorted(out["succeeded"]) == sorted([queued, running])
    assert out["not_found"] == ["missing"]
    assert user.get(f"/v1/jobs/{queued}").json()["status"] == "cancelled"
    assert user.get(f"/v1/jobs/{running}").json()["status"] == "cancelled"
    assert lease(worker) is None  # the cancelled queued circuit is not handed out
    hb = worker.post(f"/v1/worker/tasks/{task.task_id}/heartbeat", json={"lease_id": task.lease_id})
    assert hb.json()["cancel_requested"] is True
    r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100))
    assert r.status_code == 204
    data = user.get(f"/v1/jobs/{running}?include=readout").json()
    assert data["status"] == "cancelled"
    assert data["readouts"][0] is None  # withheld: cancelled before its result came
    assert data["counts"] == [None]
    assert data["cost"] == 0.0
    again = user.post("/v1/jobs/cancel", json={"job_ids": [queued]}).json()
    assert again["already_terminal"] == [queued]


def test_delete_only_ended_jobs(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    job_id = submit(user)
    r = user.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    drain(worker)
    assert user.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert user.get(f"/v1/jobs/{job_id}").json()["status"] == "deleted"
    listed = JobPage.model_validate_json(user.get("/v1/jobs").content)
    assert job_id not in [j.job_id for j in listed.jobs]


def test_listing_filters_and_pages(live: Live) -> None:
    user = live.user()
    ids = [submit(user, tags=["sweep"] if i % 2 else ["other"]) for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = JobPage.model_validate_json(user.get("/v1/jobs", params=params).content)
        seen += [j.job_id for j in page.jobs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids[::-1]
    tagged = user.get("/v1/jobs", params={"tag": "sweep"}).json()["jobs"]
    assert sorted(j["job_id"] for j in tagged) == sorted(ids[1::2])
    queued = user.get("/v1/jobs", params={"status": ["awaiting_submission", "pending"]}).json()
    assert {j["job_id"] for j in queued["jobs"]} >= set(ids)
    r = user.get("/v1/jobs", params={"limit": 0})
    assert r.status_code == 422
    assert "limit" in r.json()["detail"]


def test_worker_results_are_validated(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    job_id = submit(
        user,
        body={
            "target": "aer_simulator",
            "circuits": [
                bell()
                | {
                    "parameters": ["t"],
                    "instructions": [
                        {"op": "rx", "qubits": [0], "params": ["t"]},
                        *bell()["instructions"],
                    ],
                }
            ],
            "bindings": [{"names": ["t"], "values": [[0.1], [0.2]]}],
            "shots": 10,
        },
    )
    task = lease(worker)
    assert task is not None
    assert task.job_id == job_id
    assert task.bindings is not None
    bad_rows = completed(task.lease_id, 10, rows=1)
    r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=bad_rows)
    assert r.status_code == 422
    assert "binding row" in r.json()["detail"]
    wrong = completed(task.lease_id, 10, rows=2)
    wrong["readouts"][1] = readout(10, width=3)
    r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=wrong)
    assert r.status_code == 422
    assert "readouts[1].registers" in r.json()["detail"]
    assert user.get(f"/v1/jobs/{job_id}").json()["status"] == "pending"
    r = worker.post(
        f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 10, rows=2)
    )
    assert r.status_code == 204
    data = JobData.model_validate_json(user.get(f"/v1/jobs/{job_id}?include=readout").content)
    assert data.readouts is not None
    assert len(data.readouts[0] or []) == 2


def test_targets_are_available_only_with_a_live_worker(live: Live) -> None:
    user = live.user()
    names = {t["target_name"]: t for t in user.get("/v1/targets").json()}
    assert {"aer_simulator", "cirq_simulator"} <= set(names)
    assert names["cirq_simulator"]["status"] == "offline"
    cirq_worker = live.worker(["cirq_simulator"])
    r = cirq_worker.post("/v1/worker/lease", json={"targets": ["cirq_simulator"], "wait": 0})
    assert r.status_code == 204
    info = user.get("/v1/targets/cirq_simulator").json()
    assert info["status"] == "available"
    assert info["driver"] == "cirq"
    sims = user.get("/v1/targets", params={"available": "true", "simulator": "true"}).json()
    assert "cirq_simulator" in {t["target_name"] for t in sims}
    assert user.get("/v1/targets/nope").status_code == 404


def test_admin_actions_are_audited(live: Live) -> None:
    user_client = live.user()
    me = user_client.get("/v1/me").json()
    r = live.admin.patch(f"/v1/users/{me['user_id']}", json={"balance": 42.0, "role": "priority"})
    assert r.status_code == 200
    assert r.json()["max_priority"] == 8
    assert user_client.get("/v1/me/balance").json() == {"balance": 42.0}
    new = live.admin.post(f"/v1/users/{me['user_id']}/token").json()["token"]
    assert user_client.get("/v1/me").status_code == 401
    assert live.client(new).get("/v1/me").json()["email"] == me["email"]
    listed = live.admin.get("/v1/users", params={"email": me["email"]}).json()
    assert [u["user_id"] for u in listed] == [me["user_id"]]
    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        actions = (
            conn.execute(select(audit.c.action).where(audit.c.subject == me["user_id"]))
            .scalars()
            .all()
        )
    engine.dispose()
    assert {"user.create", "user.update", "user.token"} <= set(actions)
    dup = live.admin.post("/v1/users", json={"name": "x", "email": me["email"]})
    assert dup.status_code == 409


@pytest.mark.parametrize("role", ["admin"])
def test_admins_submit_above_user_priority(live: Live, role: str) -> None:
    admin = live.user(role=role, balance=0.0)
    r = admin.post("/v1/jobs", json=new_job(priority=10), headers={"Idempotency-Key": _key()})
    assert r.status_code == 201


def test_admin_cancel_of_another_users_job_is_audited(live: Live) -> None:
    user = live.user()
    job_id = submit(user)
    out = live.admin.post("/v1/jobs/cancel", json={"job_ids": [job_id]}).json()
    assert out["succeeded"] == [job_id]
    engine = create_engine(live.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.action, audit.c.actor_kind).where(audit.c.subject == job_id)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("job.cancel", "admin")]


def test_chunked_body_over_the_limit_gets_413(live: Live) -> None:
    from .support import start

    small = start(live.database_url, admin_token=live.admin_token, max_body_bytes=2048)
    try:
        user = small.user()
        payload = json.dumps(new_job(circuits=20)).encode()
        chunks = (payload[i : i + 512] for i in range(0, len(payload), 512))
        r = user.post(
            "/v1/jobs",
            content=chunks,
            headers={"Idempotency-Key": _key(), "Content-Type": "application/json"},
        )
        assert r.status_code == 413
        assert r.json()["code"] == "payload_too_large"
        assert user.get("/v1/jobs").json()["jobs"] == []
    finally:
        small.stop()


def test_result_after_cancel_and_delete_is_accepted_and_changes_nothing(live: Live) -> None:
    user, worker = live.user(), live.worker()
    drain(worker)
    job_id = submit(user)
    task = lease(worker)
    assert task is not None
    user.post("/v1/jobs/cancel", json={"job_ids": [job_id]})
    assert user.delete(f"/v1/jobs/{job_id}").status_code == 204
    r = worker.post(f"/v1/worker/tasks/{task.task_id}/result", json=completed(task.lease_id, 100))
    assert r.status_code == 204
    assert user.get(f"/v1/jobs/{job_id}").json()["status"] == "deleted"
