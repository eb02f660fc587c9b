"""Tokens and permissions: who may do what, and what a refusal says."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from .conftest import PRICE, Served


def _job(**extra: Any) -> dict[str, Any]:
    bell = {
        "num_qubits": 2,
        "registers": [{"name": "c", "size": 2}],
        "instructions": [
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    }
    return {"target": "aer_simulator", "circuits": [bell], "shots": 100} | extra


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "bearer-token",
        "Bearer qru_nope",
        "Bearer " + "x" * 5000,
        "Bearer qru_\u00e9t\u00e9",
    ],
    ids=[
        "none",
        "empty",
        "scheme-only",
        "basic",
        "no-space",
        "unknown",
        "huge",
        "non-ascii",
    ],
)
def test_missing_or_malformed_token_is_401(served: Served, authorization: str | None) -> None:
    client = served.client()
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("GET", "/v1/jobs"), ("GET", "/v1/me"), ("POST", "/v1/worker/lease")):
        try:
            r = client.request(method, path, headers=headers, json={"targets": ["aer_simulator"]})
        except UnicodeEncodeError:
            return  # the client itself refuses non-ASCII headers: nothing was sent
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["code"] == "unauthenticated"


def test_revoked_and_rotated_tokens_stop_working(served: Served) -> None:
    admin = served.client(served.admin_token)
    token, user_id = served.new_user()
    user = served.client(token)
    assert user.get("/v1/me").status_code == 200
    rotated = admin.post(f"/v1/users/{user_id}/token")
    assert rotated.status_code in (200, 201), rotated.text
    assert user.get("/v1/me").status_code == 401
    fresh = served.client(rotated.json()["token"])
    assert fresh.get("/v1/me").status_code == 200
    assert admin.patch(f"/v1/users/{user_id}", json={"active": False}).status_code == 200
    r = fresh.get("/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


def test_another_users_job_is_404_for_read_cancel_delete_and_results(served: Served) -> None:
    owner = served.client(served.new_user()[0])
    other = served.client(served.new_user()[0])
    job_id = owner.post("/v1/jobs", json=_job(), headers={"Idempotency-Key": "mine"}).json()[
        "job_id"
    ]
    for method, path in (
        ("GET", f"/v1/jobs/{job_id}"),
        ("GET", f"/v1/jobs/{job_id}/results"),
        ("DELETE", f"/v1/jobs/{job_id}"),
    ):
        r = other.request(method, path)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["code"] == "not_found"
    cancel = other.post("/v1/jobs/cancel", json={"job_ids": [job_id]})
    assert cancel.status_code == 200
    assert job_id not in str(cancel.json().get("cancelled", []))
    assert other.get("/v1/jobs").json()["jobs"] == []
    assert "cancelled" not in owner.get(f"/v1/jobs/{job_id}").json()["statuses"]


def test_priority_above_the_role_maximum_is_403_naming_it(served: Served) -> None:
    user = served.client(served.new_user()[0])
    r = user.post("/v1/jobs", json=_job(priority=9), headers={"Idempotency-Key": "p"})
    assert r.status_code == 403
    assert r.json()["code"] == "priority_too_high"
    assert "5" in r.json()["detail"]
    assert user.get("/v1/jobs").json()["jobs"] == []


def test_balance_too_small_is_402_and_nothing_is_queued(served: Served) -> None:
    token, _ = served.new_user(balance=100 * PRICE - 1e-6)
    user = served.client(token)
    r = user.post("/v1/jobs", json=_job(shots=100), headers={"Idempotency-Key": "b"})
    assert r.status_code == 402
    assert r.json()["code"] == "insufficient_balance"
    assert user.get("/v1/jobs").json()["jobs"] == []
    assert user.get("/v1/me/balance").json()["balance"] == pytest.approx(100 * PRICE - 1e-6)


def test_unfinished_jobs_hold_back_their_estimate_until_they_end(served: Served) -> None:
    """Queued work is paid for too: a user cannot queue more than the balance covers, and
    what a job held back returns to the balance when it is cancelled."""
    token, _ = served.new_user(balance=150 * PRICE)
    user = served.client(token)
    first = user.post("/v1/jobs", json=_job(shots=100), headers={"Idempotency-Key": "r1"})
    assert first.status_code == 201, first.text
    second = user.post("/v1/jobs", json=_job(shots=100), headers={"Idempotency-Key": "r2"})
    assert second.status_code == 402
    problem = second.json()
    assert problem["code"] == "insufficient_balance"
    assert "held for unfinished jobs" in problem["detail"]
    assert problem["reserved"] == pytest.approx(100 * PRICE)
    assert len(user.get("/v1/jobs").json()["jobs"]) == 1  # nothing more was queued
    assert user.get("/v1/me/balance").json()["balance"] == pytest.approx(150 * PRICE)
    job_id = first.json()["job_id"]
    assert job_id in str(user.post("/v1/jobs/cancel", json={"job_ids": [job_id]}).json())
    again = user.post("/v1/jobs", json=_job(shots=100), headers={"Idempotency-Key": "r3"})
    assert again.status_code == 201, again.text


def test_worker_and_user_tokens_stay_on_their_side(served: Served) -> None:
    worker = served.client(served.new_worker(["cirq_simulator"]))
    user_token, _ = served.new_user()
    user = served.client(user_token)
    for method, path in (
        ("GET", "/v1/jobs"),
        ("POST", "/v1/jobs"),
        ("GET", "/v1/me"),
        ("GET", "/v1/users"),
        ("POST", "/v1/users"),
    ):
        r = worker.request(method, path, json=_job(), headers={"Idempotency-Key": "w"})
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["code"] == "forbidden"
    for path, body in (
        ("/v1/worker/lease", {"targets": ["aer_simulator"], "wait": 0}),
        ("/v1/worker/tasks/1/heartbeat", {"lease_id": "x"}),
    ):
        r = user.post(path, json=body)
        assert r.status_code == 403, (path, r.text)
    foreign = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0})
    assert foreign.status_code == 403  # a worker leases only the targets it serves
    assert "aer_simulator" in foreign.json()["detail"]
    for path in ("/v1/users", "/v1/workers"):
        assert user.post(path, json={}).status_code == 403  # users are not admins


def test_tokens_are_stored_only_as_hashes(served: Served) -> None:
    from sqlalchemy import MetaData, create_engine, select

    token, _ = served.new_user()
    worker_token = served.new_worker(["aer_simulator"])
    engine = create_engine(served.database_url)
    meta = MetaData()
    meta.reflect(engine)
    dump: list[str] = []
    try:
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                dump += [repr(tuple(row)) for row in conn.execute(select(table))]
            hashes = {h for (h,) in conn.execute(select(meta.tables["users"].c.token_hash))}
            hashes |= {h for (h,) in conn.execute(select(meta.tables["workers"].c.token_hash))}
    finally:
        engine.dispose()
    text = "\n".join(dump)
    for secret in (token, worker_token, served.admin_token):
        assert secret not in text
        assert hashlib.sha256(secret.encode()).hexdigest() in hashes
