"""The retry policy's arithmetic: backoff bounds, the deadline, Retry-After parsing."""

from __future__ import annotations

import email.utils
import time

from qrelay.runtime.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from qrelay.settings import ClientSettings


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(max_retries=10, deadline=1e6, backoff_base=0.1, backoff_max=1.0)
    for attempt in range(8):
        ceiling = min(1.0, 0.1 * 2**attempt)
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter: not the same every time


def test_retry_after_replaces_backoff() -> None:
    policy = RetryPolicy(backoff_base=5.0)
    assert policy.delay(0, retry_after=0.25) == 0.25


def test_budget_ends_at_max_retries_and_deadline() -> None:
    policy = RetryPolicy(max_retries=2, deadline=10.0, backoff_base=0.01)
    now = time.monotonic()
    assert policy.next_delay(0, now) is not None
    assert policy.next_delay(2, now) is None
    assert policy.next_delay(0, now, retry_after=30.0) is None  # past the deadline
    assert policy.next_delay(0, now - 11.0) is None


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-2") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 120, usegmt=True)
    assert 100 <= (parse_retry_after(date, now=now) or 0) <= 121


def test_statuses_and_settings() -> None:
    assert frozenset({429, 502, 503, 504}) == RETRY_STATUSES
    settings = ClientSettings.load(url="http://x", max_retries=7, retry_deadline=3.0)
    policy = RetryPolicy.from_settings(settings)
    assert (policy.max_retries, policy.deadline) == (7, 3.0)
