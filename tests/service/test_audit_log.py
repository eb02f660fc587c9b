"""``GET /v1/admin/audit``: every admin action, with who, what, when, before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .support import Live


def _records(live: Live, **params: object) -> list[dict[str, object]]:
    r = live.admin.get("/v1/admin/audit", params=params)
    assert r.status_code == 200, r.text
    records: list[dict[str, object]] = r.json()["records"]
    return records


def test_admin_actions_read_back_with_before_and_after(live: Live) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    admin_id = live.admin.get("/v1/me").json()["user_id"]
    user = live.user(balance=5.0)
    user_id = user.get("/v1/me").json()["user_id"]
    r = live.admin.patch(f"/v1/users/{user_id}", json={"balance": 7.5, "role": "priority"})
    assert r.status_code == 200
    token = live.admin.post(f"/v1/users/{user_id}/token").json()["token"]
    worker = live.admin.post("/v1/workers", json={"name": "w-audit", "targets": ["aer_simulator"]})
    worker_id = worker.json()["worker_id"]

    about = _records(live, subject=user_id)
    assert [r["action"] for r in about] == ["user.token", "user.update", "user.create"]
    assert all(r["actor_kind"] == "admin" and r["actor_id"] == admin_id for r in about)
    update = about[1]["detail"]
    assert update == {
        "before": {"balance": 5.0, "role": "user"},
        "after": {"balance": 7.5, "role": "priority"},
    }
    created = about[2]["detail"]
    assert isinstance(created, dict)
    assert created["after"]["balance"] == 5.0
    assert datetime.fromisoformat(str(about[0]["at"])) >= start

    (registered,) = _records(live, subject=worker_id)
    assert registered["action"] == "worker.create"
    assert registered["detail"] == {"after": {"name": "w-audit", "targets": ["aer_simulator"]}}

    # Filters: by action, by actor, by time.
    assert {r["subject"] for r in _records(live, action="user.update")} >= {user_id}
    mine = _records(live, actor_id=admin_id, after=start.isoformat())
    assert {r["subject"] for r in mine} >= {user_id, worker_id}
    assert _records(live, after=(datetime.now(UTC) + timedelta(hours=1)).isoformat()) == []
    assert _records(live, actor_id="nobody") == []
    r = live.admin.get("/v1/admin/audit")
    assert token not in r.text  # never a token


def test_the_log_pages_newest_first(live: Live) -> None:
    user_id = live.user().get("/v1/me").json()["user_id"]
    for balance in (1.0, 2.0, 3.0):
        live.admin.patch(f"/v1/users/{user_id}", json={"balance": balance})
    seen: list[object] = []
    cursor = None
    for _ in range(10):
        params: dict[str, object] = {"subject": user_id, "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = live.admin.get("/v1/admin/audit", params=params).json()
        seen += [r["detail"].get("after") for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:3] == [{"balance": 3.0}, {"balance": 2.0}, {"balance": 1.0}]
    assert len(seen) == 4  # and the creation


def test_only_admins_read_it_and_bad_filters_are_named(live: Live) -> None:
    assert live.user().get("/v1/admin/audit").status_code == 403
    assert live.client().get("/v1/admin/audit").status_code == 401
    r = live.admin.get("/v1/admin/audit", params={"limit": 0})
    assert r.status_code == 422
    assert "limit" in r.json()["detail"]
    r = live.admin.get("/v1/admin/audit", params={"cursor": "x'; drop"})
    assert r.status_code == 422
    assert "cursor" in r.json()["detail"]
    r = live.admin.get("/v1/admin/audit", params={"who": "me"})
    assert r.status_code == 422
    assert "who" in r.json()["detail"]
