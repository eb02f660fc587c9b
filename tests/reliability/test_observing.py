"""The three processes as an operator runs them: JSON logs and a metrics port each.

``qrelay serve``, ``qrelay worker`` and ``qrelay qpu serve`` run as real subprocesses with
``--log-format json`` (or ``QRELAY_LOG_FORMAT=json``) and ``--metrics-port``. After jobs
run through all three, each port is scraped and its counters checked; every log line is
a JSON object and none holds a token.
"""

from __future__ import annotations

import json

import httpx
from tests.service.support import Samples, samples, scrape_until, value

from .circuits import bell
from .procs import Proc, Stack, _env, free_port, submit, wait_terminal, wait_until

JOBS = 3


def _scrape(port: int) -> Samples:
    return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)


def test_metrics_ports_and_json_logs_of_all_three_processes(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    serve_metrics, worker_metrics, qpu_metrics = free_port(), free_port(), free_port()
    service = Proc(
        [
            "-vv",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(stack.port),
            "--database-url",
            stack.database_url,
            "--metrics-port",
            str(serve_metrics),
            "--access-log",
        ],
        _env(stack.home, admin_token=stack.admin_token, log_format="json"),
        stack._log("serve"),
    ).start()
    stack.service = service
    wait_until(
        lambda: service.alive() and _up(f"{stack.url}/readyz"), 60, "qrelay serve to be ready"
    )
    qpu_port = free_port()
    qpu = Proc(
        [
            "-v",
            "--log-format",
            "json",
            "qpu",
            "serve",
            "--port",
            str(qpu_port),
            "--devices",
            "square_qpu",
            "--metrics-port",
            str(qpu_metrics),
        ],
        _env(stack.home),
        stack._log("qpu"),
        group=True,
    ).start()
    stack.others.append(qpu)
    wait_until(lambda: _up(f"http://127.0.0.1:{qpu_metrics}/metrics"), 60, "the QPU metrics")

    user_token = stack.new_user()
    worker_token = stack.new_worker_token(["square_qpu"])
    worker = Proc(
        [
            "-v",
            "worker",
            "--url",
            stack.url,
            "--token",
            worker_token,
            "--target",
            "square_qpu",
            "--qpu-address",
            f"127.0.0.1:{qpu_port}",
            "--lease-wait",
            "1",
            "--metrics-port",
            str(worker_metrics),
        ],
        _env(stack.home, log_format="json", heartbeat_seconds=0.5),
        stack._log("worker"),
        group=True,
    ).start()
    stack.others.append(worker)
    user = stack.client(user_token)
    ids = [
        submit(user, {"target": "square_qpu", "circuits": [bell()], "shots": 50})
        for _ in range(JOBS)
    ]
    for job_id in ids:
        assert wait_terminal(user, job_id)["statuses"] == ["completed"]

    # The service counts a result right after its commit; a long poll that read the
    # database on its own may answer a moment before that, so the last job is waited for.
    served = scrape_until(
        lambda: _scrape(serve_metrics),
        "qrelay_jobs_ended_total",
        JOBS,
        target="square_qpu",
        status="completed",
    )
    assert served, "the service did not count every job"
    assert value(served, "qrelay_jobs_submitted_total", target="square_qpu") == JOBS
    assert value(served, "qrelay_leases_granted_total", target="square_qpu") == JOBS
    assert value(served, "qrelay_task_run_seconds_count", target="square_qpu") == JOBS
    worked = scrape_until(
        lambda: _scrape(worker_metrics),
        "qrelay_worker_tasks_total",
        JOBS,
        target="square_qpu",
        outcome="completed",
    )
    assert worked, "the worker did not count its tasks"
    assert value(worked, "qrelay_worker_task_seconds_count", target="square_qpu") == JOBS
    controlled = _scrape(qpu_metrics)
    assert value(controlled, "qrelay_qpu_programs_executed_total", device="square_qpu") == JOBS
    assert value(controlled, "qrelay_qpu_jobs_completed_total", device="square_qpu") == JOBS
    assert value(controlled, "qrelay_qpu_busy_seconds_total", device="square_qpu") > 0
    assert value(controlled, "qrelay_qpu_queue_length", device="square_qpu") == 0
    assert value(controlled, "qrelay_qpu_engine_restarts_total") == 0

    bogus = "qru_" + "NotAToken" * 4
    assert stack.client(bogus).get("/v1/me").status_code == 401
    stack.close()
    logs = {p.name: p.read_text(errors="replace") for p in stack.home.glob("*.log")}
    lines = {name: [ln for ln in text.splitlines() if ln.strip()] for name, text in logs.items()}
    for name in ("serve", "worker"):
        (found,) = [n for n in lines if name in n]
        records = [json.loads(line) for line in lines[found]]  # every line is JSON
        assert records, f"the {name} log is empty"
        assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [
        json.loads(line)
        for line in next(v for n, v in lines.items() if "serve" in n)
        if '"uvicorn.access"' in line
    ]
    assert any(r["path"] == "/v1/jobs" and r["status"] == 201 for r in access)
    qpu_lines = next(v for n, v in lines.items() if "qpu" in n)
    logged = [ln for ln in qpu_lines if not ln.startswith("QPU controller listening")]  # stdout
    assert logged
    assert all(json.loads(line)["logger"].startswith("qrelay") for line in logged)
    for secret in (user_token, worker_token, bogus, stack.admin_token):
        leaks = [name for name, text in logs.items() if secret in text]
        assert leaks == [], f"a token is in {leaks}"


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
