"""Workers against the real service: lease, compile, execute, post; cancel; verbatim."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from qiskit_aer import AerSimulator

from qrelay.payload import Circuit, JobData, Readout, TargetInfo, WorkerTask
from qrelay.plugins import TaskContext
from qrelay.qpu.fleet import fleet_device
from qrelay.worker import Worker
from qrelay.worker.api import WorkerApi
from qrelay.worker.verbatim import check_verbatim
from qrelay_qiskit.convert import to_qiskit

from ._circuits import ghz, mixed, rotation, total_variation, tv_bound
from .conftest import Service, circuit_states

SHOTS = 4000


def _job(circuit: Circuit, target: str, **fields: Any) -> dict[str, Any]:
    return {
        "target": target,
        "circuits": [circuit.model_dump(mode="json")],
        "shots": fields.pop("shots", SHOTS),
        **fields,
    }


def _data(service: Service, job_id: str) -> JobData:
    return JobData.model_validate(service.job(job_id))


@pytest.fixture
def worker(service: Service, fleet: str) -> Iterator[Worker]:
    with Worker(
        service.url,
        service.worker_token,
        ["aer_simulator", "cirq_simulator", "square_qpu", "heavyhex_qpu", "ion_qpu"],
        driver_config={"qpu_address": fleet},
        lease_wait=5.0,
        heartbeat_seconds=0.3,
    ) as w:
        yield w


def _run_until_done(service: Service, worker: Worker, job_id: str) -> JobData:
    for _ in range(20):
        worker.run_once(wait=5.0)
        data = _data(service, job_id)
        if all(s.value in {"completed", "failed", "cancelled"} for s in data.statuses):
            return data
    raise AssertionError(f"job {job_id} did not finish: {data.statuses}")


def test_ideal_simulation_matches_aer(service: Service, worker: Worker) -> None:
    circuit = mixed()
    job_id = service.submit(_job(circuit, "aer_simulator", job_type="simulate"))
    data = _run_until_done(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["completed"]
    assert data.readouts is not None
    assert data.readouts[0] is not None
    (readout,) = data.readouts[0]
    direct = AerSimulator().run(to_qiskit(circuit), shots=SHOTS, seed_simulator=2).result()
    reference = {" ".join(reversed(k.split())): v for k, v in direct.get_counts().items()}
    assert readout.successful_shots == SHOTS
    assert total_variation(readout.counts(), reference) < tv_bound(8, SHOTS)


def test_sweep_on_cirq_returns_one_readout_per_row(service: Service, worker: Worker) -> None:
    table = {"names": ["t"], "values": [[0.0], [3.141592653589793]]}
    job_id = service.submit(
        _job(rotation(), "cirq_simulator", job_type="simulate", shots=200, bindings=[table])
    )
    data = _run_until_done(service, worker, job_id)
    assert data.readouts is not None
    rows = data.readouts[0]
    assert rows is not None
    assert len(rows) == 2
    assert rows[0].counts() == {"0": 200}
    assert rows[1].counts() == {"1": 200}


def test_compile_job_returns_native_circuit_and_layouts(service: Service, worker: Worker) -> None:
    job_id = service.submit(_job(ghz(3), "heavyhex_qpu", job_type="compile"))
    data = _run_until_done(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["completed"]
    compiled = data.compiled_circuits[0]
    assert compiled is not None
    target = fleet_device("heavyhex_qpu")
    check_verbatim(compiled, target)
    initial = data.initial_logical_to_physicals[0]
    assert initial is not None
    assert sorted(initial) == [0, 1, 2]
    assert data.readouts is not None
    assert [r.successful_shots for r in data.readouts[0] or []] == [0]


def test_submit_to_a_qpu_runs_on_the_controller(service: Service, worker: Worker) -> None:
    job_id = service.submit(_job(ghz(2), "square_qpu", shots=1000, meas_level=1))
    data = _run_until_done(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["completed"], data.status_messages
    assert data.readouts is not None
    assert data.readouts[0] is not None
    (readout,) = data.readouts[0]
    counts = readout.counts()
    assert (counts.get("00", 0) + counts.get("11", 0)) / 1000 > 0.8
    iq = readout.register("c").iq_array()
    assert iq is not None
    assert iq.shape == (1000, 2)
    assert data.final_logical_to_physicals[0] is not None


def test_noise_sim_naming_a_qpu_target_uses_its_calibration(
    service: Service, worker: Worker
) -> None:
    job_id = service.submit(_job(ghz(3), "ion_qpu", job_type="simulate", sim_method="noise-sim"))
    data = _run_until_done(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["completed"], data.status_messages
    assert data.readouts is not None
    assert data.readouts[0] is not None
    counts = data.readouts[0][0].counts()
    fidelity = (counts.get("000", 0) + counts.get("111", 0)) / SHOTS
    assert 0.7 < fidelity < 0.995


def test_noise_sim_on_a_simulator_without_noise_fails_clearly(
    service: Service, worker: Worker
) -> None:
    job_id = service.submit(
        _job(ghz(2), "aer_simulator", job_type="simulate", sim_method="noise-sim")
    )
    data = _run_until_done(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["failed"]
    assert "needs a noise model" in (data.status_messages[0] or "")


def test_verbatim_refuses_a_non_native_op(service: Service, worker: Worker) -> None:
    job_id = service.submit(_job(ghz(2), "square_qpu", verbatim=True))
    data = _run_until_done(service, worker, job_id)
    assert [s.value for s in data.statuses] == ["failed"]
    message = data.status_messages[0] or ""
    assert "instruction 0 (h)" in message
    assert "not a native op" in message


class _BlockingDriver:
    """A driver that runs until it is cancelled: a long device run, made observable."""

    def __init__(self, info: TargetInfo) -> None:
        self.info = info
        self.started = threading.Event()
        self.saw_cancel = threading.Event()

    def capabilities(self) -> TargetInfo:
        return self.info

    def execute(self, task: WorkerTask, circuit: Circuit, ctx: TaskContext) -> list[Readout]:
        self.started.set()
        if ctx.cancelled.wait(timeout=60):
            self.saw_cancel.set()
        return []


def test_cancel_during_run_reaches_the_driver(service: Service) -> None:
    info = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=10)
    blocking = _BlockingDriver(info)
    job_id = service.submit(_job(ghz(2), "aer_simulator", job_type="simulate"))
    with Worker(
        service.url,
        service.worker_token,
        ["aer_simulator"],
        lease_wait=5.0,
        heartbeat_seconds=0.2,
        drivers={"aer_simulator": blocking},
    ) as w:
        thread = threading.Thread(target=w.run_once, kwargs={"wait": 5.0})
        thread.start()
        assert blocking.started.wait(timeout=30)
        response = service.http.post("/v1/jobs/cancel", json={"job_ids": [job_id]})
        assert response.status_code == 200, response.text
        thread.join(timeout=60)
    assert blocking.saw_cancel.is_set()
    data = service.wait_for(job_id, {"cancelled"})
    assert data["statuses"] == ["cancelled"]


def test_lost_lease_stops_the_work_and_drops_the_result(service: Service) -> None:
    """A task whose lease is not ours (any more) is abandoned: nothing is posted."""
    info = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=10)
    blocking = _BlockingDriver(info)
    job_id = service.submit(_job(ghz(2), "aer_simulator", job_type="simulate"))
    with Worker(
        service.url,
        service.worker_token,
        ["aer_simulator"],
        heartbeat_seconds=0.2,
        drivers={"aer_simulator": blocking},
    ) as w:
        task = w.api.lease(["aer_simulator"], 5.0)
        assert task is not None
        # as if the service had handed the task to another worker meanwhile
        stale = task.model_copy(update={"lease_id": "not-the-current-lease"})
        w.process(stale)
        assert blocking.saw_cancel.is_set()  # the heartbeat's 409 stopped the driver
        assert w.tasks_done == 0
    assert circuit_states(service.job(job_id)) == ["simulating"]  # nothing was posted


def test_cancel_stops_a_running_simulation(service: Service) -> None:
    """Cancelling a long Aer run kills its simulation process; no result is kept."""
    from .test_sigterm import _slow_circuit

    rows = [[0.01 * k] for k in range(200)]
    job_id = service.submit(
        _job(
            _slow_circuit(qubits=20, layers=8),
            "aer_simulator",
            job_type="simulate",
            shots=1000,
            bindings=[{"names": ["t"], "values": rows}],
        )
    )
    with Worker(service.url, service.worker_token, ["aer_simulator"], heartbeat_seconds=0.2) as w:
        thread = threading.Thread(target=w.run_once, kwargs={"wait": 5.0})
        thread.start()
        while circuit_states(service.job(job_id)) == ["awaiting_simulation"]:
            assert thread.is_alive()
        response = service.http.post("/v1/jobs/cancel", json={"job_ids": [job_id]})
        assert response.status_code == 200, response.text
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert w.tasks_done == 1
    data = _data(service, job_id)
    assert [s.value for s in data.statuses] == ["cancelled"]
    assert not data.readouts or data.readouts[0] is None


def test_running_worker_leases_each_next_task_with_the_last_result(
    own_service: Service, fleet: str
) -> None:
    """``Worker.run`` posts each result and leases the next task in one request; every
    job runs once, and a task leased with the last result before the stop still runs.

    On a service of its own: the count of tasks done is exact only when no other
    test's task can be leased."""
    service = own_service
    with Worker(
        service.url,
        service.worker_token,
        ["aer_simulator"],
        driver_config={"qpu_address": fleet},
        lease_wait=0.5,
    ) as w:
        jobs = [
            service.submit(_job(ghz(2), "aer_simulator", shots=50, job_type="simulate"))
            for _ in range(4)
        ]
        thread = threading.Thread(target=w.run)
        thread.start()
        try:
            for job_id in jobs:
                for _ in range(200):
                    if _data(service, job_id).statuses[0].value == "completed":
                        break
                    threading.Event().wait(0.05)
        finally:
            w.stop()
            thread.join(timeout=30)
        assert not thread.is_alive()
        assert [_data(service, job_id).statuses[0].value for job_id in jobs] == ["completed"] * 4
        assert w.tasks_done == 4


class _SlowFirstDriver:
    """A driver whose first run outlasts a lease; it measures nothing (all zeros)."""

    def __init__(self, info: TargetInfo, seconds: float) -> None:
        self.info = info
        self.seconds = seconds
        self.runs = 0

    def capabilities(self) -> TargetInfo:
        return self.info

    def execute(self, task: WorkerTask, circuit: Circuit, ctx: TaskContext) -> list[Readout]:
        self.runs += 1
        if self.runs == 1:
            ctx.cancelled.wait(timeout=self.seconds)
        zeros = {
            reg.name: np.zeros((task.shots, reg.size), dtype=np.uint8) for reg in circuit.registers
        }
        return [Readout.from_arrays(zeros)]


def test_tasks_leased_together_keep_their_leases_behind_a_long_one(service: Service) -> None:
    """Several tasks leased in one request: while the first runs longer than a lease
    lasts, the leases of the others are kept alive, and all their results are taken."""
    info = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=10)
    slow = _SlowFirstDriver(info, seconds=4.0)  # the fixture's leases last 3 s
    jobs = [
        service.submit(_job(ghz(2), "aer_simulator", shots=10, job_type="simulate"))
        for _ in range(2)
    ]
    with Worker(
        service.url,
        service.worker_token,
        ["aer_simulator"],
        heartbeat_seconds=0.2,
        drivers={"aer_simulator": slow},
    ) as w:
        tasks = w.api.lease_many(["aer_simulator"], 5.0, 8)
        assert {t.job_id for t in tasks} >= set(jobs)
        assert len({t.task_id for t in tasks}) == len(tasks)
        w.process_many(tasks)
        assert w.tasks_done == len(tasks)
    for job_id in jobs:
        data = _data(service, job_id)
        assert [s.value for s in data.statuses] == ["completed"]


class _CountingApi(WorkerApi):
    """The worker's HTTP channel, counting the requests that carry results."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token)
        self.posts = 0

    def results(self, *args: Any, **kwargs: Any) -> Any:
        self.posts += 1
        return super().results(*args, **kwargs)

    def result(self, *args: Any, **kwargs: Any) -> Any:
        self.posts += 1
        return super().result(*args, **kwargs)


def test_the_results_of_tasks_leased_together_go_in_one_request(service: Service) -> None:
    circuits = [ghz(2).model_dump(mode="json") for _ in range(10)]
    job_id = service.submit(
        {"target": "aer_simulator", "circuits": circuits, "shots": 20, "job_type": "simulate"}
    )
    api = _CountingApi(service.url, service.worker_token)
    with Worker(service.url, service.worker_token, ["aer_simulator"], api=api) as w:
        tasks = w.api.lease_many(["aer_simulator"], 5.0, 16)
        assert job_id in {t.job_id for t in tasks}
        w.process_many(tasks)
        assert w.tasks_done == len(tasks)
    assert api.posts == 1
    data = _data(service, job_id)
    assert [s.value for s in data.statuses] == ["completed"] * 10


def test_the_shared_heartbeat_keeps_each_watched_lease_alive(service: Service) -> None:
    """Tasks watched one after the other by the worker's one heartbeat thread each have
    their lease extended while watched, though watching wakes the thread only when a
    heartbeat falls due sooner than it would wake; a lease that is not ours is marked lost."""
    import time

    from qrelay.worker.heartbeat import Heartbeat, Pulse

    circuits = [ghz(2).model_dump(mode="json") for _ in range(3)]
    service.submit({"target": "aer_simulator", "circuits": circuits, "shots": 20})
    api = WorkerApi(service.url, service.worker_token)
    tasks = api.lease_many(["aer_simulator"], 5.0, 3)
    assert len(tasks) == 3
    pulse = Pulse()

    def extended(beat: Heartbeat) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if beat.expires_at != beat.task.lease_expires_at or beat.lost.is_set():
                return not beat.lost.is_set()
            time.sleep(0.05)
        return False

    try:
        for task in tasks[:2]:
            beat = Heartbeat(api, task, TaskContext(task=task), 0.2)
            pulse.watch(beat)
            assert extended(beat)
            pulse.unwatch()
        stale = tasks[2].model_copy(update={"lease_id": "not-the-current-lease"})
        lost = Heartbeat(api, stale, TaskContext(task=stale), 0.2)
        pulse.watch(lost)
        assert not extended(lost)
        assert lost.ctx.cancelled.is_set()
        pulse.unwatch()
    finally:
        pulse.close()
        api.close()
