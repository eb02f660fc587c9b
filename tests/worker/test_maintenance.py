"""Maintenance windows against the real service and a worker.

While a window is open the worker leases none of the target's tasks, the target reports
``maintenance`` and its window, and a job submitted meanwhile waits with an estimated
start at the window's end. Ending the window lets the job run. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qrelay.payload import JobData
from qrelay.worker import Worker

from ._circuits import ghz
from .conftest import Service

TARGET = "cirq_simulator"


@pytest.fixture(scope="module")
def worker(service: Service) -> Iterator[Worker]:
    with Worker(service.url, service.worker_token, [TARGET], lease_wait=1.0) as w:
        yield w


def _job() -> dict[str, Any]:
    return {"target": TARGET, "circuits": [ghz(2).model_dump(mode="json")], "shots": 20}


def _at(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).isoformat()


def _target(service: Service) -> dict[str, Any]:
    return dict(service.http.get(f"/v1/targets/{TARGET}").json())


def test_no_lease_during_a_window_and_the_job_waits_for_its_end(
    service: Service, worker: Worker
) -> None:
    ends = _at(timedelta(hours=1))
    made = service.http.post(
        f"/v1/targets/{TARGET}/maintenance", json={"ends_at": ends, "reason": "cryostat service"}
    )
    assert made.status_code == 201, made.text
    window = made.json()
    target = _target(service)
    assert target["status"] == "maintenance"
    assert [w["window_id"] for w in target["maintenance"]] == [window["window_id"]]
    listed = service.http.get("/v1/targets").json()
    assert next(t for t in listed if t["target_name"] == TARGET)["status"] == "maintenance"
    windows = service.http.get(f"/v1/targets/{TARGET}/maintenance").json()
    assert windows[0]["reason"] == "cryostat service"

    job_id = service.submit(_job())
    assert worker.run_once(wait=1.0) is False  # nothing was leased
    data = JobData.model_validate(service.job(job_id))
    assert data.status.value == "awaiting_submission"
    assert data.queue_position == 0
    assert data.queue_note is not None
    assert "in maintenance until" in data.queue_note
    assert "cryostat service" in data.queue_note
    assert data.estimated_start == datetime.fromisoformat(window["ends_at"])

    from qrelay_qiskit import QRelayProvider

    info = QRelayProvider(service.url, service.token).retrieve_job(job_id).queue_info()
    assert info.note == data.queue_note

    ended = service.http.delete(f"/v1/targets/{TARGET}/maintenance/{window['window_id']}")
    assert ended.status_code == 204
    assert _target(service)["status"] != "maintenance"
    for _ in range(10):
        if worker.run_once(wait=2.0):
            break
    done = JobData.model_validate(service.job(job_id))
    assert done.status.value == "completed"

    audit = service.http.get("/v1/admin/audit", params={"subject": TARGET}).json()["records"]
    actions = [r["action"] for r in audit]
    assert "target.maintenance.schedule" in actions
    assert "target.maintenance.cancel" in actions
    scheduled = next(r for r in audit if r["action"] == "target.maintenance.schedule")
    assert scheduled["detail"]["after"]["reason"] == "cryostat service"


def test_a_coming_window_is_listed_and_does_not_hold_the_target_yet(
    service: Service, worker: Worker
) -> None:
    made = service.http.post(
        f"/v1/targets/{TARGET}/maintenance",
        json={"starts_at": _at(timedelta(hours=2)), "ends_at": _at(timedelta(hours=3))},
    )
    assert made.status_code == 201, made.text
    target = _target(service)
    assert target["status"] != "maintenance"
    assert [w["window_id"] for w in target["maintenance"]] == [made.json()["window_id"]]
    job_id = service.submit(_job())
    for _ in range(10):
        if worker.run_once(wait=2.0):
            break
    assert JobData.model_validate(service.job(job_id)).status.value == "completed"
    path = f"/v1/targets/{TARGET}/maintenance/{made.json()['window_id']}"
    assert service.http.delete(path).status_code == 204
    assert service.http.delete(path).status_code == 404


def test_bad_windows_are_refused_by_name_and_users_cannot_schedule(service: Service) -> None:
    url = f"/v1/targets/{TARGET}/maintenance"
    backwards = service.http.post(
        url, json={"starts_at": _at(timedelta(hours=2)), "ends_at": _at(timedelta(hours=1))}
    )
    assert backwards.status_code == 422
    assert "ends_at" in backwards.json()["detail"]
    over = service.http.post(url, json={"ends_at": _at(timedelta(hours=-1))})
    assert over.status_code == 422
    assert "ends_at" in over.json()["detail"]
    endless = service.http.post(url, json={"ends_at": _at(timedelta(days=400))})
    assert endless.status_code == 422
    unknown = service.http.post(
        "/v1/targets/no_such_target/maintenance", json={"ends_at": _at(timedelta(hours=1))}
    )
    assert unknown.status_code == 404
    assert service.http.get(url).json() == []

    made = service.http.post("/v1/users", json={"name": "mx", "email": "mx@example.org"})
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    refused = service.http.post(url, headers=headers, json={"ends_at": _at(timedelta(hours=1))})
    assert refused.status_code == 403
    assert service.http.get(url, headers=headers).status_code == 200
