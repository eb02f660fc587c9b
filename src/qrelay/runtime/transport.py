"""The HTTP layer of the async client: one ``httpx.AsyncClient``, retries, error mapping.

Everything the runtime sends goes through :meth:`HttpTransport.request`, so the retry
rules (see :mod:`qrelay.runtime.retry`) and the translation of problem documents (see
:mod:`qrelay.runtime.problems`) live in one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from qrelay.errors import TransportError
from qrelay.runtime.problems import error_from_response
from qrelay.runtime.retry import RETRY_STATUSES, RetryPolicy, retry_after_from

logger = logging.getLogger("qrelay.runtime")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
#: Errors raised before the request left this machine: safe to retry for any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class HttpTransport:
    """Sends requests to one service with one token, retrying what is safe to retry."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float,
        connect_timeout: float,
        policy: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "qrelay-runtime"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.policy = policy
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.aclose()

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
        timeout: httpx.Timeout | None = None
        if read_timeout is not None:
            total = self.timeout + read_timeout
            timeout = httpx.Timeout(total, connect=self._client.timeout.connect)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = await self._client.request(
                    method,
                    path,
                    content=content,
                    params=clean_params or None,
                    headers=send_headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                retryable = isinstance(exc, _NOT_SENT) or replayable
                delay = self.policy.next_delay(attempt, started) if retryable else None
                if delay is None:
                    raise TransportError(
                        f"{method} {self._client.base_url}{path}: {type(exc).__name__}: {exc}"
                    ) from exc
                logger.info(
                    "%s %s failed (%s); retry %d in %.2f s",
                    method,
                    path,
                    type(exc).__name__,
                    attempt + 1,
                    delay,
                )
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status in RETRY_STATUSES and replayable:
                    retry_after = retry_after_from(response.headers)
                    delay = self.policy.next_delay(attempt, started, retry_after)
                    if delay is not None:
                        logger.info(
                            "%s %s answered %d; retry %d in %.2f s",
                            method,
                            path,
                            status,
                            attempt + 1,
                            delay,
                        )
                        await response.aclose()
                        await asyncio.sleep(delay)
                        attempt += 1
                        continue
                raise error_from_response(status, response.headers, response.content)
            await asyncio.sleep(delay)
            attempt += 1
