"""Bad and hostile submissions: each gets a clear 4xx with a stable code and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import BODY_LIMIT, Served


def _bell(**extra: Any) -> dict[str, Any]:
    return {
        "num_qubits": 2,
        "registers": [{"name": "c", "size": 2}],
        "instructions": [
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    } | extra


def _job(**extra: Any) -> dict[str, Any]:
    return {"target": "aer_simulator", "circuits": [_bell()], "shots": 10} | extra


def _raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _nested(depth: int) -> bytes:
    return (
        b'{"target": "aer_simulator", "circuits": [], "metadata": '
        + (b'{"a": ' * depth)
        + b"1"
        + b"}" * depth
        + b"}"
    )


_ROTATION = {
    "num_qubits": 1,
    "registers": [{"name": "c", "size": 1}],
    "parameters": ["t"],
    "instructions": [
        {"op": "rx", "qubits": [0], "params": ["t"]},
        {"op": "measure", "qubits": [0], "clbits": [0]},
    ],
}

#: name -> (body bytes, expected status, expected code, a word the message must hold)
BAD_BODIES: dict[str, tuple[bytes, int, str, str]] = {
    "malformed json": (
        b'{"target": "aer_simulator", "circuits": [',
        422,
        "validation_error",
        "JSON",
    ),
    "empty body": (b"", 422, "validation_error", ""),
    "json array": (b"[1, 2, 3]", 422, "validation_error", ""),
    "over the limit": (
        _raw(_job(metadata={"pad": "x" * (BODY_LIMIT + 10)})),
        413,
        "payload_too_large",
        "limit",
    ),
    "deeply nested": (_nested(5000), 422, "validation_error", ""),
    "not utf-8": (
        b'{"target": "aer_\xff\xfesimulator", "circuits": []}',
        422,
        "validation_error",
        "",
    ),
    "unknown field": (_raw(_job(colour="blue")), 422, "validation_error", "colour"),
    "wrong type": (_raw(_job(shots="many")), 422, "validation_error", "shots"),
    "negative shots": (_raw(_job(shots=-5)), 422, "validation_error", "shots"),
    "huge shots": (_raw(_job(shots=10**15)), 422, "validation_error", "shots"),
    "too many circuits": (
        _raw(_job(circuits=[{"num_qubits": 1, "instructions": []}] * 10_001)),
        413,
        "payload_too_large",
        "",
    ),
    "qubit out of range": (
        _raw(_job(circuits=[_bell(instructions=[{"op": "h", "qubits": [7]}])])),
        422,
        "validation_error",
        "7",
    ),
    "unknown op": (
        _raw(_job(circuits=[_bell(instructions=[{"op": "frobnicate", "qubits": [0]}])])),
        422,
        "validation_error",
        "frobnicate",
    ),
    "nan param": (
        (
            b'{"target": "aer_simulator", "shots": 10, "circuits": [{"num_qubits": 1, '
            b'"instructions": [{"op": "rx", "qubits": [0], "params": [NaN]}]}]}'
        ),
        422,
        "validation_error",
        "",
    ),
    "inf param": (
        (
            b'{"target": "aer_simulator", "shots": 10, "circuits": [{"num_qubits": 1, '
            b'"instructions": [{"op": "rx", "qubits": [0], "params": [1e999]}]}]}'
        ),
        422,
        "validation_error",
        "",
    ),
    "bindings for another symbol": (
        _raw(_job(circuits=[_ROTATION], bindings=[{"names": ["u"], "values": [[0.1]]}])),
        422,
        "validation_error",
        "t",
    ),
    "nan binding value": (
        b'{"target": "aer_simulator", "shots": 10, "circuits": ['
        + _raw(_ROTATION)
        + b'], "bindings": [{"names": ["t"], "values": [[NaN]]}]}',
        422,
        "validation_error",
        "",
    ),
    "unknown target": (_raw(_job(target="no_such_qpu")), 422, "validation_error", "no_such_qpu"),
    "too many qubits for the target": (
        _raw(_job(circuits=[{"num_qubits": 30, "instructions": []}])),
        422,
        "validation_error",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_body_gets_a_clear_4xx_and_stores_nothing(served: Served, name: str) -> None:
    body, status, code, word = BAD_BODIES[name]
    token, _ = served.new_user()
    user = served.client(token)
    before = served.count_jobs()
    r = user.post(
        "/v1/jobs",
        content=body,
        headers={"Idempotency-Key": f"bad-{name}", "Content-Type": "application/json"},
    )
    assert r.status_code == status, (name, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code, problem
    assert word in problem["detail"], problem["detail"]
    assert served.count_jobs() == before
    assert user.get("/v1/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "validation_error"), ({"Idempotency-Key": "k" * 201}, "validation_error")],
    ids=["missing-key", "key-too-long"],
)
def test_idempotency_key_is_required_and_bounded(
    served: Served, headers: dict[str, str], code: str
) -> None:
    token, _ = served.new_user()
    user = served.client(token)
    r = user.post("/v1/jobs", json=_job(), headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert user.get("/v1/jobs").json()["jobs"] == []


HOSTILE = [
    "'; DROP TABLE jobs; --",
    '" OR 1=1 --',
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "Robert'); DELETE FROM users;--",
]


def test_sql_and_html_in_tags_and_metadata_are_stored_verbatim_and_harmless(
    served: Served,
) -> None:
    token, _ = served.new_user()
    user = served.client(token)
    users_before = len(served.client(served.admin_token).get("/v1/users").json())
    tags = [t[:64] for t in HOSTILE]
    metadata = {f"k{i}": t for i, t in enumerate(HOSTILE)} | {HOSTILE[0]: HOSTILE[2]}
    r = user.post(
        "/v1/jobs", json=_job(tags=tags, metadata=metadata), headers={"Idempotency-Key": "h"}
    )
    if r.status_code == 422:  # tags have a charset: then the refusal must name them
        assert "tags" in r.json()["detail"]
        r = user.post("/v1/jobs", json=_job(metadata=metadata), headers={"Idempotency-Key": "h2"})
        tags = []
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]
    data = user.get(f"/v1/jobs/{job_id}")
    assert data.headers["content-type"] == "application/json"  # never rendered as HTML
    assert data.json()["metadata"] == metadata
    assert data.json()["tags"] == tags
    for value in (HOSTILE[0], HOSTILE[1]):
        listed = user.get("/v1/jobs", params={"tag": value})
        assert listed.status_code == 200
        assert [j["job_id"] for j in listed.json()["jobs"]] == ([job_id] if value in tags else [])
    assert len(served.client(served.admin_token).get("/v1/users").json()) == users_before
    assert served.count_jobs() >= 1
