"""Every user operation answers the same through the in-process channel and over HTTP.

The embedded default's clients reach the service without HTTP
(:class:`qrelay.service.local.LocalChannel`); every other client goes through the routes
(:class:`qrelay.runtime.transport.HttpChannel`). Both must call the same operations and
so give the same answers and the same errors, field for field. Each case below runs the
same calls through both channels, on one service, as one user, and compares.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from qrelay.errors import QRelayError
from qrelay.payload import GetTargetsFilterModel, JobQuery, NewJob
from qrelay.runtime.retry import RetryPolicy
from qrelay.runtime.transport import HttpChannel, ServiceChannel

from .circuits import flip

#: Fields that name this particular job or moment, not what the operation answered.
_VOLATILE = frozenset(
    {
        "job_id",
        "job_ids",
        "submitted_at",
        "started_at",
        "finished_at",
        "last_updated",
        "updated_at",
        "timestamps",
        "execution_duration_us",
        "execution_duration_microseconds",
        "readouts",
        "counts",
        "cursor",
        "next_cursor",
        "queue_depth",
        "status",
        "statuses",
        "provider_id",
        "submission_timestamp",
        "last_updated_timestamp",
    }
)


def _shape(value: Any) -> Any:
    """``value`` with what differs between two runs of the same call taken out."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items()) if k not in _VOLATILE}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


@pytest.fixture(scope="module")
def user_token(stack: Any) -> str:
    """A fresh user of the embedded service, made by its admin over HTTP."""
    import httpx

    email = f"channels-{uuid.uuid4().hex[:8]}@example.org"
    with httpx.Client(base_url=stack.url, timeout=30.0) as http:
        made = http.post(
            "/v1/users",
            json={"name": "Channels", "email": email, "balance": 100.0},
            headers={"Authorization": f"Bearer {stack.token}"},
        )
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def _channels(stack: Any, token: str) -> dict[str, ServiceChannel]:
    from qrelay.service.local import LocalChannel

    http = HttpChannel(
        stack.url, token, timeout=30.0, connect_timeout=5.0, policy=RetryPolicy(max_retries=0)
    )
    return {"local": LocalChannel(stack.runtime, token, stack.url), "http": http}


def _both(
    stack: Any, token: str, call: Callable[[ServiceChannel], Awaitable[Any]]
) -> dict[str, Any]:
    """``call`` through each channel: its answer, or ``("error", class, code, message)``."""

    async def one(channel: ServiceChannel) -> Any:
        try:
            return await call(channel)
        except QRelayError as exc:
            return ("error", type(exc).__name__, getattr(exc, "code", None), str(exc))
        finally:
            await channel.aclose()

    return {name: asyncio.run(one(ch)) for name, ch in _channels(stack, token).items()}


def _json(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw)


def _same(answers: dict[str, Any]) -> Any:
    local, http = answers["local"], answers["http"]
    assert _shape(local) == _shape(http), f"in process: {local!r}\nover HTTP: {http!r}"
    return local


def _body(**extra: Any) -> bytes:
    job = NewJob(target="aer_simulator", circuits=[flip(2)], shots=32, **extra)
    return job.model_dump_json().encode()


def _key() -> str:
    return uuid.uuid4().hex


def test_submitting_answers_alike(stack: Any, user_token: str) -> None:
    async def dry(ch: ServiceChannel) -> Any:
        return _json(await ch.submit(_body(dry_run=True), _key()))

    answer = _same(_both(stack, user_token, dry))
    assert answer["dry_run"] is True


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("unknown target", b'{"target": "no_such_target", "circuits": [], "shots": 1}'),
        ("not json", b"{"),
        ("unknown field", b'{"target": "aer_simulator", "circuits": [], "surprise": 1}'),
        ("too many shots", _body().replace(b'"shots":32', b'"shots":100000000')),
    ],
)
def test_refusals_are_the_same_errors(stack: Any, user_token: str, what: str, body: bytes) -> None:
    async def submit(ch: ServiceChannel) -> Any:
        return _json(await ch.submit(body, _key()))

    answer = _same(_both(stack, user_token, submit))
    assert answer[0] == "error", what


def test_a_reused_key_with_another_body_is_refused_alike(stack: Any, user_token: str) -> None:
    async def reuse(ch: ServiceChannel) -> Any:
        key = _key()
        await ch.submit(_body(), key)
        return _json(await ch.submit(_body(tags=["other"]), key))

    answer = _same(_both(stack, user_token, reuse))
    assert answer[0] == "error"


def test_a_job_reads_alike_from_submission_to_deletion(stack: Any, user_token: str) -> None:
    async def lifecycle(ch: ServiceChannel) -> Any:
        sent = _json(await ch.submit(_body(tags=["channels"]), _key()))
        job_id = sent["job_id"]
        done = _json(await ch.job(job_id, wait=30.0, include_readout=True))
        while done["status"] not in ("completed", "failed", "cancelled"):
            done = _json(await ch.job(job_id, wait=30.0, include_readout=True))
        results = _json(await ch.results(job_id))
        cancelled = _json(await ch.cancel([job_id, "no-such-job"]))
        listed = _json(await ch.jobs(JobQuery(tag="channels", limit=1)))
        await ch.delete(job_id)
        gone = _json(await ch.job(job_id, wait=None, include_readout=False))
        answer = {
            "final": done,
            "shots": sum(done["counts"][0].values()),
            "results": results,
            "cancelled": cancelled,
            "listed": listed,
            "gone": gone["statuses"],
        }
        text = json.dumps(answer).replace(job_id, "<id>")
        if done["trace_id"] is not None:  # a traced process: one trace per job, like its id
            text = text.replace(done["trace_id"], "<trace>")
        return json.loads(text)

    answer = _same(_both(stack, user_token, lifecycle))
    assert answer["final"]["status"] == "completed"
    assert answer["shots"] == 32
    assert answer["gone"] == ["deleted"]
    assert answer["cancelled"]["already_terminal"] == ["<id>"]


def test_another_users_job_is_not_found_alike(stack: Any, user_token: str) -> None:
    theirs = asyncio.run(_channels(stack, stack.token)["local"].submit(_body(), _key()))
    their_id = json.loads(theirs)["job_id"]

    async def peek(ch: ServiceChannel) -> Any:
        return _json(await ch.job(their_id, wait=None, include_readout=False))

    async def cancel(ch: ServiceChannel) -> Any:
        return _json(await ch.cancel([their_id]))

    seen = _same(_both(stack, user_token, peek))
    assert seen[:2] == ("error", "NotFoundError")
    refused = _same(_both(stack, user_token, cancel))
    assert refused is not None


def test_targets_account_and_balance_read_alike(stack: Any, user_token: str) -> None:
    async def reads(ch: ServiceChannel) -> Any:
        try:
            missing: Any = _json(await ch.target("no_such_target"))
        except QRelayError as exc:
            missing = (type(exc).__name__, str(exc))
        return {
            "targets": _json(await ch.targets(GetTargetsFilterModel())),
            "simulators": _json(await ch.targets(GetTargetsFilterModel(simulator=True))),
            "target": _json(await ch.target("aer_simulator")),
            "missing": missing,
            "me": _json(await ch.me()),
            "balance": _json(await ch.balance()),
        }

    answer = _same(_both(stack, user_token, reads))
    assert answer["missing"][0] == "NotFoundError"
    assert answer["me"]["email"].startswith("channels-")


def _outcomes(answer: tuple[list[Any], list[Any]]) -> list[tuple[bool, int | None, str | None]]:
    outcomes, tasks = answer
    assert tasks == []
    return [(o.accepted, o.status, o.code) for o in outcomes]


def test_worker_operations_answer_alike(stack: Any) -> None:
    """A worker's calls that touch no queued task, through both of its channels."""
    import httpx

    from qrelay.payload import TaskResults, WorkerTaskResults, WorkerTaskStatus
    from qrelay.service.local import LocalWorkerApi
    from qrelay.worker.api import WorkerApi

    with httpx.Client(base_url=stack.url, timeout=30.0) as http:
        made = http.post(
            "/v1/workers",
            json={"name": "channels", "targets": ["aer_simulator"]},
            headers={"Authorization": f"Bearer {stack.token}"},
        )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    stale = TaskResults(
        task_id="no-such-task", lease_id="no-such-lease", status="failed", status_message="x"
    )
    apis = {
        "local": LocalWorkerApi(stack.runtime, token, stack.url),
        "http": WorkerApi(stack.url, token, retry=RetryPolicy(max_retries=0)),
    }
    calls: dict[str, Callable[[Any], Any]] = {
        "target": lambda api: api.target("aer_simulator").model_dump(mode="json"),
        "unknown target": lambda api: api.target("no_such_target"),
        "lease elsewhere": lambda api: api.lease(["cirq_simulator"], 0.0),
        "heartbeat": lambda api: api.heartbeat("no-such-task", "no-such-lease"),
        "status": lambda api: api.status(
            "no-such-task", WorkerTaskStatus(lease_id="no-such-lease", status="running")
        ),
        "result": lambda api: api.result(
            "no-such-task",
            WorkerTaskResults(lease_id="no-such-lease", status="failed", status_message="x"),
        ),
        "lease many elsewhere": lambda api: api.lease_many(["cirq_simulator"], 0.0, 4),
        "lease many unserved": lambda api: api.lease_many(["no_such_target"], 0.0, 4),
        "results": lambda api: _outcomes(api.results([stale, stale])),
        "results then lease unserved": lambda api: api.results([stale], lease=["nope"]),
    }
    try:
        for what, call in calls.items():
            answers = {}
            for name, api in apis.items():
                try:
                    answers[name] = call(api)
                except QRelayError as exc:
                    answers[name] = ("error", type(exc).__name__, getattr(exc, "code", None))
            assert _shape(answers["local"]) == _shape(answers["http"]), what
            if what == "results":  # refused per result, not as a whole
                assert answers["local"] == [(False, 404, "not_found")] * 2
            elif what != "target":
                assert answers["local"][0] == "error", what
    finally:
        for api in apis.values():
            api.close()
