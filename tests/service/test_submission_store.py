"""A submission stores a job's tasks and their first transitions in a few statements, and
the tasks it leases as it stores them read as their JSON reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from qrelay.payload import NewJob, Role, WorkerTask, validate_json
from qrelay.service.api.deps import lookup_principal
from qrelay.service.app import ServiceRuntime, create_app
from qrelay.service.auth import WORKER_PREFIX, UserPrincipal, WorkerPrincipal, new_token
from qrelay.service.db.submission import request_digest
from qrelay.service.local import leased_tasks
from qrelay.settings import ServiceSettings

from .support import bell


@pytest.fixture(scope="module")
def runtime(db_url: str) -> Iterator[ServiceRuntime]:
    app = create_app(ServiceSettings(database_url=db_url, admin_token="adm_" + uuid.uuid4().hex))
    rt: ServiceRuntime = app.state.runtime
    rt.start_sync()
    yield rt
    rt.store.engine.dispose()


def _principals(rt: ServiceRuntime) -> tuple[UserPrincipal, WorkerPrincipal]:
    user_token, worker_token = "usr_" + uuid.uuid4().hex, new_token(WORKER_PREFIX)
    rt.store.create_user(
        name="u",
        email=f"{uuid.uuid4().hex}@example.org",
        role=Role.USER,
        balance=100.0,
        token=user_token,
        actor=None,
    )
    rt.store.create_worker("w-" + uuid.uuid4().hex[:8], ["aer_simulator"], worker_token, None)
    user, worker = lookup_principal(rt, user_token), lookup_principal(rt, worker_token)
    assert isinstance(user, UserPrincipal)
    assert isinstance(worker, WorkerPrincipal)
    return user, worker


def _body() -> bytes:
    """Three circuits: two plain, one with a symbol and its table in between."""
    swept = bell() | {"parameters": ["t"]}
    swept["instructions"] = [{"op": "rx", "qubits": [0], "params": ["t"]}, *swept["instructions"]]
    job: dict[str, Any] = {
        "target": "aer_simulator",
        "circuits": [bell(), swept, bell()],
        "bindings": [None, {"names": ["t"], "values": [[0.0], [1.5]]}, None],
        "shots": 10,
    }
    return json.dumps(job).encode()


def _submit(rt: ServiceRuntime, user: UserPrincipal, worker: WorkerPrincipal | None) -> Any:
    body = _body()
    return rt.store.submit(
        user,
        validate_json(NewJob, body),
        idempotency_key=uuid.uuid4().hex,
        request_hash=request_digest(body),
        lease_by=worker,
    )


def test_each_task_is_queued_with_one_transition_in_circuit_order(runtime: ServiceRuntime) -> None:
    user, _worker = _principals(runtime)
    sent = _submit(runtime, user, None)
    assert sent.created
    assert sent.task is None
    assert sent.job is None  # nothing leased: nothing for an in-process runner
    steps = runtime.store.job_timeline(user, sent.job_id).transitions
    assert [(s.circuit_index, s.from_status, s.to_status) for s in steps] == [
        (i, "received", "awaiting_submission") for i in range(3)
    ]
    assert len({s.at for s in steps}) == 1
    assert all(s.message is None for s in steps)
    data = json.loads(runtime.store.get_job(user, sent.job_id, include_readout=False)[0])
    assert data["num_circuits"] == 3
    assert data["statuses"] == ["awaiting_submission"] * 3


def test_the_tasks_leased_at_submission_read_as_their_json(runtime: ServiceRuntime) -> None:
    user, worker = _principals(runtime)
    runtime.store.lease_many(worker, ["aer_simulator"], 16)  # an empty queue to head
    sent = _submit(runtime, user, worker)
    raws = [sent.task, *sent.more_tasks]
    assert len(raws) == 3
    assert sent.job is not None
    from_json = [validate_json(WorkerTask, raw) for raw in raws]
    from_job = leased_tasks(sent)
    assert from_job == from_json
    assert [t.circuit_index for t in from_job] == [0, 1, 2]
    assert from_job[1].bindings is not None
    assert from_job[1].bindings.names == ["t"]
    assert from_job[0].bindings is None
    # The circuits are the very ones the submission checked.
    assert all(t.circuit is c for t, c in zip(from_job, sent.job.circuits, strict=True))
    steps = runtime.store.job_timeline(user, sent.job_id).transitions
    assert [s.to_status for s in steps if s.circuit_index == 1] == [
        "awaiting_submission",
        "pending",
    ]
