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
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

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
    """The limits of each kind of principal, and the counters they are checked against."""

    def __init__(self, limits: dict[str, list[RateLimitItem]], storage_url: str) -> None:
        self.limits = limits
        url = storage_url if storage_url.startswith("async+") else "async+" + storage_url
        try:
            storage = storage_from_string(url)
        except Exception as exc:  # limits raises several kinds for a URL it cannot use
            raise ConfigurationError(f"rate_limit_storage: {storage_url!r}: {exc}") from None
        self.limiter = SlidingWindowCounterRateLimiter(storage)

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
            if not await self.limiter.hit(item, kind, key):
                stats = await self.limiter.get_window_stats(item, kind, key)
                raise ApiError(
                    429,
                    "rate_limited",
                    f"too many requests with this token: the {kind} limit is {item}",
                    retry_after=max(1.0, stats.reset_time - time.time()),
                )
