"""What the admin routes and the console's admin pages do to users and workers.

Each call changes the store (which writes the audit record) and then drops the
principal cache of this process, so a changed role, a deactivated user or a replaced
token takes effect here at once (other replicas follow within ``auth_cache_seconds``).
New tokens live for ``ServiceSettings.user_token_days`` / ``worker_token_days``.
These are blocking calls: run them through ``ServiceRuntime.offload``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from qrelay.payload import UpdateUserDetails, UserInfo, WorkerTokenResponse
from qrelay.service.auth import WORKER_PREFIX, new_token

if TYPE_CHECKING:
    from qrelay.service.app import ServiceRuntime
    from qrelay.service.auth import UserPrincipal


def expiry(days: float | None) -> datetime | None:
    """When a token issued now expires, for a lifetime of ``days`` (None: never)."""
    return None if days is None else datetime.now(UTC) + timedelta(days=days)


def update_user(
    rt: ServiceRuntime, actor: UserPrincipal, user_id: str, details: UpdateUserDetails
) -> UserInfo:
    """Change a user's name, role, balance or active flag (404 for no such user)."""
    info = rt.store.update_user(user_id, details, actor)
    rt.auth_cache.clear()
    return info


def rotate_worker(rt: ServiceRuntime, actor: UserPrincipal, worker_id: str) -> WorkerTokenResponse:
    """Give a worker a new token (to show once) and let it serve again if it was revoked."""
    token = new_token(WORKER_PREFIX)
    expires = expiry(rt.settings.worker_token_days)
    info = rt.store.set_worker_token(worker_id, token, actor, active=True, token_expires_at=expires)
    rt.auth_cache.clear()
    return WorkerTokenResponse(
        worker_id=info.worker_id,
        name=info.name,
        targets=info.targets,
        token=token,
        token_expires_at=expires,
    )


def revoke_worker(rt: ServiceRuntime, actor: UserPrincipal, worker_id: str) -> None:
    """Revoke a worker: its token stops working and it leases nothing more."""
    secret = new_token(WORKER_PREFIX)  # replaces the old token's hash; nobody is given it
    rt.store.set_worker_token(worker_id, secret, actor, active=False)
    rt.auth_cache.clear()
