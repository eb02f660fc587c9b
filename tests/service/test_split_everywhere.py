"""Work larger than a target's limits, split into jobs that fit and stitched back.

The target here really has small limits (two circuits a job, three sweep rows a circuit),
so the service refuses the whole sweep as one job; the Cirq sampler and the Qiskit backend
both split it through the runtime and return every point in the user's order.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qrelay import payload as p
from qrelay.worker import Worker

from .support import Live, start

TARGET = "tiny_cirq"
#: Sweep angles: a multiple of pi gives a certain outcome, so each point is checked exactly.
TURNS = [0, 1, 1, 0, 1, 0, 0]


def _target() -> p.TargetInfo:
    return p.TargetInfo(
        name=TARGET,
        driver="cirq",
        simulator=True,
        num_qubits=2,
        limits=p.TargetLimits(max_circuits=2, max_bindings=3),
        capabilities=p.TargetCapabilities(parameter_batch=True),
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp("split")
    catalog = tmp / "targets.json"
    catalog.write_text(json.dumps([_target().model_dump(mode="json")]))
    service = start(f"sqlite:///{tmp / 'q.db'}", targets_file=catalog)
    token = service.worker([TARGET]).headers["Authorization"].removeprefix("Bearer ")
    worker = Worker(service.url, token, [TARGET], lease_wait=2.0, heartbeat_seconds=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    yield service
    stop.set()
    worker.stop()
    thread.join(timeout=60)
    worker.close()
    service.stop()


def _token(live: Live) -> str:
    return live.user().headers["Authorization"].removeprefix("Bearer ")


def test_the_whole_sweep_is_too_big_for_one_job(live: Live) -> None:
    rx = {"op": "rx", "qubits": [0], "params": ["t"]}
    measure = {"op": "measure", "qubits": [0], "clbits": [0]}
    circuit = {
        "num_qubits": 1,
        "registers": [{"name": "m", "size": 1}],
        "parameters": ["t"],
        "instructions": [rx, measure],
    }
    table = {"names": ["t"], "values": [[math.pi * turn] for turn in TURNS]}
    refused = live.user().post(
        "/v1/jobs",
        json={"target": TARGET, "circuits": [circuit], "bindings": [table], "shots": 10},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code == 422, refused.text
    assert "bindings" in refused.json()["detail"]


def test_a_cirq_sweep_is_split_and_stitched(live: Live) -> None:
    import cirq
    import sympy

    from qrelay_cirq import QRelayService

    q = cirq.LineQubit(0)
    t = sympy.Symbol("t")
    circuit = cirq.Circuit(cirq.rx(t).on(q), cirq.measure(q, key="m"))
    sweep = cirq.Points("t", [math.pi * turn for turn in TURNS])
    other = cirq.Circuit(cirq.X(q), cirq.measure(q, key="m"))
    sampler = QRelayService(url=live.url, token=_token(live)).sampler(TARGET)
    job = sampler.submit_batch([circuit, other], [sweep, None], repetitions=10)
    assert len(job.job_ids) == 2  # 7 rows as 3 + 3 + 1, and the second circuit: 4 entries
    results = job.results(timeout=120)
    assert [len(per_circuit) for per_circuit in results] == [len(TURNS), 1]
    for turn, result in zip(TURNS, results[0], strict=True):
        assert result.params.param_dict == {"t": pytest.approx(math.pi * turn)}
        assert result.measurements["m"].ravel().tolist() == [turn] * 10
    assert results[1][0].measurements["m"].ravel().tolist() == [1] * 10


def test_a_qiskit_sweep_is_split_the_same_way(live: Live) -> None:
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    from qrelay_qiskit import QRelayProvider

    theta = Parameter("t")
    qc = QuantumCircuit(1, 1)
    qc.rx(theta, 0)
    qc.measure(0, 0)
    backend = QRelayProvider(url=live.url, token=_token(live)).get_backend(TARGET)
    job = backend.run(qc, shots=10, parameter_binds=[{theta: [math.pi * x for x in TURNS]}])
    assert job.job_id().count(",") == 1  # 3 + 3 + 1 rows: two jobs of at most two entries
    counts: Any = job.result(timeout=120).get_counts()
    assert counts == [{str(turn): 10} for turn in TURNS]
