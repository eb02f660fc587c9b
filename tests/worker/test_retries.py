"""Each retrying call site of the worker retries what it should and nothing else: its
HTTP requests (a fault-injecting copy of the real service), the QPU calls (a controller
address nothing listens on) and the lease loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.reliability.procs import free_port
from tests.runtime.faults import Fault, FaultInjector

from qrelay.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from qrelay.plugins import TaskContext
from qrelay.qpu.fleet import fleet_device
from qrelay.runtime.retry import NO_RETRY, RetryPolicy
from qrelay.worker.api import WorkerApi
from qrelay.worker.loop import Worker
from qrelay.worker.qpu_driver import QpuGrpcDriver
from qrelay_qiskit.compiler import TranspileCompiler

from ._circuits import ghz, task_for
from .conftest import Service

FAST = RetryPolicy(max_retries=3, deadline=10.0, backoff_base=0.01, backoff_max=0.05)


@dataclass
class _Faulty:
    url: str
    injector: FaultInjector


@pytest.fixture(scope="module")
def faulty(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Faulty]:
    """The service's app (its database) behind a fault injector, on its own port."""
    from qrelay.service.app import create_app
    from qrelay.service.loopback import serve_loopback
    from qrelay.settings import ServiceSettings

    home: Path = tmp_path_factory.mktemp("faulty-worker-service")
    app = create_app(ServiceSettings(home=home, database_url=service.database_url))
    faults = FaultInjector(app)
    server = serve_loopback(faults)
    try:
        yield _Faulty(server.url, faults)
    finally:
        server.stop(timeout=5)


@pytest.fixture
def injector(faulty: _Faulty) -> FaultInjector:
    faulty.injector.clear()
    return faulty.injector


@pytest.fixture
def api(service: Service, faulty: _Faulty, injector: FaultInjector) -> Iterator[WorkerApi]:
    client = WorkerApi(faulty.url, service.worker_token, retry=FAST)
    yield client
    client.close()


def test_worker_request_is_retried_after_503_and_honours_retry_after(
    api: WorkerApi, injector: FaultInjector
) -> None:
    injector.plan("GET", "/v1/worker/targets", Fault(503, "0.2"), Fault(502))
    started = time.monotonic()
    assert api.target("aer_simulator").name == "aer_simulator"
    assert time.monotonic() - started >= 0.2
    assert len(injector.requests("GET", "/v1/worker/targets")) == 3


def test_worker_request_gives_up_after_its_policy(api: WorkerApi, injector: FaultInjector) -> None:
    injector.plan("GET", "/v1/worker/targets", *[Fault(429, "0") for _ in range(10)])
    with pytest.raises(RateLimitedError):
        api.target("aer_simulator")
    assert len(injector.requests("GET", "/v1/worker/targets")) == FAST.max_retries + 1


def test_worker_request_does_not_retry_an_error_answer(
    api: WorkerApi, injector: FaultInjector
) -> None:
    with pytest.raises(PermissionDeniedError):
        api.target("no_such_target")
    assert len(injector.requests("GET", "/v1/worker/targets")) == 1


def test_heartbeat_is_not_retried(api: WorkerApi, injector: FaultInjector) -> None:
    injector.plan("POST", "/v1/worker/tasks", Fault(503, "0"))
    with pytest.raises(RateLimitedError):
        api.heartbeat("some-task", "some-lease")
    assert len(injector.requests("POST", "/v1/worker/tasks")) == 1


def test_a_closed_worker_api_does_not_retry(api: WorkerApi, injector: FaultInjector) -> None:
    injector.plan("GET", "/v1/worker/targets", Fault(503, "0"))
    api.close()
    with pytest.raises(RateLimitedError):
        api.target("aer_simulator")
    assert len(injector.requests("GET", "/v1/worker/targets")) == 1


def test_qpu_calls_retry_an_unreachable_controller_until_cancelled() -> None:
    circuit = TranspileCompiler().compile(ghz(2), fleet_device("square_qpu")).circuit
    task = task_for(circuit, target="square_qpu", job_type="submit", task_id="cancel-retry")
    driver = QpuGrpcDriver(
        fleet_device("square_qpu"),
        qpu_address=f"127.0.0.1:{free_port()}",
        unreachable_seconds=60.0,
    )
    ctx = TaskContext(task=task, record_execution=lambda _id: None)
    threading.Timer(1.0, ctx.cancelled.set).start()
    started = time.monotonic()
    try:
        assert driver.execute(task, circuit, ctx) == []
    finally:
        driver.close()
    assert time.monotonic() - started < 10.0  # well inside unreachable_seconds


def test_lease_loop_retries_an_unreachable_service_until_stopped() -> None:
    # The requests themselves give up at once: what is left to retry is the loop's.
    url = f"http://127.0.0.1:{free_port()}"
    api = WorkerApi(url, "qr_token", retry=NO_RETRY)
    worker = Worker(url, "qr_token", ["aer_simulator"], isolate=False, api=api)
    stop = threading.Event()
    done = threading.Event()

    def run() -> None:
        worker.run(stop)
        done.set()

    try:
        threading.Thread(target=run, daemon=True).start()
        time.sleep(1.0)
        assert not done.is_set()  # still retrying
        worker.stop()
        assert done.wait(5.0)  # the pause ends with the stop
    finally:
        worker.close()


def test_lease_loop_does_not_retry_a_refused_token(service: Service) -> None:
    with (
        Worker(service.url, "qr_not-a-token", ["aer_simulator"], isolate=False) as worker,
        pytest.raises(AuthenticationError),
    ):
        worker.run()
