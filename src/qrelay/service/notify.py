"""In-process wake-ups for long polls: a job waiter or a leasing worker sleeps until a
writer in this process says something changed, or a bounded poll interval passes.

Waiters subscribe *before* they look at the database, so a change committed between
their look and their sleep still wakes them. A waiter is either a coroutine on some event
loop (:meth:`Notifier.subscribe`; the wake-up is handed to its own loop with
``call_soon_threadsafe``) or a thread (:meth:`Notifier.subscribe_blocking`, used by the
embedded default's workers, which call the store directly). Writers run in any thread; a
key nobody waits on costs one dictionary lookup.

With several service processes on one PostgreSQL, the keys travel between them with
``LISTEN``/``NOTIFY`` (:mod:`qrelay.service.pgnotify`); the poll interval bounds the delay
should that relay be down, and on SQLite the delay of a change made by another process
(the command line).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator


class Signal(asyncio.Event):
    """An ``asyncio.Event`` that keeps what a notification sent along (``value``).

    A result that ends a job sends the job's ``JobData`` JSON to the long polls waiting on
    it (see ``Store.post_result``), which then answer without reading it back.
    """

    value: bytes | None = None


class _LoopEvent:
    """A :class:`Signal` and the loop it belongs to (set from any thread)."""

    __slots__ = ("event", "loop")

    def __init__(self) -> None:
        self.event = Signal()
        self.loop = asyncio.get_running_loop()

    def set(self, value: bytes | None = None) -> None:
        # The value is kept at once: a waiter that is not asleep (it made the change
        # itself, on its own loop) finds it before the wake-up is delivered.
        if value is not None:
            self.event.value = value
        call_on(self.loop, self.event.set)


def call_on(loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: object) -> None:
    """Run ``fn(*args)`` on ``loop``'s thread, from any thread: at once when the caller
    runs on that loop (no wake-up through its self-pipe), else handed to it; nothing when
    the loop has closed (nobody is left to wake)."""
    try:
        here = asyncio.get_running_loop() is loop
    except RuntimeError:
        here = False
    if here:
        fn(*args)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(fn, *args)


class Notifier:
    """Wakes long polls waiting on keys such as ``job:<id>`` or ``target:<name>``."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[_LoopEvent | threading.Event]] = {}
        self._lock = threading.Lock()
        self._hooks: list[Callable[[str], None]] = []

    def on_notify(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(key)`` for every key notified from now on, in the writer's thread,
        after the waiters are woken (the embedded default starts a target's worker when a
        ``target:<name>`` is first notified). A hook must return at once."""
        self._hooks.append(hook)

    @contextlib.contextmanager
    def _subscribed(
        self, keys: Iterable[str], waiter: _LoopEvent | threading.Event
    ) -> Iterator[None]:
        keys = list(keys)
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(waiter)
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    waiting = self._waiters.get(key)
                    if waiting is not None:
                        waiting.discard(waiter)
                        if not waiting:
                            del self._waiters[key]

    @contextlib.contextmanager
    def subscribe(self, keys: Iterable[str]) -> Iterator[Signal]:
        """An event (of the running loop) set when any of ``keys`` is notified."""
        waiter = _LoopEvent()
        with self._subscribed(keys, waiter):
            yield waiter.event

    @contextlib.contextmanager
    def subscribe_blocking(self, keys: Iterable[str]) -> Iterator[threading.Event]:
        """The same for a thread: a ``threading.Event`` set when any key is notified."""
        waiter = threading.Event()
        with self._subscribed(keys, waiter):
            yield waiter

    def waiting(self, key: str) -> bool:
        """Whether anything in this process waits on ``key`` now (a worker's lease on
        ``target:<name>``, a long poll on ``job:<id>``)."""
        with self._lock:
            return bool(self._waiters.get(key))

    def notify(self, *keys: str, value: bytes | None = None) -> None:
        """Wake everything waiting on ``keys``, and tell the hooks (:meth:`on_notify`);
        safe from any thread. Coroutines find ``value`` on their :class:`Signal`."""
        self.wake(*keys, value=value)
        for hook in self._hooks:
            for key in keys:
                hook(key)

    def wake(self, *keys: str, value: bytes | None = None) -> None:
        """Wake what waits on ``keys`` in this process, and tell no hook (for keys that
        came from another process, see :mod:`qrelay.service.pgnotify`)."""
        with self._lock:
            waiters = {w for key in keys for w in self._waiters.get(key, ())}
        for waiter in waiters:
            if isinstance(waiter, _LoopEvent):
                waiter.set(value)
            else:
                waiter.set()


async def sleep_until(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True if it was set.

    The wait is the event's own future, awaited by the calling task under a deadline, so a
    wake-up resumes the waiter at the loop's next turn (``asyncio.wait_for`` would wrap the
    wait in a task of its own, resumed two turns later).
    """
    if event.is_set():
        return True
    if timeout <= 0:
        return False
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
