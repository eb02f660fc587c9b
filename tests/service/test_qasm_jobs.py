"""OpenQASM submissions become payload circuits in the service, through the converter plugin."""

from __future__ import annotations

import uuid

from .support import Live

BELL_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


def test_openqasm_job_is_stored_as_payload(live: Live) -> None:
    user = live.user()
    body = {"target": "aer_simulator", "circuit_type": "qasm2", "qasm": [BELL_QASM2], "shots": 10}
    r = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]
    results = user.get(f"/v1/jobs/{job_id}/results").json()
    circuit = results["circuits"][0]
    assert circuit["num_qubits"] == 2
    assert [reg["name"] for reg in circuit["registers"]] == ["c"]
    assert [inst["op"] for inst in circuit["instructions"]][:2] == ["h", "cx"]


def test_bad_openqasm_names_the_program_and_line_and_stores_nothing(live: Live) -> None:
    user = live.user()
    before = user.get("/v1/jobs").json()["jobs"]
    broken = BELL_QASM2.replace("cx q[0], q[1];", "cx q[0], q[7];")
    body = {"target": "aer_simulator", "circuit_type": "qasm2", "qasm": [BELL_QASM2, broken]}
    r = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "validation_error"
    assert "qasm[1]" in problem["detail"]
    assert "line" in problem["detail"]
    assert user.get("/v1/jobs").json()["jobs"] == before


VARIABLES_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] c;
int switch_dummy;
qubit[2] q;
bool again = true;
h q[0];
c[0] = measure q[0];
while (again) { h q[1]; c[1] = measure q[1]; again = !c[1]; }
switch_dummy = c;
switch (switch_dummy) { case 3 { x q[0]; } default { } }
"""


def test_openqasm3_variables_make_a_payload_v2_job(live: Live) -> None:
    """The submission says nothing of versions; its text needs payload.v2 (variables,
    while on a variable, switch), and the stored job says so."""
    user = live.user()
    body = {"target": "aer_simulator", "circuit_type": "qasm3", "qasm": [VARIABLES_QASM3]}
    r = user.post("/v1/jobs", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    circuit = user.get(f"/v1/jobs/{r.json()['job_id']}/results").json()["circuits"][0]
    assert [var["name"] for var in circuit["variables"]] == ["switch_dummy", "again"]
    assert [inst["op"] for inst in circuit["instructions"]].count("store") == 2
    bad = VARIABLES_QASM3.replace("again = !c[1];", "again += 1;")
    r = user.post(
        "/v1/jobs",
        json=body | {"qasm": [bad]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 422, r.text
    assert "qasm[0]: OpenQASM 3, line 9, column 46: assignment '+='" in r.json()["detail"]
