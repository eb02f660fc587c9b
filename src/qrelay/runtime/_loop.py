"""A private event loop in a daemon thread, where the synchronous client's I/O runs.

The synchronous client does no I/O of its own: it hands the async client's coroutines to
this loop and blocks on the answer. One loop serves every synchronous client of the
process, so connections are pooled and nothing depends on the caller's own event loop
(a sync client works inside Jupyter, or inside another library's running loop).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def background_loop() -> asyncio.AbstractEventLoop:
    """The process's runtime loop, started on first use."""
    global _loop
    loop = _loop
    if loop is not None and not loop.is_closed():
        return loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_serve, args=(new, ready), name="qrelay-runtime-loop", daemon=True
            )
            thread.start()
            ready.wait()
            _loop = new
        return _loop


def on_runtime_loop() -> bool:
    """Whether the caller runs on the runtime loop (call it from a coroutine)."""
    return _loop is not None and asyncio.get_running_loop() is _loop


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on the runtime loop and return its result (or raise its error).

    If the caller is interrupted (Ctrl-C), the coroutine is cancelled too.
    """
    loop = background_loop()
    if threading.current_thread().name == "qrelay-runtime-loop":
        coro.close()
        raise RuntimeError("the synchronous client cannot be used from its own runtime loop")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
