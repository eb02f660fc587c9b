"""The synchronous client: the async client's methods, run on a private event loop.

Every method here is a call into :class:`~qrelay.runtime.async_client.AsyncClient`
or :class:`~qrelay.runtime.async_client.AsyncJob` through
:func:`~qrelay.runtime._loop.run_sync`, so there is one implementation of the I/O: on the
runtime loop, or on the calling thread when the client talks to the embedded default in
this process. Only a wait for a job the handle has already seen end is answered here,
from that view. A test (``tests/runtime/test_drift.py``) checks both sides keep the same
public methods and signatures.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from qrelay.payload import (
    JobCancellationResults,
    JobData,
    JobPage,
    JobQuery,
    JobResults,
    JobStatus,
    NewJob,
    NewJobResponse,
    TargetInfo,
    TargetModel,
    UserInfo,
)
from qrelay.payload.calibration import Calibration, CalibrationPage, CalibrationQuery
from qrelay.runtime._loop import run_sync
from qrelay.runtime.async_client import AsyncClient, AsyncJob, UpdateCallback, results_of
from qrelay.settings import ClientSettings

_T = TypeVar("_T")


class Job:
    """One submitted job (the synchronous twin of :class:`AsyncJob`)."""

    def __init__(self, client: Client, inner: AsyncJob) -> None:
        self._client = client
        self._inner = inner

    @property
    def job_id(self) -> str:
        return self._inner.job_id

    @property
    def client(self) -> Client:
        return self._client

    @property
    def last_data(self) -> JobData | None:
        """The last view of the job fetched by this handle, without a request."""
        return self._inner.last_data

    @property
    def submission(self) -> NewJobResponse | None:
        """The service's answer to the submission, when this handle came from ``submit``."""
        return self._inner.submission

    def __repr__(self) -> str:
        return f"<Job {self.job_id}>"

    @property
    def ended(self) -> JobData | None:
        """The last view of the job if it showed the job ended, with its readouts."""
        return self._inner.ended

    def data(self) -> JobData:
        """The job as the service knows it now (one request, no readouts)."""
        return self._client._run(self._inner.data())

    def status(self) -> JobStatus:
        """The job's overall status now."""
        return self._client._run(self._inner.status())

    def wait(
        self,
        timeout: float | None = None,
        *,
        on_update: UpdateCallback | None = None,
        poll: float | None = None,
    ) -> JobData:
        """Wait until every circuit is terminal; see :meth:`AsyncJob.wait`."""
        ended = self.ended  # nothing to wait for: no trip to the runtime loop
        if ended is not None:
            return ended
        return self._client._run(self._inner.wait(timeout, on_update=on_update, poll=poll))

    def result(
        self,
        timeout: float | None = None,
        *,
        on_update: UpdateCallback | None = None,
        poll: float | None = None,
    ) -> JobResults:
        """Wait for the job and return its readouts; see :meth:`AsyncJob.result`."""
        ended = self.ended
        if ended is not None:
            found = results_of(ended)
            if found is not None:
                return found
        return self._client._run(self._inner.result(timeout, on_update=on_update, poll=poll))

    def cancel(self) -> JobCancellationResults:
        """Ask the service to cancel the job."""
        return self._client._run(self._inner.cancel())


class Client:
    """The qrelay client (synchronous). See :class:`AsyncClient` for the settings rules.

    ::

        with qrelay.Client() as client:          # no URL: the embedded default
            job = client.submit(NewJob(target="aer_simulator", circuits=[circuit]))
            results = job.result()
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        profile: str | None = None,
        timeout: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._async = AsyncClient(url, token, profile=profile, timeout=timeout, transport=transport)

    @property
    def settings(self) -> ClientSettings:
        return self._async.settings

    @property
    def url(self) -> str | None:
        """The service URL, or ``None`` while the embedded default is not started yet."""
        return self._async.url

    @property
    def embedded(self) -> bool:
        """Whether this client talks to the embedded default."""
        return self._async.embedded

    @property
    def in_process(self) -> bool:
        """Whether this client is connected to a service in this process."""
        return self._async.in_process

    @property
    def async_client(self) -> AsyncClient:
        """The async client underneath (its coroutines run on the runtime loop)."""
        return self._async

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine of the async client: on the calling thread when it talks to the
        embedded default in this process (no connection lives on the runtime loop then),
        else on the runtime loop."""
        return run_sync(coro, here=self._async.in_process)

    def _wrap(self, inner: AsyncJob) -> Job:
        return Job(self, inner)

    def targets(self, **filters: Any) -> list[TargetModel]:
        """The targets, filtered by the fields of ``GetTargetsFilterModel``."""
        return self._run(self._async.targets(**filters))

    def target(self, name: str) -> TargetInfo:
        """One target in full: calibration, limits, live status and queue depth."""
        return self._run(self._async.target(name))

    def calibrations(self, name: str, query: CalibrationQuery | None = None) -> CalibrationPage:
        """A page of target ``name``'s calibration history, oldest first."""
        return self._run(self._async.calibrations(name, query))

    def calibration(self, name: str, calibration_id: str) -> Calibration:
        """One calibration snapshot of target ``name`` (``NotFoundError`` if it has none)."""
        return self._run(self._async.calibration(name, calibration_id))

    def submit(self, job: NewJob, *, idempotency_key: str | None = None) -> Job:
        """Submit a job and return its handle (retries reuse one idempotency key)."""
        return self._wrap(self._run(self._async.submit(job, idempotency_key=idempotency_key)))

    def job(self, job_id: str) -> Job:
        """The handle of an existing job (raises ``NotFoundError`` if there is none)."""
        return self._wrap(self._run(self._async.job(job_id)))

    def jobs(self, query: JobQuery | None = None, **filters: Any) -> list[Job]:
        """One page of the caller's jobs, newest first, filtered by ``JobQuery`` fields."""
        return [self._wrap(inner) for inner in self._run(self._async.jobs(query, **filters))]

    def job_page(self, query: JobQuery | None = None, **filters: Any) -> JobPage:
        """One page of the job listing as the service sends it, with ``next_cursor``."""
        return self._run(self._async.job_page(query, **filters))

    def cancel(self, job_ids: str | Sequence[str]) -> JobCancellationResults:
        """Cancel jobs by id; the answer says which were cancelled, ended or unknown."""
        return self._run(self._async.cancel(job_ids))

    def delete(self, job_id: str) -> None:
        """Delete a terminal job (``ConflictError`` if it has not ended)."""
        self._run(self._async.delete(job_id))

    def me(self) -> UserInfo:
        """The user this client's token belongs to."""
        return self._run(self._async.me())

    def balance(self) -> float:
        """The caller's balance, in the unit of the targets' ``price_per_shot``."""
        return self._run(self._async.balance())

    def close(self) -> None:
        """Close the connections. The embedded default (if any) keeps running."""
        self._run(self._async.close())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
