"""Isolation: another user's job answers 404; the wrong kind of token is refused everywhere."""

from __future__ import annotations

import uuid

import pytest

from .support import Live, completed, new_job

USER_ENDPOINTS = [
    ("GET", "/v1/jobs/{job}", None),
    ("GET", "/v1/jobs/{job}/results", None),
    ("DELETE", "/v1/jobs/{job}", None),
    ("GET", "/v1/jobs", None),
    ("POST", "/v1/jobs", "job"),
    ("POST", "/v1/jobs/cancel", "cancel"),
    ("GET", "/v1/targets", None),
    ("GET", "/v1/targets/aer_simulator", None),
    ("GET", "/v1/me", None),
    ("GET", "/v1/me/balance", None),
]
ADMIN_ENDPOINTS = [
    ("POST", "/v1/users", {"name": "x", "email": "x@example.org"}),
    ("GET", "/v1/users", None),
    ("PATCH", "/v1/users/{user}", {"balance": 1}),
    ("POST", "/v1/users/{user}/token", None),
    ("POST", "/v1/workers", {"name": "w", "targets": ["aer_simulator"]}),
]
WORKER_ENDPOINTS = [
    ("POST", "/v1/worker/lease", {"targets": ["aer_simulator"], "wait": 0}),
    ("POST", "/v1/worker/tasks/{task}/heartbeat", {"lease_id": "{lease}"}),
    ("POST", "/v1/worker/tasks/{task}/status", {"lease_id": "{lease}", "status": "running"}),
    ("POST", "/v1/worker/tasks/{task}/result", "result"),
]


@pytest.fixture(scope="module")
def world(live: Live) -> dict[str, object]:
    owner, other, worker = live.user(), live.user(), live.worker()
    while (
        worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}).status_code
        == 200
    ):
        pass  # leave the queue to this module
    r = owner.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": "k"})
    job = r.json()["job_id"]
    task = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}).json()
    return {
        "owner": owner,
        "other": other,
        "worker": worker,
        "job": job,
        "task": task,
        "user_id": owner.get("/v1/me").json()["user_id"],
    }


def _fill(path: str, world: dict[str, object]) -> str:
    task = world["task"]
    assert isinstance(task, dict)
    return path.format(
        job=world["job"], user=world["user_id"], task=task["task_id"], lease=task["lease_id"]
    )


def _body(spec: object, world: dict[str, object]) -> object:
    task = world["task"]
    assert isinstance(task, dict)
    if spec == "job":
        return new_job()
    if spec == "cancel":
        return {"job_ids": [world["job"]]}
    if spec == "result":
        return completed(task["lease_id"], 100)
    if isinstance(spec, dict):
        return {k: (_fill(v, world) if isinstance(v, str) else v) for k, v in spec.items()}
    return spec


def test_another_users_job_is_not_found(live: Live, world: dict[str, object]) -> None:
    other = world["other"]
    job = world["job"]
    for method, path in (
        ("GET", "/v1/jobs/{job}"),
        ("GET", "/v1/jobs/{job}/results"),
        ("DELETE", "/v1/jobs/{job}"),
    ):
        r = other.request(method, _fill(path, world))  # type: ignore[attr-defined]
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "not_found"
    out = other.post("/v1/jobs/cancel", json={"job_ids": [job]}).json()  # type: ignore[attr-defined]
    assert out["not_found"] == [job]
    assert out["succeeded"] == []
    listed = other.get("/v1/jobs").json()  # type: ignore[attr-defined]
    assert job not in [j["job_id"] for j in listed["jobs"]]
    assert world["owner"].get(_fill("/v1/jobs/{job}", world)).json()["status"] == "pending"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "path", "spec"), USER_ENDPOINTS + ADMIN_ENDPOINTS)
def test_worker_token_is_refused_on_user_endpoints(
    live: Live, world: dict[str, object], method: str, path: str, spec: object
) -> None:
    r = world["worker"].request(
        method,
        _fill(path, world),
        json=_body(spec, world),
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )  # type: ignore[attr-defined]
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden", r.text


@pytest.mark.parametrize(("method", "path", "spec"), ADMIN_ENDPOINTS)
def test_user_token_is_refused_on_admin_endpoints(
    live: Live, world: dict[str, object], method: str, path: str, spec: object
) -> None:
    r = world["owner"].request(method, _fill(path, world), json=_body(spec, world))  # type: ignore[attr-defined]
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden", r.text


@pytest.mark.parametrize(("method", "path", "spec"), WORKER_ENDPOINTS)
def test_user_token_is_refused_on_worker_endpoints(
    live: Live, world: dict[str, object], method: str, path: str, spec: object
) -> None:
    r = world["owner"].request(method, _fill(path, world), json=_body(spec, world))  # type: ignore[attr-defined]
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden", r.text


@pytest.mark.parametrize(
    ("method", "path", "spec"), USER_ENDPOINTS + ADMIN_ENDPOINTS + WORKER_ENDPOINTS
)
def test_no_or_bad_token_is_401(
    live: Live, world: dict[str, object], method: str, path: str, spec: object
) -> None:
    for client in (live.client(), live.client("not-a-token")):
        r = client.request(method, _fill(path, world), json=_body(spec, world))
        assert r.status_code == 401
        assert r.json()["code"] == "unauthenticated", r.text


def test_worker_for_another_target_cannot_touch_the_task(
    live: Live, world: dict[str, object]
) -> None:
    cirq_worker = live.worker(["cirq_simulator"])
    r = cirq_worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0})
    assert r.status_code == 403
    assert "aer_simulator" in r.json()["detail"]
    for method, path, spec in WORKER_ENDPOINTS[1:]:
        r = cirq_worker.request(method, _fill(path, world), json=_body(spec, world))
        assert r.status_code == 403, r.text
    # the rightful worker still holds the lease, and finishes the task
    worker = world["worker"]
    r = worker.post(_fill("/v1/worker/tasks/{task}/result", world), json=_body("result", world))  # type: ignore[attr-defined]
    assert r.status_code == 204
