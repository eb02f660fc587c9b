"""A synchronous ``httpx`` transport into an ASGI app served on the runtime loop.

The embedded default's workers are synchronous ``httpx.Client`` users in their own
threads; with this transport their requests go straight into the service app on the
runtime loop (where it already serves), with no socket and no HTTP parsing.

It also makes shutdown clean: :meth:`InProcessTransport.close_long_polls` answers every
lease long-poll still waiting with ``204 No Content`` ("no task"), so an idle worker that
was told to stop leaves its loop at once instead of waiting out its lease or logging a
broken connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any

import httpx

#: Requests to these paths are long-polls that shutdown may end with "nothing came".
_LONG_POLL_PATHS = frozenset({"/v1/worker/lease"})


class InProcessTransport(httpx.BaseTransport):
    """Runs each request on ``loop`` through ``httpx.ASGITransport(app)``."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = loop
        self._lock = threading.Lock()
        self._long_polls: set[concurrent.futures.Future[Any]] = set()
        self._closing = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        long_poll = request.url.path in _LONG_POLL_PATHS
        with self._lock:
            if long_poll and self._closing:
                return httpx.Response(204, request=request)
            future = asyncio.run_coroutine_threadsafe(self._send(inner), self._loop)
            if long_poll:
                self._long_polls.add(future)
        try:
            status, headers, content = future.result()
        except concurrent.futures.CancelledError:
            if long_poll:
                return httpx.Response(204, request=request)
            raise httpx.ReadError("the in-process service stopped", request=request) from None
        finally:
            if long_poll:
                with self._lock:
                    self._long_polls.discard(future)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers.raw, content

    def close_long_polls(self) -> None:
        """End every waiting long-poll with "no task", and answer new ones so at once."""
        with self._lock:
            self._closing = True
            pending = list(self._long_polls)
        for future in pending:
            future.cancel()
