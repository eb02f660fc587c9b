"""The one retry helper every retrying call site uses: what it retries, how long it waits,
and when it gives up."""

from __future__ import annotations

import threading
import time

import pytest

from qrelay.errors import ConfigurationError, RateLimitedError, TransportError
from qrelay.runtime.retry import NO_RETRY, RetryPolicy, acall_with_retry, call_with_retry

FAST = RetryPolicy(max_retries=3, deadline=5.0, backoff_base=0.01, backoff_max=0.02)


class _Flaky:
    """Fails with the given errors in turn, then answers ``"done"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def _transport(exc: Exception) -> bool:
    return isinstance(exc, TransportError)


def test_retries_what_it_should_until_it_succeeds() -> None:
    flaky = _Flaky(TransportError("down"), TransportError("down"))
    assert call_with_retry(flaky, FAST, retry_on=_transport) == "done"
    assert flaky.calls == 3


def test_gives_up_after_the_policy_s_retries_with_the_last_error() -> None:
    flaky = _Flaky(*[TransportError(f"down {n}") for n in range(5)])
    with pytest.raises(TransportError, match="down 3"):
        call_with_retry(flaky, FAST, retry_on=_transport)
    assert flaky.calls == FAST.max_retries + 1


def test_does_not_retry_what_it_should_not() -> None:
    flaky = _Flaky(ConfigurationError("bad URL"))
    with pytest.raises(ConfigurationError):
        call_with_retry(flaky, FAST, retry_on=_transport)
    assert flaky.calls == 1
    once = _Flaky(TransportError("down"))
    with pytest.raises(TransportError):
        call_with_retry(once, NO_RETRY, retry_on=_transport)
    assert once.calls == 1


def test_honours_a_retry_after_but_never_past_the_deadline() -> None:
    def limited(exc: Exception) -> bool:
        return isinstance(exc, RateLimitedError)

    short = _Flaky(RateLimitedError("slow down", status=429, retry_after=0.3))
    started = time.monotonic()
    assert call_with_retry(short, FAST, retry_on=limited) == "done"
    assert time.monotonic() - started >= 0.3
    long = _Flaky(RateLimitedError("slow down", status=429, retry_after=30.0))
    started = time.monotonic()
    with pytest.raises(RateLimitedError):
        call_with_retry(long, FAST, retry_on=limited)
    assert long.calls == 1
    assert time.monotonic() - started < 1.0


def test_a_kind_of_error_may_have_a_shorter_deadline() -> None:
    policy = RetryPolicy(max_retries=1000, deadline=30.0, backoff_base=0.05, backoff_max=0.05)
    flaky = _Flaky(*[ConnectionRefusedError() for _ in range(1000)])
    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        call_with_retry(
            flaky,
            policy,
            retry_on=lambda exc: isinstance(exc, ConnectionRefusedError),
            deadline_of=lambda exc: 0.3,
        )
    assert 0.2 < time.monotonic() - started < 2.0
    assert flaky.calls > 2


def test_a_stop_ends_the_wait_at_once() -> None:
    policy = RetryPolicy(max_retries=10, deadline=60.0, backoff_base=20.0, backoff_max=20.0)
    stop = threading.Event()
    flaky = _Flaky(*[TransportError("down") for _ in range(10)])
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(TransportError):
        call_with_retry(flaky, policy, retry_on=_transport, stop=stop)
    assert time.monotonic() - started < 5.0
    assert flaky.calls == 1


async def test_a_coroutine_is_retried_the_same_way() -> None:
    flaky = _Flaky(TransportError("down"), ConfigurationError("bad"))

    async def call() -> str:
        return flaky()

    with pytest.raises(ConfigurationError):
        await acall_with_retry(call, FAST, retry_on=_transport)
    assert flaky.calls == 2
