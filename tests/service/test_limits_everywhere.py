"""One answer to "does this circuit fit the target?", asked by every layer that checks.

A circuit whose top level is small but whose ``if`` body is long must be refused by the
payload check, by the service (422) and by the Qiskit backend before it submits, all
naming the same count and limit. The service used to count only top-level instructions.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from qrelay import payload as p
from qrelay.errors import PayloadError

from .support import Live, start

LIMIT = 5


def _target() -> dict[str, Any]:
    return {
        "name": "tiny_sim",
        "provider": "qrelay",
        "num_qubits": 2,
        "simulator": True,
        "limits": {"max_instructions": LIMIT},
        "capabilities": {"mid_circuit_measurement": True, "feed_forward": True},
        "driver": "aer",
    }


def _guarded(body: int) -> dict[str, Any]:
    """Three top-level instructions; the ``if`` holds ``body`` more."""
    return {
        "num_qubits": 2,
        "registers": [{"name": "c", "size": 2}],
        "instructions": [
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {
                "op": "if",
                "qubits": [],
                "condition": {"register": "c", "value": 1},
                "body": [{"op": "x", "qubits": [1]} for _ in range(body)],
            },
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("limits")
    catalog = tmp / "targets.json"
    info = p.TargetInfo.model_validate(_target())
    catalog.write_text(json.dumps([info.model_dump(mode="json")]))
    service = start(f"sqlite:///{tmp / 'q.db'}", targets_file=catalog)
    yield service
    service.stop()


def test_payload_counts_the_body() -> None:
    info = p.TargetInfo.model_validate(_target())
    fits = p.NewJob(target="tiny_sim", circuits=[p.Circuit.model_validate(_guarded(2))])
    p.check_target_limits(fits, info)
    over = p.NewJob(target="tiny_sim", circuits=[p.Circuit.model_validate(_guarded(3))])
    with pytest.raises(PayloadError, match=r"circuits\[0\]\.instructions: 6 instructions"):
        p.check_target_limits(over, info)


def test_service_counts_the_body(live: Live) -> None:
    user = live.user()
    ok = user.post(
        "/v1/jobs",
        json={"target": "tiny_sim", "circuits": [_guarded(2)], "dry_run": True},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert ok.status_code == 201, ok.text
    refused = user.post(
        "/v1/jobs",
        json={"target": "tiny_sim", "circuits": [_guarded(3)]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert "circuits[0].instructions: 6 instructions" in detail
    assert f"limit of {LIMIT}" in detail
    listed = user.get("/v1/jobs").json()
    assert listed["jobs"] == []  # nothing was stored


def test_qiskit_backend_counts_the_body(live: Live) -> None:
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    from qrelay_qiskit import QRelayProvider

    token = live.user().headers["Authorization"].removeprefix("Bearer ")
    backend = QRelayProvider(url=live.url, token=token).get_backend("tiny_sim")
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(2, "c"))
    qc.measure(0, 0)
    with qc.if_test((qc.cregs[0], 1)):
        for _ in range(3):
            qc.x(1)
    qc.measure(1, 1)
    with pytest.raises(PayloadError, match=rf"6 instructions exceed the limit of {LIMIT}"):
        backend.run(qc, shots=10)
