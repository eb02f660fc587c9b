"""The controller's call threads: a pool that takes calls until the controller stops it.

``concurrent.futures.ThreadPoolExecutor`` refuses new work as soon as the interpreter
begins to exit, before ``atexit`` handlers run. The embedded default stops its workers
and then its controller from ``atexit``; a call reaching the controller in between (a
worker's last status probe) would make gRPC's serving thread die with a traceback. These
threads belong to the controller and take calls until its handle stops them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

_Work = tuple["futures.Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class CallThreads(futures.Executor):
    """At most ``workers`` daemon threads, started as calls need them."""

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        future: futures.Future[Any] = futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the QPU controller has stopped taking calls")
            self._queue.put((future, fn, args, kwargs))
            if self._idle == 0 and len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"qrelay-qpu-call-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to the caller through its future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more calls; end the threads once the queued calls are done."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()
