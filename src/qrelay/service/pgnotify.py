"""Wake-ups across service processes on one PostgreSQL, with ``LISTEN``/``NOTIFY``.

A :class:`~qrelay.service.notify.Notifier` wakes the long polls and leasing workers of its
own process. With several ``qrelay serve`` replicas on one database, a job queued through
replica A must wake a worker waiting on replica B, and a result posted through B the
client's long poll on A. :class:`PostgresRelay` carries every key a process notifies to
the others: a sender thread sends the keys with ``pg_notify`` (several per round trip),
and a listener thread, on a connection of its own that ``LISTEN``\\ s, wakes this process's
waiters with the keys the other processes sent (:meth:`Notifier.wake`, which relays
nothing back).

The channel is named after the database schema, so deployments sharing one server in
separate schemas do not wake each other. A key reaches the other processes when the
writer's transaction has committed (the store notifies after its commit). If the relay's
connection fails, waiters still see changes at the service's poll interval; the relay
reconnects after a pause.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from qrelay.service.notify import Notifier

log = logging.getLogger(__name__)

#: The most keys one ``pg_notify`` round trip sends.
_BATCH: Final = 100  # a payload stays well under PostgreSQL's 8,000 bytes
#: How long the sender waits after a key for more to send with it (seconds): under load
#: a round trip carries the keys of many commits instead of one, and every process's
#: listener wakes once for them; a waiter on another replica hears of a change this much
#: later, far inside the poll interval that it would otherwise wait.
_LINGER: Final = 0.005
#: How often the listener looks up from its wait, to notice that it should stop.
_LISTEN_TICK: Final = 0.5
#: The pause before a failed relay connection is opened again.
_RECONNECT_PAUSE: Final = 2.0
_STOP: Final = object()
#: Between the origin and the keys of one message (no key holds a control character).
_SEP: Final = "\x1f"


def _psycopg_url(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string (no driver name)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresRelay:
    """Relays the keys a :class:`Notifier` sends to every process on the same database."""

    def __init__(self, notifier: Notifier, database_url: str) -> None:
        self._notifier = notifier
        self._dsn = _psycopg_url(database_url)
        #: Marks this process's own messages, which its listener skips.
        self._origin = uuid.uuid4().hex[:12]
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._channel: str | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the listener and the sender, and relay what the notifier sends from now."""
        for name, target in (("listen", self._listen), ("send", self._send)):
            thread = threading.Thread(target=target, name=f"qrelay-pg-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        self._notifier.on_notify(self.publish)

    def publish(self, key: str) -> None:
        """Queue ``key`` for the other processes (returns at once; any thread)."""
        if not self._stopping.is_set():
            self._outbox.put(key)

    def close(self, timeout: float = 2.0) -> None:
        """Stop both threads (what is still queued is not sent)."""
        self._stopping.set()
        self._outbox.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)

    # ------------------------------------------------------------------ threads
    def _connect(self) -> tuple[Any, str]:
        """A new autocommit connection, and the channel (named after its schema)."""
        import psycopg

        conn = psycopg.connect(self._dsn, autocommit=True)
        if self._channel is None:
            schema = conn.execute("SELECT current_schema()").fetchone()
            self._channel = f"qrelay_{schema[0] if schema else 'public'}"[:63]
        return conn, self._channel

    def _listen(self) -> None:
        from psycopg import sql

        while not self._stopping.is_set():
            try:
                conn, channel = self._connect()
                with conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=_LISTEN_TICK):
                            self._deliver(note.payload)
            except Exception as exc:  # the database went away: poll until it is back
                if self._stopping.is_set():
                    return
                log.warning("notification relay: listening failed (%s); retrying", exc)
                self._stopping.wait(_RECONNECT_PAUSE)

    def _deliver(self, payload: str) -> None:
        origin, _, keys = payload.partition(_SEP)
        if origin != self._origin and keys:
            self._notifier.wake(*keys.split(_SEP))

    def _send(self) -> None:
        conn: Any = None
        while True:
            first = self._outbox.get()
            if first is _STOP:
                break
            keys = {str(first)}
            self._stopping.wait(_LINGER)
            while len(keys) < _BATCH:
                try:
                    more = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._outbox.put(_STOP)
                    break
                keys.add(str(more))
            try:
                if conn is None:
                    conn, channel = self._connect()
                conn.execute(
                    "SELECT pg_notify(%s, %s)", (channel, _SEP.join([self._origin, *sorted(keys)]))
                )
            except Exception as exc:  # dropped: the other processes' polls still see it
                log.warning("notification relay: sending failed (%s)", exc)
                if conn is not None:
                    conn.close()
                conn = None
                self._stopping.wait(_RECONNECT_PAUSE)
        if conn is not None:
            conn.close()
