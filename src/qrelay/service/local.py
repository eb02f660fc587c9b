"""The service in this process, without HTTP: what the embedded default's clients and
workers use.

In the embedded default the client, the service and the workers share one process. Going
through HTTP there (even an ASGI transport with no socket) costs routing, middleware and
thread hand-offs on every request, several times over per job: more than the simulation
of a small circuit. So the embedded client gets a
:class:`LocalChannel` and each embedded worker a :class:`LocalWorkerApi`; both call
:mod:`qrelay.service.operations` and the store, as the routes do.

Nothing is trusted more for being local: the token is looked up (and cached) as a bearer
token is, bodies are validated from their JSON bytes as the routes validate them, and an
error becomes the same problem document as over HTTP and then the same exception of
:mod:`qrelay.errors` (see :func:`as_client_errors`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pydantic_core
from pydantic import TypeAdapter

from qrelay.errors import ServiceError
from qrelay.payload import (
    BalanceResponse,
    GetTargetsFilterModel,
    HeartbeatResponse,
    JobQuery,
    NewJob,
    TargetInfo,
    TargetModel,
    TaskResultOutcome,
    TaskResults,
    WorkerResultsBatch,
    WorkerTask,
    WorkerTaskResults,
    WorkerTaskStatus,
    validate_json,
)
from qrelay.payload.calibration import CalibrationQuery
from qrelay.payload.parsing import validate_parsed
from qrelay.runtime._loop import on_runtime_loop
from qrelay.runtime.problems import error_from_response
from qrelay.service import operations
from qrelay.service.api.deps import cached_principal, lookup_principal
from qrelay.service.auth import UserPrincipal, WorkerPrincipal
from qrelay.service.db.repo import Submitted, splice_json
from qrelay.service.problems import ApiError, as_problem

if TYPE_CHECKING:
    from qrelay.service.app import ServiceRuntime

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_TARGET_LIST: TypeAdapter[list[TargetModel]] = TypeAdapter(list[TargetModel])


def client_error(exc: Exception) -> ServiceError:
    """The exception a client over HTTP would get for ``exc`` raised while serving it."""
    answer = as_problem(exc)
    return error_from_response(answer.status_code, answer.headers, bytes(answer.body))


@contextlib.contextmanager
def as_client_errors() -> Iterator[None]:
    """Raise errors of the service as the client's exceptions (see :func:`client_error`).

    (It was called ``translated``, a word :mod:`qrelay.qpu.translation` uses for turning
    circuits into executables; the old name still works, with a warning.)
    """
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:
        raise client_error(exc) from exc


def _principal(rt: ServiceRuntime, token: str) -> UserPrincipal | WorkerPrincipal:
    return cached_principal(rt, token) or lookup_principal(rt, token)


def leased_tasks(sent: Submitted) -> list[WorkerTask]:
    """The tasks leased as ``sent``'s job was stored, as their worker reads them.

    Each is read from its ``WorkerTask`` JSON, but with the circuit and bindings of the
    job that the submission validated (``sent.job``): the task's own copies are those
    very values, serialized into its row in the same transaction and read back, so
    checking them again would only repeat the submission's check (for a job of 100
    circuits, as long as the store took to queue and lease them). The task's other
    fields are validated as usual.
    """
    job, first = sent.job, sent.task
    assert job is not None, "a task was leased, so its job came with it"
    assert first is not None
    out = []
    for raw in (first, *sent.more_tasks):
        fields = pydantic_core.from_json(raw)
        index = fields["circuit_index"]
        fields["circuit"] = job.circuits[index]
        fields["bindings"] = job.bindings[index] if job.bindings is not None else None
        out.append(validate_parsed(WorkerTask, fields))
    return out


class BriefRunner(Protocol):
    """Runs a brief job at once on the submitting thread (the embedded default's workers)."""

    def claims(self, job: NewJob) -> WorkerPrincipal | None:
        """The worker that will run this job here (it is brief and its worker is here);
        its task is leased to that worker as the job is stored. None: queue it."""
        ...

    def run(self, tasks: list[WorkerTask]) -> None:
        """Run the leased tasks (one job's) to their results, as their worker would."""
        ...


class LocalChannel:
    """A user's channel into the service of this process (``ServiceChannel``).

    With a ``runner``, a job submitted from a loop of the synchronous client that the
    runner claims is run there and then: it is stored and its tasks leased to the
    claiming worker in one transaction (if no queued job of the target comes first), run
    one after the other and their results posted, all before :meth:`submit` returns, and
    the answer carries the job (``NewJobResponse.job``) as the client's wait would read
    it. Handing a small job such as a Bell pair to a worker thread and back would add
    thread switches of the order of its whole run (figures: "Design measurements" in
    ``docs/performance.md``). A job the runner does not claim is queued
    for the workers as usual.
    """

    in_process = True

    def __init__(
        self,
        rt: ServiceRuntime,
        token: str,
        base_url: str,
        runner: BriefRunner | None = None,
    ) -> None:
        self._rt = rt
        self._token = token
        self.base_url = base_url
        self._runner = runner

    async def _offload(self, fn: Callable[..., _T], /, *args: Any) -> _T:
        """Run a blocking store call: right here on the runtime loop, elsewhere in the
        service's store threads.

        The runtime loop (where the synchronous client's coroutines run) has nothing to
        do that a short store call would hold up much, and the two thread hand-offs of a
        call cost about as much as the call itself. On any other loop (an
        ``AsyncClient`` on the application's own loop) the call goes to a thread.
        """
        if on_runtime_loop():
            return fn(*args)
        return await self._rt.store_threads.call(fn, *args)

    async def _user(self) -> UserPrincipal:
        found = cached_principal(self._rt, self._token)
        if found is None:
            found = await self._offload(lookup_principal, self._rt, self._token)
        if not isinstance(found, UserPrincipal):
            raise ApiError(403, "forbidden", "a worker token cannot use user endpoints")
        return found

    async def submit(self, body: bytes, idempotency_key: str) -> bytes:
        runner = self._runner if on_runtime_loop() else None
        with as_client_errors():
            user = await self._user()
            sent = await operations.submit_job(
                self._rt,
                user,
                body,
                idempotency_key,
                offload=self._offload,
                claim=None if runner is None else runner.claims,
            )
        if runner is None or sent.task is None:
            return sent.response.encode()
        tasks = leased_tasks(sent)
        job_id = tasks[0].job_id
        try:
            # The result that ends the job sends it along (see ``Store.post_result``).
            with self._rt.notifier.subscribe([f"job:{job_id}"]) as ended:
                runner.run(tasks)
        except Exception:  # the leases left run out and a worker runs those tasks again
            log.exception("job %s: running it here failed; a worker retries it", job_id)
            return sent.response.encode()
        finished = ended.value
        if finished is None:  # not ended (cancelled meanwhile?): what the client would read
            with as_client_errors():
                finished, _ = self._rt.store.get_job(user, job_id, include_readout=True)
        if finished is None:  # pragma: no cover - only a terminal-only read answers None
            return sent.response.encode()
        return splice_json(sent.response, {"job": finished.decode()})

    async def job(self, job_id: str, *, wait: float | None, include_readout: bool) -> bytes:
        with as_client_errors():
            user = await self._user()
            return await operations.wait_for_job(
                self._rt,
                user,
                job_id,
                wait=wait or 0.0,
                include_readout=include_readout,
                offload=self._offload,
            )

    async def results(self, job_id: str) -> bytes:
        with as_client_errors():
            user = await self._user()
            return await self._offload(self._rt.store.job_results, user, job_id)

    async def jobs(self, query: JobQuery) -> bytes:
        with as_client_errors():
            user = await self._user()
            return await self._offload(self._rt.store.list_jobs, user, query)

    async def cancel(self, job_ids: Sequence[str]) -> bytes:
        with as_client_errors():
            user = await self._user()
            answer = await self._offload(self._rt.store.cancel, user, list(job_ids))
            return answer.model_dump_json().encode()

    async def delete(self, job_id: str) -> None:
        with as_client_errors():
            user = await self._user()
            await self._offload(self._rt.store.delete, user, job_id)

    async def targets(self, filters: GetTargetsFilterModel) -> bytes:
        with as_client_errors():
            await self._user()
            found = await self._offload(operations.list_targets, self._rt, filters)
            return _TARGET_LIST.dump_json(found)

    async def target(self, name: str) -> bytes:
        with as_client_errors():
            await self._user()
            info = await self._offload(operations.get_target, self._rt, name)
            return info.model_dump_json().encode()

    async def calibrations(self, name: str, query: CalibrationQuery) -> bytes:
        with as_client_errors():
            await self._user()
            page = await self._offload(operations.calibration_history, self._rt, name, query)
            return page.model_dump_json().encode()

    async def calibration(self, name: str, calibration_id: str) -> bytes:
        with as_client_errors():
            await self._user()
            found = await self._offload(self._rt.store.get_calibration, name, calibration_id)
            return found.model_dump_json().encode()

    async def me(self) -> bytes:
        with as_client_errors():
            user = await self._user()
            info = await self._offload(self._rt.store.get_user, user.user_id)
            return info.model_dump_json().encode()

    async def balance(self) -> bytes:
        with as_client_errors():
            user = await self._user()
            value = await self._offload(self._rt.store.balance, user.user_id)
            return BalanceResponse(balance=value).model_dump_json().encode()

    async def aclose(self) -> None:
        """Nothing to close: the service belongs to the embedded default."""


class LocalWorkerApi:
    """A worker's side of the service of this process (the interface of ``WorkerApi``).

    Calls run in the worker's own thread; a lease waits on the notifier with a
    ``threading.Event``, and :meth:`close` ends a wait in progress at once.
    """

    def __init__(self, rt: ServiceRuntime, token: str, url: str) -> None:
        self._rt = rt
        self._token = token
        self.url = url
        self._closed = threading.Event()
        self._leasing: frozenset[str] = frozenset()

    def principal(self) -> WorkerPrincipal:
        """The worker this API acts as."""
        return self._worker()

    def _worker(self) -> WorkerPrincipal:
        found = _principal(self._rt, self._token)
        if not isinstance(found, WorkerPrincipal):
            raise ApiError(403, "forbidden", "only worker tokens may use worker endpoints")
        return found

    def close(self) -> None:
        """End a lease wait in progress (with no task) and refuse to wait again."""
        self._closed.set()
        self._rt.notifier.notify(*(f"target:{t}" for t in self._leasing))

    def lease(self, targets: list[str], wait: float) -> WorkerTask | None:
        found = self.lease_many(targets, wait, 1)
        return found[0] if found else None

    def lease_many(self, targets: list[str], wait: float, limit: int) -> list[WorkerTask]:
        self._leasing = frozenset(targets)
        with as_client_errors():
            raw = operations.lease_blocking(
                self._rt, self._worker(), targets, wait, stop=self._closed, limit=limit
            )
        return [validate_json(WorkerTask, task) for task in raw]

    def heartbeat(self, task_id: str, lease_id: str) -> HeartbeatResponse:
        with as_client_errors():
            expires, cancel = self._rt.store.heartbeat(self._worker(), task_id, lease_id)
        return HeartbeatResponse(lease_expires_at=expires, cancel_requested=cancel)

    def status(self, task_id: str, status: WorkerTaskStatus) -> None:
        with as_client_errors():
            self._rt.store.report_status(self._worker(), task_id, status)

    def result(
        self,
        task_id: str,
        results: WorkerTaskResults,
        *,
        lease: list[str] | None = None,
        wait: float = 0.0,
    ) -> WorkerTask | None:
        with as_client_errors():
            self._rt.store.post_result(self._worker(), task_id, results)
        return self.lease(lease, wait) if lease else None

    def results(
        self,
        batch: Sequence[TaskResults],
        *,
        lease: list[str] | None = None,
        wait: float = 0.0,
        limit: int = 1,
    ) -> tuple[list[TaskResultOutcome], list[WorkerTask]]:
        with as_client_errors():
            checked = WorkerResultsBatch(results=list(batch))
            worker = self._worker()
            if lease:  # refused before anything is stored
                operations.check_targets(worker, lease)
            outcomes = operations.post_results(self._rt, worker, checked)
        return outcomes, self.lease_many(lease, wait, limit) if lease else []

    def target(self, name: str) -> TargetInfo:
        with as_client_errors():
            return operations.worker_target(self._rt, self._worker(), name)

    def report_calibration(self, name: str, info: TargetInfo) -> None:
        with as_client_errors():
            operations.report_calibration(self._rt, self._worker(), name, info)


def __getattr__(name: str) -> Any:
    """``translated``, the old name of :func:`as_client_errors`, with a deprecation warning."""
    if name == "translated":
        warnings.warn(
            "qrelay.service.local.translated is deprecated; use as_client_errors",
            DeprecationWarning,
            stacklevel=2,
        )
        return as_client_errors
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
