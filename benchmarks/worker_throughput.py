"""Worker throughput, whole jobs: how fast one worker drains a queue of small jobs.

The real app runs on loopback with a SQLite file in the fresh home of a process of its
own (:mod:`benchmarks.apart`). ``jobs`` Bell-pair ``simulate`` jobs are queued first;
then one worker serving ``aer_simulator`` starts, and the clock runs until the last job
has its readout. Each task is one lease answer and one result post (which leases the
next task), so the figure is mostly the worker's HTTP and the service's request cost,
with a small Aer run per job: the row that decides which HTTP stack the worker uses.

``--against DIR`` also times the same side with another checkout's ``src`` (for example
one exported with ``git archive``) first on the import path, alternating the two, each
run a process of its own::

    python -m benchmarks.worker_throughput [--jobs 200] [--rounds 3] [--against DIR]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import threading
import time
from typing import Any

from benchmarks.peers.clients import BELL_JOB


def throughput(jobs: int, shots: int = 100) -> dict[str, Any]:
    """A side: queue ``jobs`` jobs, start a worker, time until the last one is done."""
    import httpx

    from qrelay.payload import JobData
    from qrelay.service import bootstrap
    from qrelay.service.app import create_app
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
    server = serve_loopback(create_app(settings.model_copy(update={"database_url": database_url})))
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    body = json.loads(BELL_JOB) | {"job_type": "simulate", "shots": shots}
    ids = []
    for _ in range(jobs):
        answer = http.post("/v1/jobs", json=body, headers={"Idempotency-Key": secrets.token_hex(8)})
        answer.raise_for_status()
        ids.append(answer.json()["job_id"])
    worker = Worker(server.url, worker_token, ["aer_simulator"], lease_wait=2.0)
    start = time.perf_counter()
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    for job_id in ids:  # queued in this order, leased in this order
        while True:
            got = http.get(f"/v1/jobs/{job_id}", params={"wait": 30}, timeout=60)
            got.raise_for_status()
            data = JobData.model_validate_json(got.content)
            if data.status.value == "completed":
                break
            if data.status.value in {"failed", "cancelled"}:
                raise RuntimeError(f"benchmark job {job_id}: {data.status_messages}")
    seconds = time.perf_counter() - start
    worker.stop()
    thread.join(timeout=30)
    worker.close()
    return {"seconds": seconds, "jobs_per_s": jobs / seconds}


def main() -> None:
    from benchmarks import apart

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", help="another checkout's src directory")
    args = parser.parse_args()
    side = apart.Side("benchmarks.worker_throughput:throughput", {"jobs": args.jobs})
    runs: dict[str, list[Any]] = {"this tree": []}
    if args.against:
        runs["against"] = []
    for _ in range(args.rounds):
        for name, results in runs.items():
            path = [args.against] if name == "against" else []
            results.append(apart.run(side, path=path))
    summary = {
        name: {
            "jobs_per_s": [round(r["jobs_per_s"], 1) for r in results],
            "median_jobs_per_s": round(statistics.median(r["jobs_per_s"] for r in results), 1),
        }
        for name, results in runs.items()
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
