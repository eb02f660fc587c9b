"""The service app served over HTTP on loopback, in this process: :func:`serve_loopback`.

The embedded default serves its app this way (on the runtime's shared loop), and so do
the tests and benchmarks that need a real HTTP service without a ``qrelay serve``
process: uvicorn on ``127.0.0.1`` with an ephemeral port, started and stopped from
ordinary (synchronous) code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from qrelay.errors import QRelayError

__all__ = ["LoopbackServer", "serve_loopback"]


@dataclass
class LoopbackServer:
    """A uvicorn server started by :func:`serve_loopback`."""

    server: Any
    done: concurrent.futures.Future[Any]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 3.0) -> None:
        """Stop: open HTTP requests get a second to end, then the app shuts down; wait
        ``timeout`` seconds for that (0: do not wait)."""
        self.server.should_exit = True
        if timeout > 0:
            with contextlib.suppress(Exception):
                self.done.result(timeout=timeout)


def serve_loopback(
    app: Any, loop: asyncio.AbstractEventLoop | None = None, *, timeout: float = 30.0
) -> LoopbackServer:
    """Serve the ASGI ``app`` with uvicorn on ``127.0.0.1`` and an ephemeral port.

    With ``loop`` (the runtime's loop), the server runs as a task on it, so the app's
    long-poll wake-ups, the in-process clients and the HTTP clients all share one loop;
    without, on a loop of its own in a daemon thread. Returns once the server listens;
    raises :class:`~qrelay.errors.QRelayError` if it stops while starting, or has not
    started within ``timeout`` seconds.
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)  # off the main thread it installs no signal handlers
    done: concurrent.futures.Future[Any]
    if loop is not None:
        done = asyncio.run_coroutine_threadsafe(_serve_on_shared_loop(server), loop)
    else:
        done = concurrent.futures.Future()

        def run() -> None:
            try:
                server.run()
            except BaseException as exc:  # pragma: no cover - reported through `done`
                done.set_exception(exc)
            else:
                done.set_result(None)

        threading.Thread(target=run, name="qrelay-loopback-http", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if done.done():
            done.result()
            raise QRelayError("the HTTP server on loopback stopped while starting")
        if time.monotonic() > deadline:
            raise QRelayError("the HTTP server on loopback did not start in time")
        time.sleep(0.001)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return LoopbackServer(server=server, done=done, port=port)


async def _serve_on_shared_loop(server: Any) -> None:
    """Serve until stopped; a failed start-up becomes an error of this task.

    uvicorn ends a server whose app failed to start with ``SystemExit``, which would leave
    the shared loop's thread and stop every client waiting on that loop; as an ordinary
    exception it reaches the caller of :func:`serve_loopback` instead.
    """
    try:
        await server.serve()
    except SystemExit as exc:
        raise QRelayError(
            f"the service did not start on loopback (exit status {exc.code}); its log says why"
        ) from None
