"""``qrelay worker`` as a real process: SIGTERM drains the task in hand, then exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from qrelay.payload import Circuit

from .conftest import Service, circuit_states


def _slow_circuit(qubits: int = 14, layers: int = 4) -> Circuit:
    """A circuit heavy enough that a sweep of it takes a noticeable while on Aer."""
    instructions = []
    for layer in range(layers):
        instructions += [{"op": "ry", "qubits": [q], "params": ["t"]} for q in range(qubits)]
        instructions += [
            {"op": "cx", "qubits": [q, (q + 1 + layer) % qubits]} for q in range(qubits - 1)
        ]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(qubits)]
    return Circuit.model_validate(
        {
            "num_qubits": qubits,
            "registers": [{"name": "c", "size": qubits}],
            "parameters": ["t"],
            "instructions": instructions,
        }
    )


def test_sigterm_drains_the_current_task(service: Service) -> None:
    rows = [[0.1 * k] for k in range(10)]
    job_id = service.submit(
        {
            "job_type": "simulate",
            "target": "aer_simulator",
            "circuits": [_slow_circuit().model_dump(mode="json")],
            "bindings": [{"names": ["t"], "values": rows}],
            "shots": 2000,
        }
    )
    env = dict(os.environ)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from qrelay.cli import main; sys.exit(main(sys.argv[1:]))",
            "-vv",
            "worker",
            "--url",
            service.url,
            "--token",
            service.worker_token,
            "--target",
            "aer_simulator",
            "--lease-wait",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while circuit_states(service.job(job_id)) == ["awaiting_simulation"]:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the worker never leased the task"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    data = service.wait_for(job_id, {"completed", "failed", "cancelled"})
    assert circuit_states(data) == ["completed"], (data.get("status_messages"), err.decode())
    assert len(data["readouts"][0]) == len(rows)
