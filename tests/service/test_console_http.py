"""The console and the reads it added, over HTTP without a browser: a job's timeline,
the workers list, and the console's login, CSRF and error answers (SQLite and PostgreSQL).

The browser walk through the pages is in ``tests/console``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from .support import Live, completed, new_job, start


def _submit(client: httpx.Client, **extra: object) -> str:
    r = client.post(
        "/v1/jobs", json=new_job(**extra), headers={"Idempotency-Key": "k" + str(id(extra))}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["job_id"])


def _console(live: Live, token: str) -> httpx.Client:
    """A cookie-keeping client logged in to the console with ``token``."""
    c = httpx.Client(base_url=live.url, timeout=30.0)
    live.clients.append(c)
    form = c.get("/ui/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce is not None
    r = c.post("/ui/login", data={"csrf": nonce.group(1), "token": token})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui/jobs"
    return c


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_a_jobs_timeline_lists_each_circuits_steps_for_its_owner_only(live: Live) -> None:
    user = live.user()
    worker = live.worker()
    job_id = _submit(user, circuits=2, shots=10)
    task = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 5}).json()
    r = worker.post(
        f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 10)
    )
    assert r.status_code in (200, 204), r.text
    assert user.post("/v1/jobs/cancel", json={"job_ids": [job_id]}).status_code == 200

    r = user.get(f"/v1/jobs/{job_id}/timeline")
    assert r.status_code == 200, r.text
    steps = r.json()["transitions"]
    assert r.json()["truncated"] is False
    times = [s["at"] for s in steps]
    assert times == sorted(times)
    by_circuit = {i: [s["to_status"] for s in steps if s["circuit_index"] == i] for i in (0, 1)}
    leased = by_circuit[task["circuit_index"]]
    other = by_circuit[1 - task["circuit_index"]]
    assert leased == ["awaiting_submission", "pending", "completed"]
    assert other == ["awaiting_submission", "cancelled"]
    assert {s["from_status"] for s in steps if s["to_status"] == "awaiting_submission"} == {
        "received"
    }
    assert (
        "leased by worker w" in steps[[s["to_status"] for s in steps].index("pending")]["message"]
    )
    # Another user's job is a 404, as everywhere.
    assert live.user().get(f"/v1/jobs/{job_id}/timeline").status_code == 404
    assert live.admin.get(f"/v1/jobs/{job_id}/timeline").status_code == 200


def test_admins_list_workers_and_see_a_revoked_one(live: Live) -> None:
    r = live.admin.post("/v1/workers", json={"name": "w-list", "targets": ["aer_simulator"]})
    worker_id = r.json()["worker_id"]
    assert live.admin.delete(f"/v1/workers/{worker_id}/token").status_code == 204
    listed = {w["worker_id"]: w for w in live.admin.get("/v1/workers").json()}
    assert listed[worker_id]["active"] is False
    assert listed[worker_id]["targets"] == ["aer_simulator"]
    assert "token" not in listed[worker_id]
    assert live.user().get("/v1/workers").status_code == 403


def test_console_login_sets_a_strict_httponly_cookie_and_refuses_bad_tokens(live: Live) -> None:
    c = httpx.Client(base_url=live.url, timeout=30.0)
    live.clients.append(c)
    assert c.get("/ui/jobs").headers["location"] == "/ui/login"
    nonce = _csrf(c.get("/ui/login").text)
    # Without the login form's CSRF token (its cookie's double), nothing is checked.
    r = httpx.post(f"{live.url}/ui/login", data={"csrf": nonce, "token": live.admin_token})
    assert r.status_code == 403
    # A worker's token, and a made-up one, do not log in.
    worker = live.admin.post("/v1/workers", json={"name": "w-ui", "targets": ["aer_simulator"]})
    r = c.post("/ui/login", data={"csrf": nonce, "token": worker.json()["token"]})
    assert r.status_code == 401
    assert "a worker token cannot log in" in r.text
    r = c.post("/ui/login", data={"csrf": nonce, "token": "qru_nothing"})
    assert r.status_code == 401
    assert "qrelay_session" not in r.headers.get("set-cookie", "")
    r = c.post("/ui/login", data={"csrf": nonce, "token": live.admin_token})
    assert r.status_code == 303
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("qrelay_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    page = c.get("/ui/jobs")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # Logging out needs the CSRF token too, then the session is gone.
    assert c.post("/ui/logout", data={}).status_code == 403
    assert c.post("/ui/logout", data={"csrf": _csrf(page.text)}).status_code == 303
    assert c.get("/ui/jobs").headers["location"] == "/ui/login"


def test_console_ends_a_session_whose_token_was_rotated(live: Live) -> None:
    user = live.user()
    me = user.get("/v1/me").json()
    c = _console(live, user.headers["Authorization"].split()[1])
    assert c.get("/ui/jobs").status_code == 200
    assert live.admin.post(f"/v1/users/{me['user_id']}/token").status_code == 200
    assert c.get("/ui/jobs").headers["location"] == "/ui/login"


def test_console_filters_are_checked_and_errors_name_the_field(live: Live) -> None:
    user = live.user()
    job_id = _submit(user, tags=["alpha"])
    c = _console(live, user.headers["Authorization"].split()[1])
    assert job_id in c.get("/ui/jobs", params={"tag": "alpha", "target": "aer_simulator"}).text
    assert job_id not in c.get("/ui/jobs", params={"tag": "beta"}).text
    assert job_id not in c.get("/ui/jobs", params={"status": "completed"}).text
    assert job_id in c.get("/ui/jobs", params={"from": "2000-01-01", "to": "2999-12-31"}).text
    assert job_id not in c.get("/ui/jobs", params={"to": "2000-01-01"}).text
    r = c.get("/ui/jobs", params={"from": "yesterday"})
    assert r.status_code == 422
    assert "from: expected a date YYYY-MM-DD" in r.text
    r = c.get("/ui/jobs", params={"status": "sleeping"})
    assert r.status_code == 422
    assert "status" in r.text
    # A form of another kind than urlencoded is refused, naming what is wanted.
    page = c.get(f"/ui/jobs/{job_id}")
    assert "2 qubits · 4 instructions" in page.text  # the circuit as submitted
    assert "measure x2, h x1, cx x1" in page.text  # most frequent first, then in order
    r = c.post(f"/ui/jobs/{job_id}/cancel", json={"csrf": _csrf(page.text)})
    assert r.status_code == 415
    r = c.post(f"/ui/jobs/{job_id}/cancel", data={"csrf": _csrf(page.text)})
    assert r.status_code == 303
    assert user.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_admin_console_pages_change_users_through_the_audited_operations(live: Live) -> None:
    user = live.user(balance=3.0)
    me = user.get("/v1/me").json()
    c = _console(live, live.admin_token)
    page = c.get("/ui/admin/users")
    assert me["email"] in page.text
    form = {"csrf": _csrf(page.text), "balance": "-1", "role": "user", "active": "on"}
    r = c.post(f"/ui/admin/users/{me['user_id']}", data=form)
    assert r.status_code == 422
    assert "balance" in r.text
    form = {"csrf": _csrf(page.text), "balance": "9", "role": "user"}  # active unticked
    assert c.post(f"/ui/admin/users/{me['user_id']}", data=form).status_code == 303
    assert user.get("/v1/me").status_code == 401  # deactivated at once
    audit = c.get("/ui/admin/audit", params={"action": "user.update"}).text
    assert me["user_id"] in audit
    # Users are not admins here either.
    plain = _console(live, live.user().headers["Authorization"].split()[1])
    assert plain.get("/ui/admin/audit").status_code == 403


def _cell(page: str, ident: str) -> str:
    found = re.search(rf'id="{ident}">([^<]*)<', page)
    assert found is not None, ident
    return found.group(1).strip()


def test_a_job_page_shows_its_calibration_and_estimates(live: Live) -> None:
    user = live.user()
    worker = live.worker()
    c = _console(live, user.headers["Authorization"].split()[1])
    first = _submit(user, shots=10)
    task = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 5}).json()
    done = {**completed(task["lease_id"], 10), "calibration_id": "cal-console-1"}
    r = worker.post(f"/v1/worker/tasks/{task['task_id']}/result", json=done)
    assert r.status_code in (200, 204), r.text
    page = c.get(f"/ui/jobs/{first}").text
    assert _cell(page, "calibration") == "cal-console-1"
    assert user.get(f"/v1/jobs/{first}").json()["calibration_ids"] == ["cal-console-1"]

    # A job that waits behind a measured task has estimates, and the page shows them.
    waiting = _submit(user, shots=10, tags=["second"])
    data = user.get(f"/v1/jobs/{waiting}").json()
    page = c.get(f"/ui/jobs/{waiting}").text
    assert _cell(page, "calibration") == "—"
    for field, ident in (
        ("estimated_start", "estimated-start"),
        ("estimated_finish", "estimated-finish"),
    ):
        if data[field] is None:
            assert _cell(page, ident) == "—"
        else:
            shown = datetime.fromisoformat(data[field]).strftime("%Y-%m-%d %H:%M:%S UTC")
            assert _cell(page, ident) == shown
    assert data["estimated_start"] is not None  # one task was measured on this target


def _snapshot(info: dict[str, Any], t1: float) -> dict[str, Any]:
    return {"qubits": [{"t1_us": t1 + q, "readout_error": 0.02} for q in range(info["num_qubits"])]}


def test_a_target_page_pages_its_history_and_draws_t1_and_windows(live: Live) -> None:
    target = "square_qpu"
    info = live.admin.get(f"/v1/targets/{target}").json()
    n = info["num_qubits"]
    posted = []
    for i in range(21):  # one more than a page of the history table
        r = live.admin.post(f"/v1/targets/{target}/calibrations", json=_snapshot(info, 50.0 + i))
        assert r.status_code == 201, r.text
        posted.append(r.json()["calibration_id"])
    r = live.admin.post(
        f"/v1/targets/{target}/maintenance",
        json={
            "starts_at": "2099-03-01T08:00:00Z",
            "ends_at": "2099-03-01T20:00:00Z",
            "reason": "fridge warm-up",
        },
    )
    assert r.status_code == 201, r.text
    window = r.json()["window_id"]

    c = _console(live, live.user().headers["Authorization"].split()[1])
    page = c.get(f"/ui/targets/{target}").text
    assert f'<tr data-window="{window}"><td>{window}</td><td>2099-03-01 08:00:00 UTC</td>' in page
    assert "fridge warm-up" in page
    history = c.get(f"/v1/targets/{target}/calibrations", headers=live.admin.headers).json()
    everything = [cal["calibration_id"] for cal in history["calibrations"]]
    shown = re.findall(r'<tr data-calibration="([^"]+)"', page)
    assert shown == everything[:20]
    # The chart has one point per snapshot of the range, at the qubits' mean T1.
    means = [float(m) for m in re.findall(r'class="point" data-t1="([0-9.]+)"', page)]
    assert len(means) == len(everything)
    assert means[-21:] == pytest.approx([50.0 + i + (n - 1) / 2 for i in range(21)], abs=0.01)
    # The next page holds the rest, and marks the target's current snapshot.
    link = re.search(r'<a rel="next" href="([^"]+)"', page)
    assert link is not None
    rest = c.get(link.group(1).replace("&amp;", "&")).text
    later = re.findall(r'<tr data-calibration="([^"]+)"', rest)
    assert later == everything[20:]
    assert f'<tr data-calibration="{posted[-1]}" class="current">' in rest

    future = c.get(f"/ui/targets/{target}", params={"from": "2099-01-01"}).text
    assert "No calibrations in this range." in future
    assert "No T1 measured in this range." in future
    r = c.get(f"/ui/targets/{target}", params={"to": "tomorrow"})
    assert r.status_code == 422
    assert "to: expected a date YYYY-MM-DD" in r.text
    r = c.get(f"/ui/targets/{target}", params={"cursor": "x1"})
    assert r.status_code == 422
    assert "cursor" in r.text
    assert live.admin.delete(f"/v1/targets/{target}/maintenance/{window}").status_code == 204
    assert "No maintenance windows scheduled." in c.get(f"/ui/targets/{target}").text


@pytest.fixture
def no_console(db_url: str) -> Live:
    service = start(db_url, console_enabled=False)
    yield service  # type: ignore[misc]
    service.stop()


def test_console_off_by_setting(no_console: Live) -> None:
    assert httpx.get(f"{no_console.url}/ui/login").status_code == 404
    assert httpx.get(f"{no_console.url}/ui/static/console.css").status_code == 404
