"""Per-token request limits, by the role of the token's holder, counted with ``limits``.

Each authenticated request counts against its principal (a user or a worker, one token
each) under the limits of its role (``ServiceSettings.rate_limit_*``). Over a limit the
answer is 429 ``rate_limited`` with ``Retry-After``. Counts live in this process unless
``rate_limit_storage`` names a store that replicas share.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindowRateLimiter
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from qrelay.errors import ConfigurationError
from qrelay.service.auth import UserPrincipal, WorkerPrincipal
from qrelay.service.problems import ApiError

if TYPE_CHECKING:
    from qrelay.settings import ServiceSettings

#: The settings that hold each kind's limits (users of the ``priority`` role count as users).
_SETTINGS = {"user": "rate_limit_user", "admin": "rate_limit_admin", "worker": "rate_limit_worker"}


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
    across a window's edge may reach twice the limit). In-process counts are kept with the
    library's synchronous storage, which never waits; a shared store is used through its
    asynchronous API, so a round trip to it does not hold up the event loop.
    """

    def __init__(self, limits: dict[str, list[RateLimitItem]], storage_url: str) -> None:
        self.limits = limits
        self._local: FixedWindowRateLimiter | None = None
        self._shared: AsyncFixedWindowRateLimiter | None = None
        try:
            if storage_url.startswith("memory://"):
                self._local = FixedWindowRateLimiter(storage_from_string(storage_url))
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
                if self._local.hit(item, kind, key):
                    continue
                reset = self._local.get_window_stats(item, kind, key).reset_time
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
