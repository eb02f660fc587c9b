"""Calibration history against the real service, worker and QPU controller.

The controller's devices drift and recalibrate when the test steps them (the schedule is
off); the worker learns each new calibration from the controller, reports it to the
service, and every result names the calibration it ran under. Operators post their own
snapshots; jobs pin one; Qiskit builds a backend of an old one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from qrelay.payload import JobData
from qrelay.qpu.fleet import fleet_device
from qrelay.qpu.server import ServerHandle
from qrelay.worker import Worker

from ._circuits import ghz
from .conftest import Service

TARGET = "square_qpu"


@pytest.fixture(scope="module")
def controller() -> Iterator[ServerHandle]:
    """A controller of its own whose recalibration the tests step (seeded walk)."""
    from qrelay.qpu.server import start_server

    handle = start_server(host="127.0.0.1", port=0, devices=[TARGET], seed=11, drift=0.1)
    try:
        yield handle
    finally:
        handle.stop(grace=0.5)


@pytest.fixture(scope="module")
def worker(service: Service, controller: ServerHandle) -> Iterator[Worker]:
    with Worker(
        service.url,
        service.worker_token,
        [TARGET],
        driver_config={"qpu_address": controller.address},
        lease_wait=5.0,
        heartbeat_seconds=0.3,
    ) as w:
        yield w


def _submit(service: Service, **options: Any) -> Any:
    job = {
        "target": TARGET,
        "circuits": [ghz(2).model_dump(mode="json")],
        "shots": 200,
        "options": options,
    }
    return service.http.post(
        "/v1/jobs", json=job, headers={"Idempotency-Key": secrets.token_hex(8)}
    )


def _run(service: Service, worker: Worker, job_id: str) -> JobData:
    for _ in range(20):
        worker.run_once(wait=5.0)
        data = JobData.model_validate(service.job(job_id))
        if all(s.value in {"completed", "failed", "cancelled"} for s in data.statuses):
            return data
    raise AssertionError(f"job {job_id} did not finish")


def _history(service: Service, **params: Any) -> dict[str, Any]:
    response = service.http.get(f"/v1/targets/{TARGET}/calibrations", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _current(service: Service) -> str:
    return str(service.http.get(f"/v1/targets/{TARGET}").json()["calibration_id"])


def test_results_name_the_calibration_and_follow_the_device(
    service: Service, worker: Worker, controller: ServerHandle
) -> None:
    first = controller.controller.device(TARGET).target.calibration_id
    assert first == fleet_device(TARGET).calibration_id
    job_id = _submit(service).json()["job_id"]
    data = _run(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["completed"], data.status_messages
    assert data.calibration_ids == [first]
    history = _history(service)["calibrations"]
    assert history[0]["calibration_id"] == first
    assert history[0]["source"] == "catalog"

    # the device drifts and recalibrates: the next run is under the new calibration,
    # which the worker reports, so the service's history and target follow
    stepped = controller.recalibration
    assert stepped is not None
    second = stepped.step()[TARGET]
    assert second != first
    job_id = _submit(service).json()["job_id"]
    data = _run(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["completed"], data.status_messages
    assert data.calibration_ids == [second]
    assert _current(service) == second
    entries = _history(service)["calibrations"]
    ids = [c["calibration_id"] for c in entries]
    assert ids[ids.index(first) + 1 :].count(second) == 1
    newest = entries[ids.index(second)]
    assert newest["source"] == "device"
    # the drift moved T1 of every qubit, and kept T2 <= 2 T1
    old = entries[ids.index(first)]["qubits"]
    assert all(a["t1_us"] != b["t1_us"] for a, b in zip(old, newest["qubits"], strict=True))
    assert all(q["t2_us"] <= 2 * q["t1_us"] for q in newest["qubits"])

    # a job pinned to the replaced calibration is refused, naming both ids ...
    refused = _submit(service, calibration_id=first)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "stale_calibration"
    assert first in problem["detail"]
    assert second in problem["detail"]
    # ... runs when it says so, under the device's calibration ...
    anyway = _submit(service, calibration_id=first, if_recalibrated="run")
    assert anyway.status_code in (200, 201), anyway.text
    data = _run(service, worker, anyway.json()["job_id"])
    assert data.calibration_ids == [second]
    # ... and a pin to the current one runs; an unknown id or policy is refused by name
    pinned = _submit(service, calibration_id=second)
    assert pinned.status_code in (200, 201), pinned.text
    assert _run(service, worker, pinned.json()["job_id"]).calibration_ids == [second]
    unknown = _submit(service, calibration_id="no-such-calibration")
    assert unknown.status_code == 422
    assert "options.calibration_id" in unknown.json()["detail"]
    bad_policy = _submit(service, calibration_id=second, if_recalibrated="maybe")
    assert bad_policy.status_code == 422
    assert "options.if_recalibrated" in bad_policy.json()["detail"]

    # recalibrated between submission and run: the worker refuses the pinned job
    late = _submit(service, calibration_id=second)
    assert late.status_code in (200, 201), late.text
    third = stepped.step()[TARGET]
    data = _run(service, worker, late.json()["job_id"])
    assert [s.value for s in data.statuses] == ["failed"]
    message = data.status_messages[0] or ""
    assert "recalibrated" in message
    assert second in message
    assert third in message


def test_operators_post_calibrations_and_history_pages_by_time(service: Service) -> None:
    info = service.http.get(f"/v1/targets/{TARGET}").json()
    qubits = [dict(q, t1_us=50.0 + i) for i, q in enumerate(info["qubits"])]
    posted = service.http.post(
        f"/v1/targets/{TARGET}/calibrations", json={"qubits": qubits, "gates": info["gates"]}
    )
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["source"] == "operator"
    assert _current(service) == body["calibration_id"]
    target_now = service.http.get(f"/v1/targets/{TARGET}").json()
    assert [q["t1_us"] for q in target_now["qubits"]][:2] == [50.0, 51.0]
    one = service.http.get(f"/v1/targets/{TARGET}/calibrations/{body['calibration_id']}")
    assert one.status_code == 200
    assert one.json()["qubits"][0]["t1_us"] == 50.0

    # the same snapshot again is the same calibration, not a new entry
    again = service.http.post(
        f"/v1/targets/{TARGET}/calibrations", json={"qubits": qubits, "gates": info["gates"]}
    )
    assert again.json()["calibration_id"] == body["calibration_id"]

    audit = service.http.get("/v1/admin/audit", params={"action": "target.calibration.post"})
    assert any(r["subject"] == TARGET for r in audit.json()["records"])

    # a snapshot that does not fit the target changes nothing
    before = _history(service)
    short = service.http.post(f"/v1/targets/{TARGET}/calibrations", json={"qubits": qubits[:3]})
    assert short.status_code == 422
    assert "qubits" in short.json()["detail"]
    wrong_gate = service.http.post(
        f"/v1/targets/{TARGET}/calibrations",
        json={"qubits": qubits, "gates": [{"op": "cz", "qubits": [0, 99], "error": 0.01}]},
    )
    assert wrong_gate.status_code == 422
    assert "gates[0].qubits" in wrong_gate.json()["detail"]
    assert _history(service) == before
    assert service.http.post("/v1/targets/nope/calibrations", json={"qubits": []}).status_code == (
        404
    )

    # paging: one at a time, oldest first, and bounded by time
    everything = before["calibrations"]
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        page = _history(service, **params)
        seen += [c["calibration_id"] for c in page["calibrations"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["calibration_id"] for c in everything]
    newest = everything[-1]
    since = _history(service, **{"from": newest["taken_at"]})["calibrations"]
    assert [c["calibration_id"] for c in since] == [newest["calibration_id"]]
    until = _history(service, to=newest["taken_at"])["calibrations"]
    assert newest["calibration_id"] not in [c["calibration_id"] for c in until]
    assert len(until) == len(everything) - 1
    bad = service.http.get(f"/v1/targets/{TARGET}/calibrations", params={"from": "yesterday"})
    assert bad.status_code == 422
    assert "from" in bad.text


def test_a_user_reads_history_but_cannot_post(service: Service) -> None:
    made = service.http.post(
        "/v1/users", json={"name": "cal reader", "email": "cal-reader@example.org"}
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    url = f"/v1/targets/{TARGET}/calibrations"
    assert service.http.get(url, headers=headers).status_code == 200
    refused = service.http.post(url, headers=headers, json={"qubits": []})
    assert refused.status_code == 403


def test_qiskit_backend_of_an_old_calibration(
    service: Service, worker: Worker, controller: ServerHandle
) -> None:
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    from qrelay_qiskit import QRelayProvider

    provider = QRelayProvider(service.url, service.token)
    first = _history(service)["calibrations"][0]
    old = provider.get_backend(TARGET, calibration=first["calibration_id"])
    current = provider.get_backend(TARGET)
    assert old.info.calibration_id == first["calibration_id"]
    assert current.info.calibration_id == _current(service)
    t1 = [p.t1 for p in old.target.qubit_properties]
    assert t1 == pytest.approx([q["t1_us"] * 1e-6 for q in first["qubits"]])
    assert t1 != [p.t1 for p in current.target.qubit_properties]
    assert AerSimulator.from_backend(old).target.num_qubits == 16

    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    job = current.run(transpile(qc, current, seed_transpiler=1), shots=100)
    for _ in range(10):
        if worker.run_once(wait=5.0):
            break
    result = job.result(timeout=60)
    ran_under = result.results[0].calibration_id
    assert ran_under == result.calibration_id == result.calibration_ids[0]
    # the device's own calibration, which the history holds (an operator's post since
    # changed the target's description, not the device)
    assert ran_under == controller.controller.device(TARGET).target.calibration_id
    assert ran_under in [c["calibration_id"] for c in _history(service)["calibrations"]]
    with pytest.raises(Exception, match="no-such"):
        provider.get_backend(TARGET, calibration="no-such")
