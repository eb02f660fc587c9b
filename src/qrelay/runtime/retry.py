"""When and how long the client waits before it tries a request again.

Only failures that say nothing was done are retried: connection errors, and the answers
429, 502, 503 and 504. A refused connection is retried only briefly (``connect_deadline``,
a second by default): a service that is not there should be told at once, not after the
whole budget. A POST is retried only when it carries an idempotency key, so a
replay cannot create a second job. Each wait is exponential with jitter (so many clients
that failed together do not come back together), a ``Retry-After`` from the service is
honoured, and all attempts together stay inside one deadline.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from qrelay.settings import ClientSettings

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
