"""Workers waiting in this process for a task, and a new job handed straight to one.

A worker's long poll (``/v1/worker/lease``, or a result that asks to lease the next task)
that found nothing queued waits here as well as on the notifier. A single-circuit job
submitted to this process then takes the longest-waiting of them that serves its target:
the job is stored and its task leased to that worker in one write transaction
(``Store.submit``'s ``lease_by``), and the task is handed to the waiting request. Without
this, storing the job woke the worker, whose request then leased it in a transaction of
its own: one commit and one turn of the loop more on every job's way.

A claimed waiter always gets an answer: the task, or None when no lease was made (an older
job of the target was first in the queue; the submission was refused, or was a replay).
With None it looks in the queue as after any wake-up. A task handed to a request whose
client has gone is reclaimed when its lease expires, as for any leased task.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qrelay.service.notify import call_on, sleep_until

if TYPE_CHECKING:
    from qrelay.service.auth import WorkerPrincipal


class Waiting:
    """One worker's request, waiting for a task of ``targets``."""

    __slots__ = ("_answer", "_changed", "_loop", "claimed", "targets", "worker")

    def __init__(
        self, worker: WorkerPrincipal, targets: Sequence[str], changed: asyncio.Event
    ) -> None:
        self.worker = worker
        self.targets = tuple(targets)
        self.claimed = False
        self._changed = changed
        self._loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[bytes | None] = self._loop.create_future()

    def hand(self, task: bytes | None) -> None:
        """Answer the claimed waiter (from any thread) and wake it."""
        call_on(self._loop, self._settle, task)

    def _settle(self, task: bytes | None) -> None:
        if not self._answer.done():
            self._answer.set_result(task)
        self._changed.set()


class IdleWorkers:
    """The waiting workers of this process, by target, longest-waiting first."""

    def __init__(self) -> None:
        self._by_target: dict[str, list[Waiting]] = {}
        self._lock = threading.Lock()

    async def wait(
        self,
        worker: WorkerPrincipal,
        targets: Sequence[str],
        changed: asyncio.Event,
        timeout: float,
    ) -> bytes | None:
        """Sleep until ``changed`` is set or ``timeout`` passes, ready to be handed a task;
        the task handed over, or None (then the caller looks in the queue)."""
        me = Waiting(worker, targets, changed)
        with self._lock:
            for target in me.targets:
                self._by_target.setdefault(target, []).append(me)
        try:
            await sleep_until(changed, timeout)
        finally:
            claimed = self._withdraw(me)
        if not claimed:
            return None
        # The claimer answers right after its transaction, so this wait is short; it is
        # shielded so that a cancelled request still lets the claimer finish.
        return await asyncio.shield(me._answer)

    def claim(self, target: str) -> Waiting | None:
        """Take the longest-waiting worker of ``target``, if any; it must then be answered
        with :meth:`Waiting.hand`."""
        with self._lock:
            queue = self._by_target.get(target)
            if not queue:
                return None
            me = queue[0]
            self._remove(me)
            me.claimed = True
            return me

    def _withdraw(self, me: Waiting) -> bool:
        """Stop offering ``me``; whether it had been claimed meanwhile."""
        with self._lock:
            if me.claimed:
                return True
            self._remove(me)
            return False

    def _remove(self, me: Waiting) -> None:
        for target in me.targets:
            queue = self._by_target.get(target)
            if queue is not None:
                queue.remove(me)
                if not queue:
                    del self._by_target[target]
