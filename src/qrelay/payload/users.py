"""Users, roles, tokens and balances."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import EmailStr, Field

from qrelay.payload._base import WireModel
from qrelay.payload.bounds import MAX_BALANCE, Name


class Role(str, Enum):
    """What a user may do. Each role carries a maximum priority (see :data:`MAX_PRIORITY`)."""

    USER = "user"
    PRIORITY = "priority"
    ADMIN = "admin"


#: The highest job priority each role may ask for (higher runs first).
MAX_PRIORITY: dict[Role, int] = {Role.USER: 5, Role.PRIORITY: 8, Role.ADMIN: 10}


class NewUser(WireModel):
    """An admin's request to create a user."""

    name: Name
    email: EmailStr
    role: Role = Role.USER
    balance: Annotated[float, Field(ge=0, le=MAX_BALANCE)] = 0.0


class UserInfo(WireModel):
    """A user as the service shows it. Tokens are never shown here."""

    user_id: str
    name: str
    email: str
    role: Role
    balance: float
    max_priority: int
    active: bool = True


class UserQuery(WireModel):
    """Filters of ``GET /v1/users``; a field left ``None`` does not filter."""

    name: str | None = None
    email: str | None = None
    role: Role | None = None
    user_id: str | None = None


class UpdateUserDetails(WireModel):
    """An admin's change to a user; fields left ``None`` stay as they are."""

    name: Name | None = None
    role: Role | None = None
    balance: Annotated[float, Field(ge=0, le=MAX_BALANCE)] | None = None
    active: bool | None = None


class UserTokenResponse(WireModel):
    """A new user's (or a regenerated) token. Shown once; the service stores only a hash."""

    user_id: str
    email: str
    token: str
    #: When the token stops working (``ServiceSettings.user_token_days``); None: never.
    token_expires_at: datetime | None = None


class BalanceResponse(WireModel):
    """A user's balance, in the same unit as targets' ``price_per_shot``."""

    balance: float
