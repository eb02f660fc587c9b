"""The service's bounded thread pools (:mod:`qrelay.service.threads`)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from qrelay.service.threads import ThreadPool

_REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


def _seen() -> tuple[str, str]:
    return _REQUEST.get(), threading.current_thread().name


def test_a_call_runs_in_a_named_thread_with_the_callers_context() -> None:
    """The call sees the caller's context variables (its trace), not the thread's."""
    pool = ThreadPool(2, "qrelay-test")

    async def main() -> tuple[str, str]:
        _REQUEST.set("submit 42")
        return await pool.call(_seen)

    try:
        value, name = asyncio.run(main())
    finally:
        pool.close()
    assert value == "submit 42"
    assert name.startswith("qrelay-test")
    assert name != threading.current_thread().name


def test_calls_beyond_the_bound_wait_for_a_thread() -> None:
    """Six calls on a pool of two: never more than two at once, all six answered."""
    pool = ThreadPool(2, "qrelay-test")
    lock = threading.Lock()
    running = 0
    most = 0
    release = threading.Event()

    def held(index: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(5)
        with lock:
            running -= 1
        return index

    async def main() -> list[int]:
        calls = [asyncio.ensure_future(pool.call(held, i)) for i in range(6)]
        await asyncio.sleep(0.2)
        release.set()
        return list(await asyncio.gather(*calls))

    try:
        answers = asyncio.run(main())
    finally:
        pool.close()
    assert answers == list(range(6))
    assert most == 2


def test_an_error_reaches_the_caller_and_the_pool_goes_on() -> None:
    pool = ThreadPool(1, "qrelay-test")

    def fails() -> None:
        raise LookupError("job 7: not found")

    async def main() -> str:
        with pytest.raises(LookupError, match="job 7"):
            await pool.call(fails)
        return (await pool.call(_seen))[0]

    try:
        assert asyncio.run(main()) == "none"
    finally:
        pool.close()


def test_closed_pool_starts_again_on_the_next_call() -> None:
    """``close`` stops the threads; a later call (a runtime started again) gets new ones."""
    pool = ThreadPool(1, "qrelay-test")

    async def name() -> str:
        return (await pool.call(_seen))[1]

    first = asyncio.run(name())
    pool.close()
    second = asyncio.run(name())
    pool.close()
    assert first.startswith("qrelay-test")
    assert second.startswith("qrelay-test")
