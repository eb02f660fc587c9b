"""The qpu-grpc driver against a real controller on loopback: run, resume, cancel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qrelay.payload import Bindings, Circuit
from qrelay.plugins import TaskContext
from qrelay.qpu import api
from qrelay.qpu.fleet import fleet_device
from qrelay.worker.qpu_driver import QpuGrpcDriver
from qrelay_qiskit.compiler import TranspileCompiler

from ._circuits import ghz, rotation, task_for


class _CrashError(Exception):
    """Stands for the worker process dying right after the device took the program."""


@pytest.fixture(scope="module")
def compiled_bell() -> Circuit:
    return TranspileCompiler().compile(ghz(2), fleet_device("square_qpu")).circuit


@pytest.fixture
def driver(fleet: str) -> Iterator[QpuGrpcDriver]:
    d = QpuGrpcDriver(fleet_device("square_qpu"), qpu_address=fleet)
    yield d
    d.close()


def test_submit_returns_readout_with_iq(driver: QpuGrpcDriver, compiled_bell: Circuit) -> None:
    task = task_for(
        compiled_bell,
        target="square_qpu",
        job_type="submit",
        shots=500,
        meas_level=1,
        task_id="run-iq",
    )
    recorded: list[str] = []
    ctx = TaskContext(task=task, record_execution=recorded.append)
    (readout,) = driver.execute(task, compiled_bell, ctx)
    assert readout.successful_shots == 500
    counts = readout.counts()
    assert (counts.get("00", 0) + counts.get("11", 0)) / 500 > 0.8
    iq = readout.register("c").iq_array()
    assert iq is not None
    assert iq.shape == (500, 2)
    # the key's attempt was stored before submitting, the job id before waiting
    assert recorded[0] == "submitting:a1"
    assert len(recorded) == 2
    assert readout.execution_duration_us


def test_sweep_becomes_one_batch(driver: QpuGrpcDriver) -> None:
    compiled = TranspileCompiler().compile(rotation(), fleet_device("square_qpu")).circuit
    table = Bindings(names=["t"], values=[[0.0], [3.141592653589793]])
    task = task_for(
        compiled, target="square_qpu", job_type="submit", shots=300, bindings=table, task_id="sweep"
    )
    recorded: list[str] = []
    readouts = driver.execute(
        task, compiled, TaskContext(task=task, record_execution=recorded.append)
    )
    assert len(readouts) == 2
    assert readouts[0].arrays()["m"].mean() < 0.1
    assert readouts[1].arrays()["m"].mean() > 0.9
    assert len(recorded[-1].split(",")) == 2


def test_crash_after_submit_resumes_without_running_twice(
    fleet: str, compiled_bell: Circuit
) -> None:
    task = task_for(
        compiled_bell, target="square_qpu", job_type="submit", shots=200, task_id="crash-resume"
    )
    stored: list[str] = []

    def record_then_crash(execution_id: str) -> None:
        stored.append(execution_id)
        if not execution_id.startswith("submitting:"):
            raise _CrashError  # the device took the program; the worker dies

    first = QpuGrpcDriver(fleet_device("square_qpu"), qpu_address=fleet)
    with pytest.raises(_CrashError):
        first.execute(
            task, compiled_bell, TaskContext(task=task, record_execution=record_then_crash)
        )
    first.close()
    intent, execution_id = stored
    assert intent == "submitting:a1"

    # the next attempt is leased with the stored execution id and re-attaches
    again = task.model_copy(
        update={"attempt": 2, "lease_id": "lease-2", "execution_id": execution_id}
    )
    second = QpuGrpcDriver(fleet_device("square_qpu"), qpu_address=fleet)
    resubmitted: list[str] = []
    ctx = TaskContext(task=again, execution_id=execution_id, record_execution=resubmitted.append)
    (readout,) = second.execute(again, compiled_bell, ctx)
    assert readout.successful_shots == 200
    assert resubmitted == []  # nothing was submitted again
    status = api.get_job_status(execution_id, "square_qpu", client=second.client)
    assert status.execution_count == 1

    # a crash after submitting but before the job id was stored: the next attempt finds
    # the first attempt's mark, submits under its key and gets back the same job
    third_ctx = TaskContext(task=again, execution_id=intent, record_execution=resubmitted.append)
    second.execute(again, compiled_bell, third_ctx)
    assert resubmitted == [execution_id]
    assert api.get_job_status(execution_id, "square_qpu", client=second.client).execution_count == 1
    second.close()


def test_cancelled_task_cancels_its_jobs(driver: QpuGrpcDriver, compiled_bell: Circuit) -> None:
    task = task_for(
        compiled_bell, target="square_qpu", job_type="submit", shots=100, task_id="cancel-me"
    )
    ctx = TaskContext(task=task)
    ctx.record_execution = lambda _id: ctx.cancelled.set()  # the user cancels right away
    assert driver.execute(task, compiled_bell, ctx) == []
    assert ctx.execution_id is not None
    status = api.get_job_status(ctx.execution_id, "square_qpu", client=driver.client)
    assert status.state in {"cancelled", "completed", "running"}


def test_unknown_execution_id_is_submitted_afresh(
    driver: QpuGrpcDriver, compiled_bell: Circuit
) -> None:
    task = task_for(
        compiled_bell,
        target="square_qpu",
        job_type="submit",
        shots=100,
        task_id="forgotten",
        execution_id="square_qpu-no-such-job",
    )
    recorded: list[str] = []
    ctx = TaskContext(task=task, execution_id=task.execution_id, record_execution=recorded.append)
    (readout,) = driver.execute(task, compiled_bell, ctx)
    assert readout.successful_shots == 100
    assert len(recorded) == 2
    assert recorded[0] == "submitting:a1"
    assert recorded[1] != "square_qpu-no-such-job"
