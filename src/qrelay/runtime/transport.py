"""How the async client reaches a service: the :class:`ServiceChannel` it talks to, and
:class:`HttpChannel`, the channel over HTTP (a pool of ``httpx`` connections, retries,
errors). It was called ``HttpTransport``; that name still works, with a warning: it is not
an ``httpx`` transport but what sits on one.

A channel offers the service's user operations and answers with the service's JSON bytes,
which the client parses. Over HTTP every request goes through
:meth:`HttpChannel.request`, so the retry rules (see :mod:`qrelay.runtime.retry`) and the
reading of problem documents into exceptions (see :mod:`qrelay.runtime.problems`) live in
one place.
The embedded default's channel calls the service in process instead
(:class:`qrelay.service.local.LocalChannel`).
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol
from urllib.parse import urlencode

import httpx

from qrelay.errors import ConfigurationError, ServiceError, TransportError
from qrelay.payload import GetTargetsFilterModel, JobQuery
from qrelay.payload._base import WireModel
from qrelay.payload.calibration import CalibrationQuery
from qrelay.runtime import tracing
from qrelay.runtime.problems import error_from_response
from qrelay.runtime.retry import RETRY_STATUSES, RetryPolicy, acall_with_retry

#: Seconds a submission lets the service wait for a job that ends at once (``Prefer``).
SUBMIT_WAIT: Final = 10.0
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
#: Errors raised before the request left this machine: safe to retry for any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: No connection could be made: retried only for the policy's ``connect_deadline``.
_NO_CONNECTION = (httpx.ConnectError, httpx.ConnectTimeout)


def check_service_url(url: str, origin: str) -> None:
    """Refuse a service URL that no retry can mend: no ``http://`` or ``https://``
    scheme, or no host. ``origin`` says where the URL came from (``QRELAY_URL``, ...)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"service URL {url!r} (from {origin}): {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"service URL {url!r} (from {origin}) needs an http:// or https:// scheme, "
            f"for example http://{url.rsplit('://', maxsplit=1)[-1]}"
        )
    if not parsed.host:
        raise ConfigurationError(f"service URL {url!r} (from {origin}) has no host")


def _unresolvable(exc: BaseException) -> bool:
    """Whether a connection failed because the host name does not resolve."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ServiceChannel(Protocol):
    """The service's user operations, each answering with the service's JSON."""

    #: Whether the service runs in this process and the channel holds no connection, so
    #: its coroutines may run on any event loop (see :func:`qrelay.runtime._loop.run_sync`).
    in_process: bool

    @property
    def base_url(self) -> str: ...
    async def submit(self, body: bytes, idempotency_key: str) -> bytes: ...
    async def job(self, job_id: str, *, wait: float | None, include_readout: bool) -> bytes: ...
    async def results(self, job_id: str) -> bytes: ...
    async def jobs(self, query: JobQuery) -> bytes: ...
    async def cancel(self, job_ids: Sequence[str]) -> bytes: ...
    async def delete(self, job_id: str) -> None: ...
    async def targets(self, filters: GetTargetsFilterModel) -> bytes: ...
    async def target(self, name: str) -> bytes: ...
    async def calibrations(self, name: str, query: CalibrationQuery) -> bytes: ...
    async def calibration(self, name: str, calibration_id: str) -> bytes: ...
    async def me(self) -> bytes: ...
    async def balance(self) -> bytes: ...
    async def aclose(self) -> None: ...


class EmbeddedDefault(Protocol):
    """What the runtime needs of the embedded default (found through the registry)."""

    token: str

    def channel(self, token: str) -> ServiceChannel:
        """A channel into the in-process service, acting for ``token``'s user."""
        ...


class _CancelRequest(WireModel):
    """The body of ``POST /v1/jobs/cancel``."""

    job_ids: list[str]


class HttpChannel:
    """Sends requests to one service with one token, retrying what is safe to retry.

    It is the :class:`ServiceChannel` over HTTP; :meth:`request` sends any request.
    """

    in_process = False

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float,
        connect_timeout: float,
        policy: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        origin: str = "the url argument (--url)",
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "qrelay-runtime"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.policy = policy
        #: Where the URL came from, for messages (``QRELAY_URL``, an argument, a profile).
        self.origin = origin
        self._base_url = base_url.rstrip("/")
        self._headers = headers
        self._connect_timeout = connect_timeout
        # Requests go straight to the transport (a keep-alive pool) rather than through an
        # ``httpx.AsyncClient``, whose cookies, redirects, auth flows and URL merging a
        # service client never uses, and which cost a large share of a loopback request's
        # CPU.
        self._transport = tracing.wrap_transport(transport or httpx.AsyncHTTPTransport())

    @property
    def base_url(self) -> str:
        return self._base_url

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request, retrying as the policy allows; return a 2xx response.

        Raises the :class:`~qrelay.errors.ServiceError` subclass of an error answer, or
        :class:`~qrelay.errors.TransportError` when the service cannot be reached.
        ``read_timeout`` stretches the read timeout (a long-poll waits on purpose).
        """
        method = method.upper()
        send_headers = dict(headers or {})
        if content is not None:
            send_headers.setdefault("Content-Type", "application/json")
        replayable = method in _SAFE_METHODS or "Idempotency-Key" in send_headers
        total = self.timeout + (read_timeout or 0.0)
        limits = {"connect": self._connect_timeout, "read": total, "write": total, "pool": total}
        url = self._base_url + path
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        if clean_params:
            url += "?" + urlencode(clean_params, doseq=True)
        tries = 0

        async def send() -> httpx.Response:
            nonlocal tries
            tries += 1
            response = await self._send(method, url, send_headers, content, limits)
            if response.status_code >= 400:
                raise error_from_response(response.status_code, response.headers, response.content)
            return response

        def retry_on(exc: Exception) -> bool:
            if isinstance(exc, httpx.TransportError):
                return (isinstance(exc, _NOT_SENT) or replayable) and not _unresolvable(exc)
            return isinstance(exc, ServiceError) and exc.status in RETRY_STATUSES and replayable

        def deadline_of(exc: Exception) -> float | None:
            return self.policy.connect_deadline if isinstance(exc, _NO_CONNECTION) else None

        try:
            return await acall_with_retry(
                send,
                self.policy,
                retry_on=retry_on,
                deadline_of=deadline_of,
                what=f"{method} {path}",
            )
        except httpx.TransportError as exc:
            raise self._unreachable(method, path, exc, tries - 1) from exc

    def _unreachable(
        self, method: str, path: str, exc: httpx.TransportError, attempt: int
    ) -> TransportError:
        """The error for a request that could not be sent or answered, in one line."""
        if _unresolvable(exc):
            what = "the host name does not resolve"
        elif isinstance(exc, _NO_CONNECTION):
            what = "no service answers there (connection refused or timed out)"
        else:
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        tries = f" after {attempt + 1} tries" if attempt else ""
        return TransportError(
            f"cannot reach the service at {self._base_url} (URL from {self.origin}): "
            f"{method} {path}: {what}{tries}"
        )

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        limits: dict[str, float],
    ) -> httpx.Response:
        """One request through the transport, its body read and the connection returned."""
        request = httpx.Request(
            method,
            url,
            headers=self._headers | dict(headers),
            content=content,
            extensions={"timeout": limits},
        )
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    # ------------------------------------------------------------------ the channel
    async def submit(self, body: bytes, idempotency_key: str) -> bytes:
        # A small simulation that an idle worker takes at once comes back finished, in
        # the answer's ``job``; the service answers anything else at once.
        headers = {"Idempotency-Key": idempotency_key, "Prefer": f"wait={SUBMIT_WAIT:g}"}
        response = await self.request(
            "POST", "/v1/jobs", content=body, headers=headers, read_timeout=SUBMIT_WAIT
        )
        return response.content

    async def job(self, job_id: str, *, wait: float | None, include_readout: bool) -> bytes:
        params: dict[str, Any] = {}
        if wait is not None:
            params["wait"] = f"{wait:.3f}"
        if include_readout:
            params["include"] = "readout"
        response = await self.request("GET", f"/v1/jobs/{job_id}", params=params, read_timeout=wait)
        return response.content

    async def results(self, job_id: str) -> bytes:
        return (await self.request("GET", f"/v1/jobs/{job_id}/results")).content

    async def jobs(self, query: JobQuery) -> bytes:
        params = query.model_dump(mode="json", exclude_none=True)
        return (await self.request("GET", "/v1/jobs", params=params)).content

    async def cancel(self, job_ids: Sequence[str]) -> bytes:
        body = _CancelRequest(job_ids=list(job_ids)).model_dump_json().encode()
        return (await self.request("POST", "/v1/jobs/cancel", content=body)).content

    async def delete(self, job_id: str) -> None:
        await self.request("DELETE", f"/v1/jobs/{job_id}")

    async def targets(self, filters: GetTargetsFilterModel) -> bytes:
        params = filters.model_dump(mode="json", exclude_none=True)
        return (await self.request("GET", "/v1/targets", params=params)).content

    async def target(self, name: str) -> bytes:
        return (await self.request("GET", f"/v1/targets/{name}")).content

    async def calibrations(self, name: str, query: CalibrationQuery) -> bytes:
        params = query.model_dump(mode="json", by_alias=True, exclude_none=True)
        return (
            await self.request("GET", f"/v1/targets/{name}/calibrations", params=params)
        ).content

    async def calibration(self, name: str, calibration_id: str) -> bytes:
        path = f"/v1/targets/{name}/calibrations/{calibration_id}"
        return (await self.request("GET", path)).content

    async def me(self) -> bytes:
        return (await self.request("GET", "/v1/me")).content

    async def balance(self) -> bytes:
        return (await self.request("GET", "/v1/me/balance")).content


def __getattr__(name: str) -> Any:
    """``HttpTransport``, the old name of :class:`HttpChannel`, with a deprecation warning."""
    if name == "HttpTransport":
        warnings.warn(
            "qrelay.runtime.transport.HttpTransport is deprecated; use HttpChannel",
            DeprecationWarning,
            stacklevel=2,
        )
        return HttpChannel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
