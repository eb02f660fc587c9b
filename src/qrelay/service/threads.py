"""A small bounded pool of threads that runs blocking calls for coroutines.

The service hands two kinds of blocking work to threads: the parse of a large request
body (:mod:`qrelay.service.bodies`) and, on PostgreSQL, each store call, which waits on
the network. Both go through a :class:`ThreadPool`: the standard library's executor,
started on first use, with the caller's context variables (its trace) carried into the
thread. (The service's start, lease reclaim and readiness ping stay on Starlette's
``run_in_threadpool``: the reclaim loop of a runtime still running when the interpreter
exits would find the standard library's executors closed to new work.)

The store calls used to go to Starlette's ``run_in_threadpool`` (AnyIO's worker threads,
up to 40). Its hand-off takes a capacity limiter and a cancel scope per call, and forty
threads waking in turn on two cores switch more than they work: under the throughput
benchmark on PostgreSQL the service spent 4.1-4.6 ms of CPU per job that way, against
3.4 ms with four threads here, and completed 15-30% more jobs a second ("Issue 26,
eighth round" in ``docs/performance.md``). More threads do not add CPU (the interpreter
lock is one); they only overlap more waits on the database.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")


class ThreadPool:
    """Runs ``fn(*args)`` in one of at most ``threads`` threads (an ``Offload``)."""

    def __init__(self, threads: int, name: str) -> None:
        self._threads = threads
        self._name = name
        self._pool: ThreadPoolExecutor | None = None

    async def call(self, fn: Callable[..., _T], /, *args: Any) -> _T:
        """``fn(*args)`` in a thread of the pool, with the caller's context variables; a
        call beyond ``threads`` at once waits for a thread."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix=self._name)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(context.run, fn, *args))

    def close(self) -> None:
        """Stop the threads once the calls under way have ended; calls still waiting
        for a thread are dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
