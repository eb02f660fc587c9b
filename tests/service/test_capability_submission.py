"""A job that asks a target for control flow its capabilities deny is refused as it is
submitted (422 naming the instruction, the op and the target), and one they allow is
taken: cirq_simulator runs if, while, for, switch and expressions, not break, continue
or store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from qrelay.service.catalog import simulator_targets

from .support import Live

H0 = {"op": "h", "qubits": [0]}
M00 = {"op": "measure", "qubits": [0], "clbits": [0]}
X1 = {"op": "x", "qubits": [1]}


def _job(instructions: list[dict[str, Any]], target: str = "cirq_simulator") -> dict[str, Any]:
    return {
        "target": target,
        "version": "payload.v2",
        "shots": 10,
        "circuits": [
            {
                "num_qubits": 2,
                "registers": [{"name": "c", "size": 2}],
                "instructions": [H0, M00, *instructions],
            }
        ],
    }


def _loop(jump: dict[str, Any]) -> dict[str, Any]:
    body = [{"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 1}, "body": [jump]}, X1]
    return {"op": "for", "qubits": [], "loop_range": [0, 2, 1], "body": body}


DENIED = {
    "break": _loop({"op": "break", "qubits": []}),
    "continue": _loop({"op": "continue", "qubits": []}),
    "store": {"op": "store", "qubits": [], "lvalue": {"clbit": 1}, "rvalue": {"clbit": 0}},
}
WHERE = {"break": "2.body.0.body.0", "continue": "2.body.0.body.0", "store": "2"}


def test_cirq_simulator_flags_say_what_it_runs() -> None:
    (info,) = [t for t in simulator_targets() if t.name == "cirq_simulator"]
    capabilities = info.capabilities
    assert capabilities.feed_forward
    for feature in ("if", "while", "for", "switch", "expressions"):
        assert capabilities.runs(feature), feature
    for op in ("break", "continue", "store"):
        assert not capabilities.runs(op), op


@pytest.mark.parametrize("op", sorted(DENIED))
def test_denied_control_flow_is_refused_at_submission(live: Live, op: str) -> None:
    user = live.user()
    before = user.get("/v1/jobs").json()["jobs"]
    r = user.post(
        "/v1/jobs", json=_job([DENIED[op]]), headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert f"circuits[0]: instruction {WHERE[op]} ({op})" in detail
    assert f"'cirq_simulator' does not run '{op}'" in detail
    assert "capabilities.control_flow: if, while, for, switch, expressions" in detail
    assert user.get("/v1/jobs").json()["jobs"] == before
    # the target that runs every op takes the same job
    r = user.post(
        "/v1/jobs",
        json=_job([DENIED[op]], target="aer_simulator"),
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text


def test_allowed_control_flow_is_taken_at_submission(live: Live) -> None:
    switch = {
        "op": "switch",
        "qubits": [],
        "test": {"register": "c"},
        "cases": [{"values": [1], "body": [X1]}],
        "default": [H0],
    }
    expression = {
        "op": "if",
        "qubits": [],
        "test": {"op": "logic_not", "args": [{"clbit": 0}]},
        "body": [X1],
    }
    user = live.user()
    r = user.post(
        "/v1/jobs", json=_job([switch, expression]), headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
