"""A job submitted here is retrieved from a second process by its id alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from qrelay_qiskit import QRelayProvider
    job = QRelayProvider().retrieve_job(sys.argv[1])
    result = job.result(timeout=60)
    print(json.dumps({"counts": result.get_counts(), "memory": result.get_memory()}))
    """
)


def test_retrieve_job_from_a_second_process(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    qc = QuantumCircuit(
        QuantumRegister(2, "q"), ClassicalRegister(1, "x"), ClassicalRegister(2, "y")
    )
    qc.x(1)
    qc.measure(0, 0)
    qc.measure(1, 2)
    job = qiskit_provider.get_backend("aer_simulator").run(qc, shots=12, memory=True)
    counts = job.result().get_counts()
    assert counts == {"10 0": 12}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, job.job_id()],
        capture_output=True,
        text=True,
        timeout=240,
        env=dict(os.environ),
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["counts"] == counts
    assert answer["memory"] == ["10 0"] * 12
