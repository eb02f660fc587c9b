"""In-process wake-ups for long polls: a job waiter or a leasing worker sleeps until a
writer in this process says something changed, or a bounded poll interval passes.

Waiters subscribe on the event loop *before* they look at the database, so a change
committed between their look and their sleep still wakes them. Writers run in worker
threads and hand the wake-up to the loop with ``call_soon_threadsafe``; a key nobody
waits on costs one dictionary lookup.

With several service processes on one PostgreSQL, a change made by another process is
seen at the next poll; the poll interval bounds that delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Iterator


class Notifier:
    """Wakes long polls waiting on keys such as ``job:<id>`` or ``target:<name>``."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the app serves on (at start-up)."""
        self._loop = loop

    @contextlib.contextmanager
    def subscribe(self, keys: Iterable[str]) -> Iterator[asyncio.Event]:
        """An event set when any of ``keys`` is notified; subscribe before reading."""
        event = asyncio.Event()
        keys = list(keys)
        with self._lock:
            for key in keys:
                self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                for key in keys:
                    waiting = self._waiters.get(key)
                    if waiting is not None:
                        waiting.discard(event)
                        if not waiting:
                            del self._waiters[key]

    def notify(self, *keys: str) -> None:
        """Wake everything waiting on ``keys``; safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            events = [e for key in keys for e in self._waiters.get(key, ())]
        if events:
            loop.call_soon_threadsafe(_set_all, events)


def _set_all(events: list[asyncio.Event]) -> None:
    for event in events:
        event.set()


async def sleep_until(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True if it was set."""
    if timeout <= 0:
        return event.is_set()
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
