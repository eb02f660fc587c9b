"""The worker benchmark's service case: submit -> lease -> run -> post -> readout.

Imported by :mod:`benchmarks.worker_bench` only when the service is installed (an
``ImportError`` here means "skip this case"). The real app runs on loopback with a SQLite
file in the fresh home of a process of its own (:mod:`benchmarks.apart`), one worker
serving ``aer_simulator`` in a thread; Aer runs in processes of its own.
"""

from __future__ import annotations

import secrets
import statistics
import threading
from collections.abc import Callable
from typing import Any

import httpx

from qrelay.service.app import create_app


def lease_works(circuit: dict[str, Any], shots: int) -> dict[str, Callable[[], Callable[[], None]]]:
    """The two paths of the row, by label (:func:`benchmarks.apart.time_setup`): the job
    through the service and a worker, and Aer run directly on the same circuit."""

    def service() -> Callable[[], None]:
        from qrelay.payload import JobData
        from qrelay.service import bootstrap
        from qrelay.service.loopback import serve_loopback
        from qrelay.settings import ServiceSettings
        from qrelay.worker import Worker

        settings = ServiceSettings()  # QRELAY_HOME: the fresh home benchmarks.apart gives
        database_url = settings.resolved_database_url()
        token = "qr_" + secrets.token_urlsafe(24)
        bootstrap.ensure_admin(database_url, token)
        worker_token = bootstrap.create_worker_token(
            database_url, name="bench", targets=["aer_simulator"]
        )
        app = create_app(settings.model_copy(update={"database_url": database_url}))
        server = serve_loopback(app)  # the embedded service's own loopback server, in a thread
        worker = Worker(server.url, worker_token, ["aer_simulator"], lease_wait=2.0)
        threading.Thread(target=worker.run, daemon=True).start()
        http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
        body = {"job_type": "simulate", "target": "aer_simulator", "circuits": [circuit]}
        body["shots"] = shots

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

        return ours

    def aer() -> Callable[[], None]:
        from benchmarks.peers.local import make_aer_simulator
        from qrelay.payload import Circuit
        from qrelay_qiskit.convert import to_qiskit

        qc = to_qiskit(Circuit.model_validate(circuit))
        simulator = make_aer_simulator()
        return lambda: simulator.run(qc, shots=shots).result().get_counts()

    return {"service": service, "Aer run": aer}


def lease_to_result(
    quick: bool, circuit: Any, shots: int, row: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """Median submit-to-readout latency of a ``simulate`` job, against Aer directly, each
    side in processes of its own (the better of Aer's default and one-thread setups)."""
    from benchmarks import apart

    got = apart.compare(
        "benchmarks._worker_service:lease_works",
        ["service"],
        ["Aer run"],
        repeat=5 if quick else 20,
        rounds=1 if quick else 2,
        circuit=circuit.model_dump(mode="json"),
        shots=shots,
    )
    if got.reasons:
        raise RuntimeError(f"lease_to_result: {got.reasons}")
    return row(
        f"simulate job, submit to readout through the service ({circuit.num_qubits}q, "
        f"{shots} shots)",
        statistics.median(got.times_ms["service"]),
        statistics.median(got.times_ms["Aer run"]),
        "informational",
        "HTTP + SQLite + lease long-poll + worker + result post + long-poll read; "
        f"each side apart, Aer as {got.setups['Aer run']}",
    )
