"""Keeping a lease alive while a task runs, and hearing about cancellation through it.

The service hands out a lease with an expiry; a background thread extends it with a
heartbeat well before it runs out. The answer also says whether the user asked to cancel,
which sets the task context's ``cancelled`` event so the driver stops at its next check.
A heartbeat refused because the lease is no longer ours (the task went to another worker)
marks the lease lost: the work stops and its result is dropped, never posted.

Every task is kept alive, brief ones included: a task judged brief that runs long (a
large sweep) would otherwise outlive its lease and be run again and again. A task's
:class:`Heartbeat` runs its own thread, or is watched by the worker's one :class:`Pulse`
thread, which costs a brief task a lock and a wake-up instead of a thread's start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime

from qrelay.errors import ConflictError, NotFoundError, QRelayError
from qrelay.payload import WorkerTask
from qrelay.plugins import TaskContext
from qrelay.worker.api import WorkerChannel

log = logging.getLogger(__name__)

#: Never heartbeat more often than this (seconds), whatever the lease length.
MIN_INTERVAL = 0.2


def seconds_left(expires_at: datetime) -> float:
    """Seconds until ``expires_at`` (naive datetimes are read as UTC)."""
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return (expires_at - datetime.now(UTC)).total_seconds()


class Heartbeat:
    """A daemon thread that extends one task's lease until :meth:`stop`."""

    def __init__(self, api: WorkerChannel, task: WorkerTask, ctx: TaskContext, interval: float):
        self.api = api
        self.task = task
        self.ctx = ctx
        self.interval = interval
        self.expires_at = task.lease_expires_at
        self.lost = threading.Event()
        self.cancel_requested = threading.Event()
        self._stop = threading.Event()
        # Made by :meth:`start`: a brief task watched by the worker's Pulse has none.
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"qrelay-heartbeat-{self.task.task_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=30)

    def mark_lost(self, reason: str) -> None:
        """The lease is not ours any more: stop the work and drop its result."""
        if not self.lost.is_set():
            log.warning("task %s: lease lost (%s); dropping its work", self.task.task_id, reason)
        self.lost.set()
        self.ctx.cancelled.set()

    def next_wait(self) -> float:
        """Seconds until the next heartbeat is due."""
        return self._next_wait()

    def _next_wait(self) -> float:
        return max(MIN_INTERVAL, min(self.interval, seconds_left(self.expires_at) / 3.0))

    def _loop(self) -> None:
        while not self._stop.wait(self._next_wait()):
            if not self.beat():
                return

    def beat(self) -> bool:
        """Extend the lease once; ``False`` once the lease is lost (stop beating)."""
        try:
            answer = self.api.heartbeat(self.task.task_id, self.task.lease_id)
        except (ConflictError, NotFoundError) as exc:
            self.mark_lost(str(exc))
            return False
        except QRelayError as exc:
            log.warning("task %s: heartbeat failed: %s", self.task.task_id, exc)
            return True
        self.expires_at = answer.lease_expires_at
        if answer.cancel_requested and not self.cancel_requested.is_set():
            log.info("task %s: cancel requested", self.task.task_id)
            self.cancel_requested.set()
            self.ctx.cancelled.set()
        return True


class Pulse:
    """One daemon thread that keeps the lease of the task being watched alive.

    :meth:`watch` and :meth:`unwatch` cost a lock each, and no wake-up of the thread in
    the common case: the thread sleeps until the next heartbeat it knows of is due, and is
    woken only when a newly watched task's heartbeat falls due before that. A task that
    ends before its heartbeat is due sends none; a run of brief tasks watched one after
    the other wakes the thread once. After :meth:`unwatch` returns no heartbeat of that
    task is in flight.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._beating = threading.Lock()
        self._current: Heartbeat | None = None
        #: When the watched task's next heartbeat is due (monotonic seconds).
        self._due = math.inf
        #: When the thread wakes next of its own accord (infinity: it waits to be woken).
        self._wakes = -math.inf
        self._closed = False
        self._thread: threading.Thread | None = None

    def watch(self, beat: Heartbeat) -> None:
        """Keep ``beat``'s lease alive until :meth:`unwatch`."""
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="qrelay-heartbeat", daemon=True
                )
                self._thread.start()
            self._current = beat
            self._due = time.monotonic() + beat.next_wait()
            if self._due < self._wakes:
                self._changed.notify()

    def unwatch(self) -> None:
        """Stop beating for the watched task (waits for a heartbeat in flight). The thread
        is not woken: it finds the task gone when it next wakes."""
        with self._changed:
            self._current = None
        with self._beating:
            pass

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._current = None
            self._changed.notify()

    def _loop(self) -> None:
        with self._changed:
            while not self._closed:
                beat = self._current
                if beat is None:
                    self._wakes = math.inf
                    self._changed.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    # Until it is due, or woken for a task due sooner or to close.
                    self._wakes = self._due
                    self._changed.wait(left)
                    continue
                self._wakes = -math.inf  # beating: a watch meanwhile need not wake it
                with self._beating:
                    self._changed.release()
                    try:
                        going = beat.beat()
                    finally:
                        self._changed.acquire()
                if self._current is beat:
                    if going:
                        self._due = time.monotonic() + beat.next_wait()
                    else:
                        self._current = None
