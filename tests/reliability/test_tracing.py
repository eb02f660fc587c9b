"""One trace per job across every process: client, service, worker and controller.

``qrelay serve``, ``qrelay worker`` and ``qrelay qpu serve`` run as processes of their
own with ``QRELAY_OTEL=1``, each appending its finished spans to a file of its own as
JSON lines (the SDK's console exporter on that file). The client is this process, its
spans collected by the SDK's in-memory exporter. One Qiskit ``backend.run`` must give one
trace holding spans of all four, each span's parent found among them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .procs import Stack, wait_until

TARGET = "square_qpu"


def _file_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            span = json.loads(line)
            out.append(
                {
                    "name": span["name"],
                    "trace_id": span["context"]["trace_id"].removeprefix("0x"),
                    "span_id": span["context"]["span_id"].removeprefix("0x"),
                    "parent_id": (span.get("parent_id") or "").removeprefix("0x") or None,
                    "service": span["resource"]["attributes"]["service.name"],
                }
            )
    return out


def _memory_spans(exporter: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "parent_id": format(s.parent.span_id, "016x") if s.parent is not None else None,
            "service": "client",
        }
        for s in exporter.get_finished_spans()
    ]


def _ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[str]:
    names = []
    while span["parent_id"] is not None:
        span = by_id[span["parent_id"]]
        names.append(span["name"])
    return names


def test_one_backend_run_is_one_trace_through_every_process(
    sqlite_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from qiskit import QuantumCircuit, transpile

    from qrelay.runtime import tracing
    from qrelay_qiskit import QRelayProvider

    files = {name: tmp_path / f"spans-{name}.jsonl" for name in ("serve", "worker", "qpu")}
    stack = sqlite_stack
    stack.extra_env = {"QRELAY_OTEL": "1", "QRELAY_OTEL_FILE": str(files["serve"])}
    stack.start_service()
    stack.extra_env["QRELAY_OTEL_FILE"] = str(files["qpu"])
    _qpu, address = stack.start_qpu(TARGET)
    stack.extra_env["QRELAY_OTEL_FILE"] = str(files["worker"])
    stack.start_worker(stack.new_worker_token([TARGET]), [TARGET], qpu_address=address)

    # the client: this process, its spans kept in memory
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setenv("QRELAY_OTEL", "1")
    monkeypatch.delenv("QRELAY_OTEL_FILE", raising=False)
    assert tracing.setup("qrelay-test-client")

    backend = QRelayProvider(stack.url, stack.new_user()).get_backend(TARGET)
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    job = backend.run(transpile(qc, backend, seed_transpiler=3), shots=200)
    counts = job.result(timeout=120).get_counts()
    assert sum(counts.values()) == 200
    data = job.handles[0].data()

    client = _memory_spans(exporter)
    root = next(s for s in client if s["name"] == "qrelay.client.run")
    assert root["parent_id"] is None
    trace_id = root["trace_id"]
    assert data.trace_id == trace_id  # the job's REST data names its trace

    def gathered() -> list[dict[str, Any]] | None:
        spans = [*client, *(s for f in files.values() for s in _file_spans(f))]
        mine = [s for s in spans if s["trace_id"] == trace_id]
        names = {s["name"] for s in mine}
        wanted = {"qrelay.worker.post", "qrelay.controller.run", "qrelay.service.store"}
        return mine if wanted <= names else None

    spans = wait_until(gathered, 60, "every process's spans of the job")
    services = {s["service"] for s in spans}
    assert services == {"client", "qrelay-service", "qrelay-worker", "qrelay-qpu"}
    by_id = {s["span_id"]: s for s in spans}
    orphans = [
        s["name"] for s in spans if s["parent_id"] is not None and s["parent_id"] not in by_id
    ]
    assert orphans == []
    roots = [s["name"] for s in spans if s["parent_id"] is None]
    assert roots == ["qrelay.client.run"]

    def one(name: str) -> dict[str, Any]:
        found = [s for s in spans if s["name"] == name]
        assert len(found) == 1, (name, found)
        return found[0]

    for name in ("qrelay.client.convert", "qrelay.client.submit"):
        assert _ancestors(one(name), by_id)[-1] == "qrelay.client.run"
    for name in ("qrelay.client.wait", "qrelay.client.decode"):
        assert _ancestors(one(name), by_id)[0] == "qrelay.client.result"
    # client submit -> (http) -> service request -> store
    store = one("qrelay.service.store")
    assert store["service"] == "qrelay-service"
    assert "qrelay.client.submit" in _ancestors(store, by_id)
    # store -> (the job's traceparent) -> worker task -> lease, compile, execute, post
    task = one("qrelay.worker.task")
    assert by_id[task["parent_id"]]["name"] == "qrelay.service.store"
    for name in (
        "qrelay.worker.lease",
        "qrelay.worker.compile",
        "qrelay.worker.execute",
        "qrelay.worker.post",
    ):
        span = one(name)
        assert span["service"] == "qrelay-worker"
        assert by_id[span["parent_id"]]["name"] == "qrelay.worker.task"
    # execute -> (gRPC metadata) -> controller call -> queue and run on the device
    for name in ("qrelay.controller.queue", "qrelay.controller.run"):
        span = one(name)
        assert span["service"] == "qrelay-qpu"
        assert "qrelay.worker.execute" in _ancestors(span, by_id)
        assert by_id[span["parent_id"]]["service"] == "qrelay-qpu"  # the server's call span


_OFF = """
import sys
from qiskit import QuantumCircuit
from qrelay.qpu.server import start_server
from qrelay.runtime import tracing
from qrelay.worker import Worker
from qrelay_qiskit import QRelayProvider

url, token = sys.argv[1], sys.argv[2]
handle = start_server(port=0, devices=["square_qpu"])
worker = Worker(url, "unused", ["square_qpu"], driver_config={"qpu_address": handle.address})
backend = QRelayProvider(url, token).get_backend("aer_simulator")
qc = QuantumCircuit(1)
qc.x(0)
qc.measure_all()
job = backend.run(qc, shots=5)
job.queue_info()
worker.close()
handle.stop(grace=0)
assert not tracing.active()
assert tracing.traceparent() is None
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print("loaded:", loaded)
"""


def test_off_by_default_and_never_imported(sqlite_stack: Stack) -> None:
    """Without QRELAY_OTEL or OTEL_* variables the client, the worker and the controller
    run without importing OpenTelemetry at all."""
    import os
    import subprocess
    import sys

    stack = sqlite_stack
    stack.start_service()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRELAY_OTEL", "OTEL_"))}
    env["QRELAY_HOME"] = str(stack.home)
    done = subprocess.run(
        [sys.executable, "-c", _OFF, stack.url, stack.new_user()],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout, done.stdout
