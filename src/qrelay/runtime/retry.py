"""When and how long the client waits before it tries a request again.

Only failures that say nothing was done are retried: connection errors, and the answers
429, 502, 503 and 504. A refused connection is retried only briefly (``connect_deadline``,
a second by default): a service that is not there should be told at once, not after the
whole budget. A POST is retried only when it carries an idempotency key, so a
replay cannot create a second job. Each wait is exponential with jitter (so many clients
that failed together do not come back together), a ``Retry-After`` from the service is
honoured, and all attempts together stay inside one deadline.

Every retry in qrelay (the client's requests, the worker's requests, its QPU calls and
its lease loop) runs through :func:`call_with_retry` (or :func:`acall_with_retry`), each
call site stating its :class:`RetryPolicy` and which errors it retries.
"""

from __future__ import annotations

import email.utils
import logging
import random
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

import stamina

from qrelay.settings import ClientSettings

logger = logging.getLogger("qrelay.retry")
_T = TypeVar("_T")

#: HTTP statuses that mean "not done, try later".
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` of a response's headers, in seconds, if any."""
    return parse_retry_after(headers.get("retry-after"))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of retrying: how many times, how long in all, and how long between tries.

    ``delay(attempt)`` for attempt 0, 1, 2, ... is drawn uniformly from
    ``[d/2, d]`` with ``d = min(backoff_max, backoff_base * 2**attempt)`` ("equal
    jitter"); a ``Retry-After`` replaces it, but never beyond the deadline.
    """

    max_retries: int = 5
    deadline: float = 60.0
    backoff_base: float = 0.2
    backoff_max: float = 10.0
    connect_deadline: float = 1.0

    @classmethod
    def from_settings(cls, settings: ClientSettings) -> RetryPolicy:
        return cls(
            max_retries=settings.max_retries,
            deadline=settings.retry_deadline,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
            connect_deadline=settings.connect_retry_seconds,
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number ``attempt + 1``."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return random.uniform(ceiling / 2.0, ceiling)

    def next_delay(
        self,
        attempt: int,
        started: float,
        retry_after: float | None = None,
        *,
        deadline: float | None = None,
    ) -> float | None:
        """The sleep before the next try, or ``None`` when the budget is spent.

        ``started`` is the ``time.monotonic()`` of the first try; ``deadline`` replaces
        the policy's own (``connect_deadline`` for a refused connection).
        """
        if attempt >= self.max_retries:
            return None
        wait = self.delay(attempt, retry_after)
        bound = self.deadline if deadline is None else deadline
        if time.monotonic() + wait - started > bound:
            return None
        return wait


#: No retries: one try, its failure raised as it is.
NO_RETRY: Final = RetryPolicy(max_retries=0)
#: No limit on tries or time: for loops that go on until told to stop.
UNBOUNDED: Final = sys.maxsize


class _Budget:
    """The backoff hook stamina asks after each failure of one call: retry or not, and
    after how long.

    stamina decides nothing itself here (it runs with no attempt or time limit): the
    policy's count, deadline, jitter and ``Retry-After`` all apply through this hook, so
    every retry in qrelay is bounded the same way.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        retry_on: Callable[[Exception], bool],
        deadline_of: Callable[[Exception], float | None] | None,
        stop: threading.Event | None,
        what: str,
        level: int,
    ) -> None:
        self.policy = policy
        self.level = level
        self.retry_on = retry_on
        self.deadline_of = deadline_of
        self.stop = stop
        self.what = what
        self.started = time.monotonic()
        self.retries = 0

    def __call__(self, exc: BaseException) -> bool | float:
        # stamina hands the hook any exception; only an ``Exception`` is ever retried
        if not isinstance(exc, Exception) or not self.retry_on(exc):
            return False
        if self.stop is not None and self.stop.is_set():
            return False
        carried = getattr(exc, "retry_after", None)
        retry_after = (
            float(carried)
            if isinstance(carried, int | float) and not isinstance(carried, bool)
            else None
        )
        bound = self.deadline_of(exc) if self.deadline_of is not None else None
        delay = self.policy.next_delay(self.retries, self.started, retry_after, deadline=bound)
        if delay is None:
            return False
        logger.log(
            self.level,
            "%s failed (%s); retrying in %.2f s (retry %d)",
            self.what,
            exc,
            delay,
            self.retries + 1,
        )
        self.retries += 1
        if self.stop is None:
            return delay
        # The pause is spent waiting on the event, so a stop ends it at once; stamina then
        # makes the next try with no further pause.
        return False if self.stop.wait(delay) else 0.0


def call_with_retry(
    call: Callable[[], _T],
    policy: RetryPolicy,
    *,
    retry_on: Callable[[Exception], bool],
    deadline_of: Callable[[Exception], float | None] | None = None,
    stop: threading.Event | None = None,
    what: str = "call",
    level: int = logging.INFO,
) -> _T:
    """``call()``, tried again under ``policy`` while it raises what ``retry_on`` accepts.

    Each pause is the policy's jittered backoff, or the ``retry_after`` (seconds) the error
    carries; no pause reaches past the deadline, which ``deadline_of(error)`` may replace
    for one kind of error (a refused connection's short one). Once the budget is spent,
    or for an error ``retry_on`` refuses, the last error is raised as it is. With
    ``stop``, pauses wait on the event, and once it is set the last error is raised at
    once (the caller tells a stop from a failure by its event). Each retry is logged as
    ``what`` at ``level``.

    Built on ``stamina``, so its test mode (``stamina.set_testing``: no pauses, fewer
    tries) applies, and so do its retry hooks: by default they log each retry to the
    ``stamina`` logger at WARNING (and count it, with ``prometheus_client`` installed).
    Which hooks run is the application's choice (``stamina.instrumentation``); the
    ``qrelay`` command turns them off, having its own log lines.
    """
    budget = _Budget(
        policy, retry_on=retry_on, deadline_of=deadline_of, stop=stop, what=what, level=level
    )
    for attempt in stamina.retry_context(on=budget, attempts=None, timeout=None):
        with attempt:
            return call()
    raise AssertionError("stamina ended without a result or an error")  # pragma: no cover


async def acall_with_retry(
    call: Callable[[], Awaitable[_T]],
    policy: RetryPolicy,
    *,
    retry_on: Callable[[Exception], bool],
    deadline_of: Callable[[Exception], float | None] | None = None,
    what: str = "call",
    level: int = logging.INFO,
) -> _T:
    """:func:`call_with_retry` for a coroutine: the pauses are ``asyncio`` sleeps."""
    budget = _Budget(
        policy, retry_on=retry_on, deadline_of=deadline_of, stop=None, what=what, level=level
    )
    async for attempt in stamina.retry_context(on=budget, attempts=None, timeout=None):
        with attempt:
            return await call()
    raise AssertionError("stamina ended without a result or an error")  # pragma: no cover
