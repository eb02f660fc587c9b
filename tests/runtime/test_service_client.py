"""The client against the real service: retries, long-poll, error mapping, the sync side.

The service is the embedded default's (real app, SQLite, workers); faults come from a
second instance of the app behind a fault-injecting middleware (see ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from qrelay.errors import (
    AuthenticationError,
    ConflictError,
    InsufficientBalanceError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransportError,
    ValidationError,
)
from qrelay.payload import CircuitStatus, JobType, NewJob, NewUser, UserTokenResponse
from qrelay.runtime import AsyncClient, Client

from .circuits import bell, flip
from .conftest import FaultyService
from .faults import Fault, FaultInjector


def _client(faulty: FaultyService, **kwargs: Any) -> Client:
    return Client(faulty.url, faulty.token, **kwargs)


@pytest.fixture(scope="module")
def user_token(stack: Any) -> str:
    """A plain user with no balance (for 402/403)."""
    answer = httpx.post(
        f"{stack.url}/v1/users",
        headers={"Authorization": f"Bearer {stack.token}"},
        content=NewUser(name="Plain", email="plain@example.org", balance=0.0)
        .model_dump_json()
        .encode(),
        timeout=10,
    )
    answer.raise_for_status()
    return UserTokenResponse.model_validate_json(answer.content).token


# ---------------------------------------------------------------------- retries
def test_get_is_retried_after_503_and_honours_retry_after(
    faulty: FaultyService, injector: FaultInjector
) -> None:
    injector.plan("GET", "/v1/targets", Fault(503, "0.2"), Fault(429, "0.1"))
    with _client(faulty) as client:
        names = {t.target_name for t in client.targets()}
    assert "aer_simulator" in names
    seen = injector.requests("GET", "/v1/targets")
    assert [s.faulted for s in seen] == [503, 429, None]
    assert seen[1].at - seen[0].at >= 0.2  # waited as long as Retry-After said
    assert seen[2].at - seen[1].at >= 0.1


def test_submit_is_retried_with_one_idempotency_key_and_runs_once(
    faulty: FaultyService, injector: FaultInjector
) -> None:
    # The first POST reaches the service (the job is stored) but its answer is lost.
    injector.plan("POST", "/v1/jobs", Fault(502, pass_through=True), Fault(503, "0"))
    with _client(faulty) as client:
        job = client.submit(NewJob(target="aer_simulator", circuits=[flip()], shots=50))
        posts = [s for s in injector.requests("POST", "/v1/jobs") if s.path == "/v1/jobs"]
        assert [s.faulted for s in posts] == [502, 503, None]
        keys = {s.idempotency_key for s in posts}
        assert len(keys) == 1
        assert None not in keys
        listed = [j.job_id for j in client.jobs(limit=500)]
        assert listed.count(job.job_id) == 1
        assert sum(1 for j in client.jobs(limit=500) if j.job_id == job.job_id) == 1
        counts = job.result(timeout=60).readouts[0][0].counts()  # type: ignore[index]
    assert counts == {"010": 50}


def test_post_without_idempotency_key_is_not_retried(
    faulty: FaultyService, injector: FaultInjector
) -> None:
    injector.plan("POST", "/v1/jobs/cancel", Fault(503, "0"))
    with _client(faulty) as client, pytest.raises(RateLimitedError) as info:
        client.cancel(["no-such-job"])
    assert info.value.status == 503
    assert info.value.retry_after == 0.0
    assert len(injector.requests("POST", "/v1/jobs/cancel")) == 1


def test_retries_stop_at_the_budget(
    faulty: FaultyService, injector: FaultInjector, monkeypatch: pytest.MonkeyPatch
) -> None:
    injector.plan("GET", "/v1/me", *[Fault(429, "0.01") for _ in range(10)])
    monkeypatch.setenv("QRELAY_MAX_RETRIES", "2")
    with _client(faulty) as client, pytest.raises(RateLimitedError) as info:
        client.me()
    assert info.value.status == 429
    assert len(injector.requests("GET", "/v1/me")) == 3


@pytest.fixture
def slammer() -> Iterator[tuple[str, list[int]]]:
    """A TCP server that accepts and closes every connection at once (a dying proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    listener.close()


def test_connection_errors_are_retried_then_reported(
    slammer: tuple[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, accepted = slammer
    monkeypatch.setenv("QRELAY_MAX_RETRIES", "3")
    monkeypatch.setenv("QRELAY_BACKOFF_BASE", "0.01")
    with Client(url, "t") as client, pytest.raises(TransportError, match="/v1/targets"):
        client.targets()
    assert len(accepted) == 4  # the first try and three retries


# ---------------------------------------------------------------------- waiting
def test_long_poll_sees_a_finished_job_in_one_round_trip(
    faulty: FaultyService, injector: FaultInjector
) -> None:
    with _client(faulty) as client:
        job = client.submit(NewJob(target="aer_simulator", circuits=[bell()], shots=100))
        results = job.result(timeout=60)
        polls = injector.requests("GET", f"/v1/jobs/{job.job_id}")
        # However long it ran, the one waiting request returned when it ended.
        assert len(polls) == 1
        assert "wait=" in polls[0].query
        assert "include=readout" in polls[0].query
        assert results.readouts[0] is not None
        assert sum(results.readouts[0][0].counts().values()) == 100
        # A new handle on a finished job: one request gives status and readouts.
        injector.clear()
        again = client.job(job.job_id)
        assert again.result().readouts == results.readouts
        assert len(injector.requests("GET", f"/v1/jobs/{job.job_id}")) == 2  # job() + result()


def test_wait_timeout_raises_and_the_job_goes_on(faulty: FaultyService) -> None:
    with _client(faulty) as client:
        job = client.submit(
            NewJob(target="aer_simulator", circuits=[bell()], shots=10, priority=0, dry_run=False)
        )
        outcome: JobTimeoutError | None = None
        try:
            job.wait(timeout=0)
        except JobTimeoutError as exc:  # unless it already ended: then no timeout
            outcome = exc
        assert outcome is None or outcome.job_id == job.job_id
        assert job.wait(timeout=60).status is CircuitStatus.COMPLETED


def test_progress_callback_sees_each_poll(faulty: FaultyService) -> None:
    seen: list[CircuitStatus] = []
    with _client(faulty) as client:
        job = client.submit(NewJob(target="aer_simulator", circuits=[flip(2)], shots=5))
        job.result(timeout=60, on_update=lambda d: seen.append(d.status), poll=0.5)
    assert seen
    assert seen[-1] is CircuitStatus.COMPLETED


# ---------------------------------------------------------------------- errors
def test_error_answers_map_to_the_exception_tree(
    stack: Any, faulty: FaultyService, user_token: str
) -> None:
    with Client(faulty.url, "not-a-token") as bad, pytest.raises(AuthenticationError):
        bad.targets()
    with _client(faulty) as client:
        with pytest.raises(NotFoundError):
            client.job("0" * 32)
        with pytest.raises(NotFoundError):
            client.target("no_such_target")
        with pytest.raises(ValidationError, match="simulatr"):
            client.targets(simulatr=True)
    with Client(faulty.url, user_token) as user:
        with pytest.raises(InsufficientBalanceError) as info:
            user.submit(NewJob(target="square_qpu", circuits=[flip(2)], shots=1000))
        assert info.value.code == "insufficient_balance"
        with pytest.raises(PermissionDeniedError):
            _admin_only(user)


def _admin_only(client: Client) -> None:
    """Ask an admin-only route through the client's own HTTP channel."""
    from qrelay.runtime._loop import run_sync
    from qrelay.runtime.transport import HttpChannel

    async def ask() -> None:
        channel = await client.async_client._connect()
        assert isinstance(channel, HttpChannel)
        await channel.request("GET", "/v1/users")

    run_sync(ask())


def test_deleting_a_running_job_conflicts(faulty: FaultyService) -> None:
    with _client(faulty) as client:
        job = client.submit(
            NewJob(target="aer_simulator", circuits=[bell()], shots=10, job_type=JobType.SUBMIT)
        )
        data = job.data()
        if data.status not in (CircuitStatus.COMPLETED, CircuitStatus.FAILED):
            with pytest.raises(ConflictError):
                client.delete(job.job_id)
        job.wait(timeout=60)
        client.delete(job.job_id)
        with contextlib.suppress(NotFoundError):  # a deleted job may also be gone
            assert client.job(job.job_id).status() is CircuitStatus.DELETED


# ---------------------------------------------------------------------- async side
async def test_async_client_runs_jobs_concurrently(faulty: FaultyService) -> None:
    async with AsyncClient(faulty.url, faulty.token) as client:
        jobs = await asyncio.gather(
            *(
                client.submit(NewJob(target="aer_simulator", circuits=[flip(n)], shots=20))
                for n in (2, 3, 4)
            )
        )
        results = await asyncio.gather(*(job.result(timeout=60) for job in jobs))
        balance = await client.balance()
    keys = [r.readouts[0][0].counts() for r in results]  # type: ignore[index]
    assert keys == [{"10": 20}, {"010": 20}, {"1010": 20}]
    assert balance >= 0
