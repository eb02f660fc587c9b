"""The worker benchmark's service case: submit -> lease -> run -> post -> readout.

Imported by :mod:`benchmarks.worker_bench` only when the service is installed (an
``ImportError`` here means "skip this case"). The real app runs on loopback with a SQLite
file in a temporary directory, and one worker serves ``aer_simulator`` in a thread.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from qrelay.service.app import create_app


def lease_to_result(
    quick: bool, circuit: Any, shots: int, row: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """Median submit-to-readout latency of a ``simulate`` job, against Aer directly."""
    from qiskit_aer import AerSimulator

    from qrelay.embedded import _serve_http
    from qrelay.payload import JobData
    from qrelay.service import bootstrap
    from qrelay.settings import ServiceSettings
    from qrelay.worker import Worker
    from qrelay_qiskit.convert import to_qiskit

    with tempfile.TemporaryDirectory() as tmp:
        settings = ServiceSettings(home=Path(tmp))
        database_url = settings.resolved_database_url()
        token = "qr_" + secrets.token_urlsafe(24)
        bootstrap.ensure_admin(database_url, token)
        worker_token = bootstrap.create_worker_token(
            database_url, name="bench", targets=["aer_simulator"]
        )
        app = create_app(settings.model_copy(update={"database_url": database_url}))
        server = _serve_http(app)  # the embedded service's own loopback server, in a thread
        url = server.url
        worker = Worker(url, worker_token, ["aer_simulator"], lease_wait=2.0)
        worker_thread = threading.Thread(target=worker.run, daemon=True)
        worker_thread.start()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        body = {
            "job_type": "simulate",
            "target": "aer_simulator",
            "circuits": [circuit.model_dump(mode="json")],
            "shots": shots,
        }

        def ours() -> None:
            response = http.post(
                "/v1/jobs", json=body, headers={"Idempotency-Key": secrets.token_hex(8)}
            )
            response.raise_for_status()
            job_id = response.json()["job_id"]
            while True:
                got = http.get(
                    f"/v1/jobs/{job_id}", params={"wait": 30, "include": "readout"}, timeout=60
                )
                got.raise_for_status()
                data = JobData.model_validate_json(got.content)
                if data.readouts and data.readouts[0]:
                    return
                if data.status.value in {"failed", "cancelled"}:
                    raise RuntimeError(f"benchmark job {job_id}: {data.status_messages}")

        qc = to_qiskit(circuit)
        simulator = AerSimulator()

        def reference() -> None:
            simulator.run(qc, shots=shots).result().get_counts()

        try:
            ours()
            reference()
            repeat = 5 if quick else 20
            times: tuple[list[float], list[float]] = ([], [])
            for _ in range(repeat):
                for fn, into in ((ours, times[0]), (reference, times[1])):
                    start = time.perf_counter()
                    fn()
                    into.append(time.perf_counter() - start)
        finally:
            worker.stop()
            worker_thread.join(timeout=10)
            worker.close()
            http.close()
            server.stop(timeout=5)
    return row(
        f"simulate job, submit to readout through the service ({circuit.num_qubits}q, "
        f"{shots} shots)",
        1e3 * statistics.median(times[0]),
        1e3 * statistics.median(times[1]),
        "informational",
        "HTTP + SQLite + lease long-poll + worker + result post + long-poll read",
    )
