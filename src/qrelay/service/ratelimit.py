"""Per-token request limits, by the role of the token's holder, counted with ``limits``.

Each authenticated request counts against its principal (a user or a worker, one token
each) under the limits of its role (``ServiceSettings.rate_limit_*``). Over a limit the
answer is 429 ``rate_limited`` with ``Retry-After``. Counts live in this process unless
``rate_limit_storage`` names a store that replicas share.

In this process the counts are kept here (:class:`_Windows`), not in the library's
memory storage: that storage starts a timer thread to expire its counts whenever its
last one has ended, which under a steady stream of requests is a thread start for most
of them, a measurable share of the service's CPU per job (see "Design measurements" in
``docs/performance.md``).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Final

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindowRateLimiter
from limits.storage import storage_from_string

from qrelay.errors import ConfigurationError
from qrelay.service.auth import UserPrincipal, WorkerPrincipal
from qrelay.service.problems import ApiError

if TYPE_CHECKING:
    from qrelay.settings import ServiceSettings

#: The settings that hold each kind's limits (users of the ``priority`` role count as users).
_SETTINGS = {"user": "rate_limit_user", "admin": "rate_limit_admin", "worker": "rate_limit_worker"}
#: Past this many counters, those whose window has ended are dropped (one pass).
_PRUNE_AT: Final = 10_000


class _Windows:
    """Fixed-window counters in this process, as the library's fixed-window strategy keeps
    them: a window opens with a key's first hit and lasts the limit's period; a hit over
    the limit is refused. Expired counters are dropped when there are many, so nothing
    runs between requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, item: RateLimitItem, kind: str, key: str) -> float | None:
        """Count one hit; None when it is within the limit, else when the window ends."""
        name = item.key_for(kind, key)
        now = time.time()
        with self._lock:
            found = self._counts.get(name)
            if found is None or found[0] <= now:
                if len(self._counts) >= _PRUNE_AT:
                    self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
                found = (now + item.get_expiry(), 0)
            ends, count = found
            if count >= item.amount:
                return ends
            self._counts[name] = (ends, count + 1)
        return None


def _parse(setting: str, text: str) -> list[RateLimitItem]:
    if not text.strip():
        return []
    try:
        return list(parse_many(text))
    except ValueError as exc:
        raise ConfigurationError(
            f"{setting}: {text!r} is not a rate limit such as '20/second;600/minute' ({exc})"
        ) from None


class RateLimits:
    """The limits of each kind of principal, and the counters they are checked against.

    Counts are kept in fixed windows (the cheapest of the library's strategies; a burst
    across a window's edge may reach twice the limit). In-process counts are kept by
    :class:`_Windows`, which never waits; a shared store is used through the library's
    asynchronous API, so a round trip to it does not hold up the event loop.
    """

    def __init__(self, limits: dict[str, list[RateLimitItem]], storage_url: str) -> None:
        self.limits = limits
        self._local: _Windows | None = None
        self._shared: AsyncFixedWindowRateLimiter | None = None
        try:
            if storage_url.startswith("memory://"):
                self._local = _Windows()
            else:
                url = storage_url if storage_url.startswith("async+") else "async+" + storage_url
                self._shared = AsyncFixedWindowRateLimiter(storage_from_string(url))
        except Exception as exc:  # limits raises several kinds for a URL it cannot use
            raise ConfigurationError(f"rate_limit_storage: {storage_url!r}: {exc}") from None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RateLimits:
        limits = {kind: _parse(name, getattr(settings, name)) for kind, name in _SETTINGS.items()}
        return cls(limits, settings.rate_limit_storage)

    async def check(self, principal: UserPrincipal | WorkerPrincipal) -> None:
        """Count one request of ``principal``; 429 with ``Retry-After`` when over a limit."""
        if isinstance(principal, WorkerPrincipal):
            kind, key = "worker", principal.worker_id
        else:
            kind, key = ("admin" if principal.is_admin else "user"), principal.user_id
        for item in self.limits[kind]:
            if self._local is not None:
                ends = self._local.hit(item, kind, key)
                if ends is None:
                    continue
                reset = ends
            else:
                assert self._shared is not None
                if await self._shared.hit(item, kind, key):
                    continue
                reset = (await self._shared.get_window_stats(item, kind, key)).reset_time
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests with this token: the {kind} limit is {item}",
                retry_after=max(1.0, reset - time.time()),
            )
