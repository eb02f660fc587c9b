"""HTTP/1.1 for the worker: stdlib ``http.client`` connections kept alive, one per thread.

A worker sends one request per task, the result that also leases the next task. Through
``httpx`` such a request cost more than twice the CPU (its client, then h11 in its
transport), and a POST went out as two segments, headers and body; ``http.client`` sends a
body given as bytes with its headers (figures: "Design measurements" in
``docs/performance.md``). The worker calls the service from
its loop thread and from its heartbeat thread, so each thread keeps a connection of its own.
"""

from __future__ import annotations

import http.client
import select
import threading
from typing import NamedTuple
from urllib.parse import urlsplit

from qrelay.errors import ConfigurationError, TransportError

#: Seconds to wait for a connection to the service.
_CONNECT_TIMEOUT = 5.0


class Answer(NamedTuple):
    """A response, read in full; header names are lower-cased."""

    status_code: int
    headers: dict[str, str]
    content: bytes


class UnreachableError(TransportError):
    """The request did not reach the service, or the connection closed before any answer
    came (a keep-alive connection the service had just closed): safe to send again."""


class Connections:
    """Keep-alive connections to one service, one per calling thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"url: {url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()

    def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
    ) -> Answer:
        """One request and its whole answer. Raises :class:`UnreachableError`, ``TimeoutError``
        when the answer took longer than ``timeout`` seconds, or another ``OSError`` /
        ``http.client.HTTPException`` when the connection failed midway."""
        conn = self._connection(timeout)
        try:
            conn.request(method, self._prefix + path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            self._drop(conn)
            raise UnreachableError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            self._drop(conn)
            raise
        if response.will_close:
            self._drop(conn)
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, answer_headers, content)

    def close(self) -> None:
        """Close every connection (of every thread)."""
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=timeout)
            self._local.conn = conn
            with self._lock:
                self._open.add(conn)
        # An idle connection that reads as ready has been closed by the service.
        if conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
            conn.close()
        if conn.sock is None:
            conn.timeout = min(_CONNECT_TIMEOUT, timeout)
            try:
                conn.connect()
            except OSError as exc:
                raise UnreachableError(str(exc) or type(exc).__name__) from exc
        conn.timeout = timeout
        assert conn.sock is not None
        conn.sock.settimeout(timeout)
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()  # the next request on this thread connects again
