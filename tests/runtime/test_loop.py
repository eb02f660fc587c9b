"""Where the synchronous client's coroutines run: the runtime loop, or the calling thread."""

from __future__ import annotations

import asyncio
import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from qrelay.payload import NewJob
from qrelay.runtime import Client
from qrelay.runtime._loop import on_runtime_loop, run_sync

from .circuits import flip


async def _where() -> tuple[str, bool, asyncio.AbstractEventLoop]:
    return threading.current_thread().name, on_runtime_loop(), asyncio.get_running_loop()


def test_here_runs_on_the_calling_thread_on_a_loop_of_its_own() -> None:
    name, runtime, loop = run_sync(_where(), here=True)
    assert name == threading.current_thread().name
    assert runtime  # store calls may block there, as on the runtime loop
    assert run_sync(_where(), here=True)[2] is loop  # one loop per thread, kept
    name, runtime, other = run_sync(_where())
    assert name == "qrelay-runtime-loop"
    assert runtime
    assert other is not loop


async def test_here_inside_a_running_loop_goes_to_the_runtime_loop() -> None:
    # As in a notebook: this thread's loop is busy, so the coroutine cannot run here.
    name, runtime, loop = run_sync(_where(), here=True)
    assert name == "qrelay-runtime-loop"
    assert runtime
    assert not on_runtime_loop()  # the test's own loop is not the client's
    assert loop is not asyncio.get_running_loop()


def test_an_error_comes_back_and_the_thread_loop_goes_on() -> None:
    async def fail() -> None:
        raise KeyError("field")

    with pytest.raises(KeyError, match="field"):
        run_sync(fail(), here=True)
    assert run_sync(_where(), here=True)[1]


def test_a_threads_loop_is_closed_when_the_thread_ends() -> None:
    seen: list[asyncio.AbstractEventLoop] = []
    thread = threading.Thread(target=lambda: seen.append(run_sync(_where(), here=True)[2]))
    thread.start()
    thread.join()
    del thread
    gc.collect()
    assert seen[0].is_closed()


def test_embedded_client_runs_jobs_on_each_callers_thread(stack: Any) -> None:
    """A client of the embedded default calls the service from the caller's thread; several
    threads sharing one client each get their own brief jobs' results."""
    assert stack.wait_ready(60)
    with Client() as client:
        client.balance()  # connects: from now on the client is in process
        assert client.in_process

        def one(width: int) -> dict[str, int]:
            job = client.submit(NewJob(target="aer_simulator", circuits=[flip(width)], shots=50))
            return job.result(timeout=60).readouts[0][0].counts()  # type: ignore[index]

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(one, [2, 3, 4, 5] * 3))
    expected = ["".join("1" if q % 2 else "0" for q in reversed(range(w))) for w in [2, 3, 4, 5]]
    assert answers == [{key: 50} for key in expected * 3]  # qubit 1, 3, ... flipped
