"""HTTP/1.1 for the worker: ``httpx``'s keep-alive connection pool, as the runtime uses it.

A worker sends one request per task, the result that also leases the next task, from its
loop thread and from its heartbeat thread. Both go through one ``httpx.HTTPTransport``
(a thread-safe pool of keep-alive connections) without an ``httpx.Client`` on top, whose
cookies, redirects, auth flows and URL merging a worker never uses: the same stack as
the runtime's :class:`~qrelay.runtime.transport.HttpChannel`, synchronous.
"""

from __future__ import annotations

from typing import NamedTuple

import httpx

from qrelay.errors import ConfigurationError, TransportError

#: Seconds to wait for a connection to the service.
_CONNECT_TIMEOUT = 5.0
#: Failures that mean the request did not reach the service, or that a keep-alive
#: connection closed before any answer came: safe to send again.
_NOT_ANSWERED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


class Answer(NamedTuple):
    """A response, read in full; header names are lower-cased."""

    status_code: int
    headers: dict[str, str]
    content: bytes


class UnreachableError(TransportError):
    """The request did not reach the service, or the connection closed before any answer
    came (a keep-alive connection the service had just closed): safe to send again."""


class Connections:
    """Keep-alive connections to one service, shared by the threads that call it."""

    def __init__(self, url: str) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ConfigurationError(f"url: {url!r} is not an http(s) URL ({exc})") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError(f"url: {url!r} is not an http(s) URL")
        self._base = url.rstrip("/")
        self._transport = httpx.HTTPTransport()

    def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
    ) -> Answer:
        """One request and its whole answer. Raises :class:`UnreachableError`,
        ``TimeoutError`` when the answer took longer than ``timeout`` seconds, or
        ``httpx.TransportError`` when the connection failed midway."""
        limits = {
            "connect": min(_CONNECT_TIMEOUT, timeout),
            "read": timeout,
            "write": timeout,
            "pool": timeout,
        }
        request = httpx.Request(
            method, self._base + path, headers=headers, content=body, extensions={"timeout": limits}
        )
        try:
            response = self._transport.handle_request(request)
            try:
                content = response.read()
            finally:
                response.close()
        except _NOT_ANSWERED as exc:
            raise UnreachableError(str(exc) or type(exc).__name__) from exc
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer within {timeout:g} s") from exc
        return Answer(response.status_code, dict(response.headers), content)

    def close(self) -> None:
        """Close every connection."""
        self._transport.close()
