"""Bearer tokens: made random, stored only as a hash, compared in constant time.

Tokens are 256-bit random strings, so a plain SHA-256 of them is a safe stored form (no
slow password hash is needed: there is nothing to guess). A token never reaches a log.
The prefix tells a user token (``qru_``) from a worker token (``qrw_``) at a glance;
the service still looks each one up, the prefix is only a hint to people.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from qrelay.payload import MAX_PRIORITY, Role

USER_PREFIX = "qru_"
WORKER_PREFIX = "qrw_"


def new_token(prefix: str = USER_PREFIX) -> str:
    """A fresh random token."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two stored hashes."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class UserPrincipal:
    """A user (or admin) the request acts for."""

    user_id: str
    email: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def max_priority(self) -> int:
        return MAX_PRIORITY[self.role]


@dataclass(frozen=True, slots=True)
class WorkerPrincipal:
    """A machine worker and the targets it serves."""

    worker_id: str
    name: str
    targets: frozenset[str]
