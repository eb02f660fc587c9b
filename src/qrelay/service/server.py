"""``qrelay serve``'s HTTP protocol: uvicorn's, with a deadline for a request's headers.

uvicorn times out a kept-alive connection that is idle between requests, but not one that
has begun a request and then sends its headers slowly or never finishes them: a client
that opens many such connections ("slowloris") holds them, and the file descriptors
behind them, for as long as it likes. Here each connection must deliver a request's
headers within ``ServiceSettings.header_timeout_seconds`` of connecting, or of the first
byte of its next request; a connection that has not is closed. The body is read by the
app, whose limits apply to it (see :mod:`qrelay.service.limits`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose headers come too slowly."""

    #: Seconds a request's headers may take (set by :func:`protocol_class`).
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.info(
                "closing a connection whose request headers took over %g s", self.header_timeout
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_class(header_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (``http=``) for a header deadline in seconds."""
    return type(
        "HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": header_timeout}
    )
