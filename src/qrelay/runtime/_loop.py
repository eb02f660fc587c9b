"""A private event loop in a daemon thread, where the synchronous client's I/O runs.

The synchronous client does no I/O of its own: it hands the async client's coroutines to
this loop and blocks on the answer. One loop serves every synchronous client of the
process, so connections are pooled and nothing depends on the caller's own event loop
(a sync client works inside Jupyter, or inside another library's running loop).

A client of the embedded default holds no connections: its coroutines call the service
in this process. Those may run on the calling thread instead (``here=True``), on a loop
of that thread's own, when the thread runs no loop already. The trip to the runtime
thread and back costs two thread switches, several times per job, which is a real share
of a small job's time (see "Design measurements" in ``docs/performance.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_here = threading.local()


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
    """Whether the caller runs on a loop of the synchronous client: the runtime loop, or
    the calling thread's own (see :func:`run_sync`); call it from a coroutine. There a
    short blocking call may run in place: the loop serves nothing else it would hold up.
    """
    running = asyncio.get_running_loop()
    return running is _loop or running is getattr(_here, "loop", None)


def _thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's own loop for :func:`run_sync` ``here``; closed when the thread ends."""
    loop: asyncio.AbstractEventLoop | None = getattr(_here, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _here.loop = loop
        weakref.finalize(threading.current_thread(), loop.close)
    return loop


def _loop_runs_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_here(coro: Coroutine[Any, Any, _T]) -> _T:
    loop = _thread_loop()
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():  # interrupted (Ctrl-C): cancel the coroutine, as below
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise


def run_sync(coro: Coroutine[Any, Any, _T], *, here: bool = False) -> _T:
    """Run ``coro`` on the runtime loop and return its result (or raise its error).

    ``here``: run it on the calling thread instead, if that thread runs no event loop
    (for coroutines that hold no connection of the runtime loop: the embedded default's).
    If the caller is interrupted (Ctrl-C), the coroutine is cancelled too.
    """
    if threading.current_thread().name == "qrelay-runtime-loop":
        coro.close()
        raise RuntimeError("the synchronous client cannot be used from its own runtime loop")
    if here and not _loop_runs_here():
        return _run_here(coro)
    loop = background_loop()
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
