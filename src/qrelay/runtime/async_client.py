"""The asynchronous client: the one place where the runtime talks to the service.

:class:`AsyncClient` submits, lists, cancels and retrieves jobs over HTTP (``httpx``);
:class:`AsyncJob` waits for one job by long-polling ``GET /v1/jobs/{id}?wait=`` with
``include=readout``, so a job that finishes is seen -- with its results -- within one round
trip, and there is no fixed sleep anywhere. The synchronous :class:`qrelay.Client` runs
these same coroutines; a test keeps the two surfaces identical.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
from pydantic import TypeAdapter

from qrelay import registry
from qrelay.errors import (
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    ValidationError,
)
from qrelay.payload import (
    BalanceResponse,
    CircuitStatus,
    GetTargetsFilterModel,
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
    is_settled,
)
from qrelay.payload._base import WireModel
from qrelay.payload.calibration import Calibration, CalibrationPage, CalibrationQuery
from qrelay.payload.parsing import parse
from qrelay.runtime.retry import RetryPolicy
from qrelay.runtime.timing import format_seconds
from qrelay.runtime.transport import (
    EmbeddedDefault,
    HttpChannel,
    ServiceChannel,
    check_service_url,
)
from qrelay.settings import ClientSettings

logger = logging.getLogger("qrelay.runtime")

#: The longest single long-poll the service grants (``wait`` is capped there too).
MAX_POLL_SECONDS: Final = 60.0
#: After this long, a wait logs its progress (and again every ``_LOG_EVERY`` seconds).
_LOG_AFTER: Final = 10.0
_LOG_EVERY: Final = 30.0

#: Called with each fresh view of a job while :meth:`AsyncJob.wait` waits.
UpdateCallback = Callable[[JobData], None]


def new_idempotency_key() -> str:
    """A fresh idempotency key: one per submission, reused by each of its retries."""
    return uuid.uuid4().hex


def is_terminal(data: JobData) -> bool:
    """Whether every circuit of the job has reached a state it will not leave.

    A state this client does not recognise counts as settled (and fails the job in
    :func:`raise_for_outcome`), so no loop waits on it forever.
    """
    return all(is_settled(status) for status in data.statuses)


_M = TypeVar("_M", bound=WireModel)
_TARGETS: Final = TypeAdapter(list[TargetModel])


def _validated(model: type[_M], what: str, **values: Any) -> _M:
    """``model(**values)``, or a :class:`~qrelay.errors.ValidationError` naming ``what``, each
    field at fault and its allowed values, in one line."""
    try:
        return parse(model, values)
    except ValidationError as exc:
        raise ValidationError(f"{what}: {exc}", location=exc.location) from exc


class AsyncJob:
    """One submitted job: its status, waiting for it, its results, cancelling it.

    A handle is cheap: it holds the job id and the last view of the job it fetched.
    """

    def __init__(
        self,
        client: AsyncClient,
        job_id: str,
        *,
        data: JobData | None = None,
        submission: NewJobResponse | None = None,
    ) -> None:
        self._client = client
        self._job_id = job_id
        self._data = data
        #: The service's answer to the submission, when this handle came from ``submit``.
        self.submission = submission

    @property
    def job_id(self) -> str:
        return self._job_id

    @property
    def client(self) -> AsyncClient:
        return self._client

    @property
    def last_data(self) -> JobData | None:
        """The last view of the job fetched by this handle, without a request."""
        return self._data

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._job_id}>"

    @property
    def ended(self) -> JobData | None:
        """The last view of the job if it showed the job ended, with its readouts: what
        :meth:`wait` answers then, without a request."""
        cached = self._data
        if cached is not None and is_terminal(cached) and cached.readouts is not None:
            return cached
        return None

    async def data(self) -> JobData:
        """The job as the service knows it now (one request, no readouts)."""
        self._data = await self._client._get_job(self._job_id)
        return self._data

    async def status(self) -> JobStatus:
        """The job's overall status now."""
        return (await self.data()).status

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_update: UpdateCallback | None = None,
        poll: float | None = None,
    ) -> JobData:
        """Wait until every circuit is terminal; return the job with its readouts.

        Long-polls the service, each poll at most a minute, so a finished job is seen
        within one round trip. ``timeout`` bounds the whole wait (``None``: no bound) and
        raises :class:`~qrelay.errors.JobTimeoutError` when it runs out; the job itself
        goes on. ``on_update`` is called with each view of the job (for progress lines);
        ``poll`` shortens each long-poll (default: a minute) so it is called more often.
        """
        cached = self.ended
        if cached is not None:
            return cached
        started = time.monotonic()
        deadline = None if timeout is None else started + max(0.0, timeout)
        next_log = started + _LOG_AFTER
        while True:
            now = time.monotonic()
            longest = MAX_POLL_SECONDS if poll is None else max(0.0, min(poll, MAX_POLL_SECONDS))
            remaining = longest if deadline is None else deadline - now
            data = await self._client._get_job(
                self._job_id, wait=max(0.0, min(longest, remaining)), include_readout=True
            )
            self._data = data
            if on_update is not None:
                on_update(data)
            if is_terminal(data):
                return data
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise JobTimeoutError(
                    f"job {self._job_id} is still {data.status.value} after "
                    f"{format_seconds(timeout)} "
                    "(the job goes on; wait again or cancel it)",
                    job_id=self._job_id,
                )
            if now >= next_log:
                logger.info(
                    "job %s still %s after %.0f s (queue position %s)",
                    self._job_id,
                    data.status.value,
                    now - started,
                    data.queue_position if data.queue_position is not None else "-",
                )
                next_log = now + _LOG_EVERY

    async def result(
        self,
        timeout: float | None = None,
        *,
        on_update: UpdateCallback | None = None,
        poll: float | None = None,
    ) -> JobResults:
        """Wait for the job and return its readouts (per circuit, per binding row).

        Raises :class:`~qrelay.errors.JobFailedError` if a circuit failed,
        :class:`~qrelay.errors.JobCancelledError` if one was cancelled or deleted, and
        :class:`~qrelay.errors.JobTimeoutError` if ``timeout`` ran out first.
        """
        data = await self.wait(timeout, on_update=on_update, poll=poll)
        found = results_of(data)
        if found is not None:
            return found
        return await self._client._get_results(self._job_id)

    async def cancel(self) -> JobCancellationResults:
        """Ask the service to cancel the job (a running circuit stops at its next step)."""
        return await self._client.cancel([self._job_id])


def results_of(data: JobData) -> JobResults | None:
    """A terminal job's results from its view, if the view holds them (``None``: fetch
    them); raises as :func:`raise_for_outcome` does."""
    raise_for_outcome(data)
    if data.readouts is None or data.layouts is None:
        return None
    return JobResults(
        job_id=data.job_id, statuses=data.statuses, circuits=data.layouts, readouts=data.readouts
    )


def raise_for_outcome(data: JobData) -> None:
    """Raise the :class:`~qrelay.errors.JobError` a terminal job's statuses call for."""
    failed = [
        i
        for i, s in enumerate(data.statuses)
        if s in (CircuitStatus.FAILED, CircuitStatus.UNRECOGNIZED)
    ]
    if failed:
        reasons = "; ".join(
            f"circuit {i}: {data.status_messages[i] if i < len(data.status_messages) else None}"
            for i in failed
        )
        raise JobFailedError(f"job {data.job_id} failed ({reasons})", job_id=data.job_id)
    gone = [
        i
        for i, s in enumerate(data.statuses)
        if s in (CircuitStatus.CANCELLED, CircuitStatus.DELETED)
    ]
    if gone:
        raise JobCancelledError(
            f"job {data.job_id} was cancelled (circuit(s) {gone})", job_id=data.job_id
        )


class AsyncClient:
    """The asynchronous qrelay client (the source of truth for I/O).

    Settings come from the arguments, then ``QRELAY_URL`` / ``QRELAY_TOKEN`` /
    ``QRELAY_PROFILE``, then the config file. With no URL anywhere the client starts the
    embedded default (the whole stack in this process) on first use, and reaches it
    without HTTP (see :mod:`qrelay.service.local`). ``transport`` is an ``httpx`` transport
    to send requests through (for example an in-process ASGI app).
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
        self.settings = ClientSettings.load(profile=profile, url=url, token=token, timeout=timeout)
        self._given_transport = transport
        self._channel: ServiceChannel | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    # ------------------------------------------------------------------ plumbing
    @property
    def url(self) -> str | None:
        """The service URL, or ``None`` while the embedded default is not started yet."""
        if self._channel is not None:
            return self._channel.base_url
        return self.settings.url

    @property
    def embedded(self) -> bool:
        """Whether this client talks to the embedded default."""
        return self.settings.url is None and self._given_transport is None

    @property
    def in_process(self) -> bool:
        """Whether this client is connected to a service in this process, holding no
        connection (then its coroutines may run on any event loop)."""
        return self._channel is not None and self._channel.in_process

    async def _connect(self) -> ServiceChannel:
        if self._channel is not None:
            return self._channel
        async with self._lock:
            if self._channel is not None:
                return self._channel
            if self._closed:
                raise ValidationError("the client is closed")
            settings = self.settings
            token = settings.token.get_secret_value() if settings.token else None
            url = settings.url
            if url is None and self._given_transport is None:
                start: Callable[[], EmbeddedDefault] = registry.load(registry.EMBEDDED, "stack")
                stack = await asyncio.to_thread(start)
                self._channel = stack.channel(token or stack.token)
                return self._channel
            base = (url or "http://qrelay.invalid").rstrip("/")
            base = base.removesuffix("/v1")
            origin = settings.source("url")
            if self._given_transport is None:
                check_service_url(base, origin)
            self._channel = HttpChannel(
                base,
                token,
                timeout=settings.timeout,
                connect_timeout=settings.connect_timeout,
                policy=RetryPolicy.from_settings(settings),
                transport=self._given_transport,
                origin=origin,
            )
            return self._channel

    async def _get_job(
        self, job_id: str, *, wait: float | None = None, include_readout: bool = False
    ) -> JobData:
        channel = await self._connect()
        raw = await channel.job(job_id, wait=wait, include_readout=include_readout)
        return JobData.model_validate_json(raw)

    async def _get_results(self, job_id: str) -> JobResults:
        channel = await self._connect()
        return JobResults.model_validate_json(await channel.results(job_id))

    # ------------------------------------------------------------------ public
    async def targets(self, **filters: Any) -> list[TargetModel]:
        """The targets, filtered by the fields of ``GetTargetsFilterModel``."""
        query = _validated(GetTargetsFilterModel, "targets() filters", **filters)
        raw = await (await self._connect()).targets(query)
        return _TARGETS.validate_json(raw)

    async def target(self, name: str) -> TargetInfo:
        """One target in full: calibration, limits, live status and queue depth.

        Raises :class:`~qrelay.errors.NotFoundError` naming the known targets when there is
        no target ``name``.
        """
        channel = await self._connect()
        try:
            return TargetInfo.model_validate_json(await channel.target(name))
        except NotFoundError as exc:
            known = ", ".join(m.target_name for m in await self.targets()) or "none"
            raise NotFoundError(
                f"no target {name!r} (known: {known})",
                status=exc.status,
                code=exc.code,
                detail=exc.detail,
            ) from exc

    async def calibrations(
        self, name: str, query: CalibrationQuery | None = None
    ) -> CalibrationPage:
        """A page of target ``name``'s calibration history, oldest first (``query``:
        ``from``/``to`` times, ``limit``, ``cursor``)."""
        channel = await self._connect()
        answer = await channel.calibrations(name, query or CalibrationQuery())
        return CalibrationPage.model_validate_json(answer)

    async def calibration(self, name: str, calibration_id: str) -> Calibration:
        """One calibration snapshot of target ``name`` (``NotFoundError`` if it has none)."""
        channel = await self._connect()
        return Calibration.model_validate_json(await channel.calibration(name, calibration_id))

    async def submit(self, job: NewJob, *, idempotency_key: str | None = None) -> AsyncJob:
        """Submit a job and return its handle.

        The idempotency key (a fresh one unless given) is sent with every retry of this
        submission, so a retry after a lost answer cannot create a second job.
        """
        key = idempotency_key or new_idempotency_key()
        channel = await self._connect()
        raw = await channel.submit(job.model_dump_json().encode(), key)
        answer = NewJobResponse.model_validate_json(raw)
        return AsyncJob(self, answer.job_id, data=answer.job, submission=answer)

    async def job(self, job_id: str) -> AsyncJob:
        """The handle of an existing job (raises ``NotFoundError`` if there is none)."""
        data = await self._get_job(job_id)
        return AsyncJob(self, job_id, data=data)

    async def jobs(self, query: JobQuery | None = None, **filters: Any) -> list[AsyncJob]:
        """One page of the caller's jobs, newest first, filtered by ``JobQuery`` fields.

        Pass ``cursor=`` (from :meth:`job_page`) to read further pages.
        """
        page = await self.job_page(query, **filters)
        return [AsyncJob(self, data.job_id, data=data) for data in page.jobs]

    async def job_page(self, query: JobQuery | None = None, **filters: Any) -> JobPage:
        """One page of the job listing as the service sends it, with ``next_cursor``."""
        if query is None:
            query = _validated(JobQuery, "jobs() filters", **filters)
        elif filters:
            merged = query.model_dump(exclude_unset=True) | filters
            query = _validated(JobQuery, "jobs() filters", **merged)
        return JobPage.model_validate_json(await (await self._connect()).jobs(query))

    async def cancel(self, job_ids: str | Sequence[str]) -> JobCancellationResults:
        """Cancel jobs by id; the answer says which were cancelled, ended or unknown."""
        ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
        raw = await (await self._connect()).cancel(ids)
        return JobCancellationResults.model_validate_json(raw)

    async def delete(self, job_id: str) -> None:
        """Delete a terminal job (``ConflictError`` if it has not ended)."""
        await (await self._connect()).delete(job_id)

    async def me(self) -> UserInfo:
        """The user this client's token belongs to."""
        return UserInfo.model_validate_json(await (await self._connect()).me())

    async def balance(self) -> float:
        """The caller's balance, in the unit of the targets' ``price_per_shot``."""
        raw = await (await self._connect()).balance()
        return BalanceResponse.model_validate_json(raw).balance

    async def close(self) -> None:
        """Close the connections. The embedded default (if any) keeps running."""
        self._closed = True
        if self._channel is not None:
            await self._channel.aclose()
            self._channel = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
