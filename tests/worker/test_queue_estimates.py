"""Queue position and estimated start/finish against the real service and a worker.

Nothing measured: a waiting job has a position but no times. Once the worker has run a
few tasks of the target, waiting jobs get a start and a finish in queue order, and the
Qiskit job, the Cirq job and ``qrelay job ID`` show them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qrelay.payload import JobData
from qrelay.worker import Worker

from ._circuits import ghz
from .conftest import Service

TARGET = "aer_simulator"


@pytest.fixture(scope="module")
def worker(service: Service) -> Iterator[Worker]:
    with Worker(service.url, service.worker_token, [TARGET], lease_wait=2.0) as w:
        yield w


def _job(circuits: int = 1) -> dict[str, Any]:
    return {
        "target": TARGET,
        "circuits": [ghz(2).model_dump(mode="json")] * circuits,
        "shots": 50,
    }


def _data(service: Service, job_id: str) -> JobData:
    return JobData.model_validate(service.job(job_id))


def _drain(service: Service, worker: Worker, job_ids: list[str]) -> None:
    for _ in range(10 * len(job_ids) + 10):
        if all(_data(service, j).status.value == "completed" for j in job_ids):
            return
        worker.run_once(wait=2.0)
    raise AssertionError("the jobs did not complete")


def test_estimates_follow_the_queue_once_the_target_has_measured(
    service: Service, worker: Worker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = service.submit(_job())
    unmeasured = _data(service, first)
    assert unmeasured.queue_position == 0
    assert unmeasured.estimated_start is None
    assert unmeasured.estimated_finish is None

    # the worker runs a few tasks: the target now has a measured time per task
    warm = [first, *(service.submit(_job()) for _ in range(3))]
    _drain(service, worker, warm)

    waiting = [service.submit(_job(circuits=n)) for n in (1, 2, 1)]
    datas = [_data(service, j) for j in waiting]
    assert [d.queue_position for d in datas] == [0, 1, 3]
    for data in datas:
        assert data.estimated_start is not None
        assert data.estimated_finish is not None
        assert data.estimated_start <= data.estimated_finish
        assert data.queue_note is None
    starts = [d.estimated_start for d in datas]
    assert starts == sorted(starts)  # type: ignore[type-var]

    # the same through the front ends and the shell
    from qiskit import QuantumCircuit

    from qrelay.cli import main
    from qrelay_cirq import QRelayCirqService, QRelaySampler
    from qrelay_qiskit import QRelayProvider

    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    qiskit_job = QRelayProvider(service.url, service.token).get_backend(TARGET).run(qc, shots=10)
    assert qiskit_job.queue_position() == 4
    info = qiskit_job.queue_info()
    assert info.position == 4
    assert info.estimated_start_time is not None
    assert info.estimated_complete_time is not None
    assert info.status.startswith("awaiting")

    import cirq

    q = cirq.LineQubit.range(2)
    program = cirq.Circuit(cirq.H(q[0]), cirq.CNOT(q[0], q[1]), cirq.measure(*q, key="m"))
    sampler = QRelaySampler(QRelayCirqService(service.url, service.token), TARGET)
    cirq_job = sampler.submit_batch([program], None, 10)
    assert cirq_job.queue_position() == 5
    assert cirq_job.queue_info().estimated_start_time is not None

    token_file = tmp_path / "token"
    token_file.write_text(service.token + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["job", waiting[2], "--url", service.url, "--token-file", str(token_file)]) == 0
    out = capsys.readouterr().out
    assert "queue position 3, start ~" in out
    assert "finish ~" in out

    _drain(service, worker, [*waiting, qiskit_job.job_id(), cirq_job.job_id])
    done = _data(service, waiting[0])
    assert done.queue_position is None
    assert done.estimated_start is None
    assert qiskit_job.queue_position() is None
