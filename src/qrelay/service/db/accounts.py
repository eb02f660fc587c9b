"""Accounts: who holds a token, users and their balances, workers and their tokens.

Every change of an account is audited in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    RowMapping,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from qrelay.payload import (
    MAX_PRIORITY,
    Role,
    UpdateUserDetails,
    UserInfo,
    UserQuery,
    WorkerInfo,
)
from qrelay.service import money
from qrelay.service.auth import UserPrincipal, WorkerPrincipal, hash_token, same_hash
from qrelay.service.db import audit as audit_log
from qrelay.service.db.base import StoreBase, aware, expired, record_audit, utcnow
from qrelay.service.db.engine import new_id, read, rows, write
from qrelay.service.db.tables import users, workers
from qrelay.service.problems import ApiError


class AccountStore(StoreBase):
    """The store's account operations."""

    def principal(self, token: str) -> UserPrincipal | WorkerPrincipal | None:
        """Who holds ``token``, or None. Inactive users and workers, and expired tokens,
        hold nothing."""
        digest = {"digest": hash_token(token)}
        with read(self.engine) as conn:
            found = rows(conn, self._sql.user_by_token, digest)
            if found and same_hash(found[0].token_hash, digest["digest"]):
                row = found[0]
                if expired(row.token_expires_at):
                    return None
                return UserPrincipal(row.id, row.email, Role(row.role))
            found = rows(conn, self._sql.worker_by_token, digest)
            if found and same_hash(found[0].token_hash, digest["digest"]):
                wrow = found[0]
                if expired(wrow.token_expires_at):
                    return None
                return WorkerPrincipal(wrow.id, wrow.name, frozenset(wrow.targets))
        return None

    @staticmethod
    def _user_info(row: RowMapping | Any) -> UserInfo:
        role = Role(row.role)
        return UserInfo(
            user_id=row.id,
            name=row.name,
            email=row.email,
            role=role,
            balance=money.from_micros(row.balance_micros),
            max_priority=MAX_PRIORITY[role],
            active=row.active,
        )

    def create_user(
        self,
        *,
        name: str,
        email: str,
        role: Role,
        balance: float,
        token: str,
        actor: UserPrincipal | None,
        token_expires_at: datetime | None = None,
    ) -> UserInfo:
        """A new user holding ``token`` (until ``token_expires_at``, if given); 409 if the
        email is taken."""
        user_id = new_id()
        try:
            with write(self.engine) as conn:
                conn.execute(
                    insert(users).values(
                        id=user_id,
                        name=name,
                        email=email,
                        role=role.value,
                        balance_micros=money.to_micros(balance),
                        active=True,
                        token_hash=hash_token(token),
                        token_expires_at=token_expires_at,
                        created_at=utcnow(),
                    )
                )
                audit_log.record(
                    conn,
                    actor,
                    "user.create",
                    user_id,
                    after={"name": name, "email": email, "role": role.value, "balance": balance},
                )
                row = conn.execute(select(users).where(users.c.id == user_id)).one()
        except IntegrityError as exc:
            raise ApiError(409, "conflict", f"email: a user with email {email!r} exists") from exc
        return self._user_info(row)

    def get_user(self, user_id: str) -> UserInfo:
        with read(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise ApiError(404, "not_found", f"user_id: no user {user_id!r}")
        return self._user_info(row)

    def list_users(self, query: UserQuery) -> list[UserInfo]:
        stmt = select(users).order_by(users.c.created_at, users.c.id)
        if query.name is not None:
            stmt = stmt.where(users.c.name == query.name)
        if query.email is not None:
            stmt = stmt.where(users.c.email == query.email)
        if query.role is not None:
            stmt = stmt.where(users.c.role == query.role.value)
        if query.user_id is not None:
            stmt = stmt.where(users.c.id == query.user_id)
        with read(self.engine) as conn:
            return [self._user_info(r) for r in conn.execute(stmt)]

    def update_user(
        self, user_id: str, details: UpdateUserDetails, actor: UserPrincipal
    ) -> UserInfo:
        values: dict[str, Any] = {}
        if details.name is not None:
            values["name"] = details.name
        if details.role is not None:
            values["role"] = details.role.value
        if details.balance is not None:
            values["balance_micros"] = money.to_micros(details.balance)
        if details.active is not None:
            values["active"] = details.active
        with write(self.engine) as conn:
            old = conn.execute(select(users).where(users.c.id == user_id)).first()
            if old is None:
                raise ApiError(404, "not_found", f"user_id: no user {user_id!r}")
            if values:
                conn.execute(update(users).where(users.c.id == user_id).values(**values))
            before = self._user_info(old).model_dump(mode="json")
            after = details.model_dump(mode="json", exclude_none=True)
            audit_log.record(
                conn, actor, "user.update", user_id, **audit_log.changed(before, after)
            )
            row = conn.execute(select(users).where(users.c.id == user_id)).one()
        return self._user_info(row)

    def set_user_token(
        self,
        user_id: str,
        token: str | None,
        actor: UserPrincipal | None,
        token_expires_at: datetime | None = None,
    ) -> UserInfo:
        """Give the user ``token`` (until ``token_expires_at``, if given), or with None no
        token at all (revoked); the old one stops working."""
        digest = None if token is None else hash_token(token)
        with write(self.engine) as conn:
            done = conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(token_hash=digest, token_expires_at=token_expires_at)
            )
            if done.rowcount == 0:
                raise ApiError(404, "not_found", f"user_id: no user {user_id!r}")
            action = "user.token" if token is not None else "user.token_revoke"
            record_audit(conn, actor, action, user_id, _expiry_detail(token_expires_at))
            row = conn.execute(select(users).where(users.c.id == user_id)).one()
        return self._user_info(row)

    def balance(self, user_id: str) -> float:
        """The user's balance in units (exact to a micro-unit; see :mod:`..money`)."""
        with read(self.engine) as conn:
            value = conn.execute(
                select(users.c.balance_micros).where(users.c.id == user_id)
            ).scalar()
        return money.from_micros(int(value or 0))

    def create_worker(
        self,
        name: str,
        targets: Sequence[str],
        token: str,
        actor: UserPrincipal | None,
        token_expires_at: datetime | None = None,
    ) -> str:
        unknown = [t for t in targets if self.catalog.get(t) is None]
        if unknown:
            raise ApiError(422, "validation_error", f"targets: unknown target(s) {unknown}")
        worker_id = new_id()
        with write(self.engine) as conn:
            conn.execute(
                insert(workers).values(
                    id=worker_id,
                    name=name,
                    targets=list(targets),
                    active=True,
                    token_hash=hash_token(token),
                    token_expires_at=token_expires_at,
                    created_at=utcnow(),
                )
            )
            audit_log.record(
                conn,
                actor,
                "worker.create",
                worker_id,
                after={"name": name, "targets": list(targets)},
            )
        return worker_id

    def list_workers(self) -> list[WorkerInfo]:
        """Every registered worker, revoked ones included, oldest first."""
        stmt = select(workers).order_by(workers.c.created_at, workers.c.id)
        with read(self.engine) as conn:
            return [_worker_info(row) for row in conn.execute(stmt)]

    def set_worker_token(
        self,
        worker_id: str,
        token: str,
        actor: UserPrincipal | None,
        *,
        active: bool,
        token_expires_at: datetime | None = None,
    ) -> WorkerInfo:
        """Replace the worker's token; the old one stops working (404 for no such worker).

        With ``active`` the worker serves again with ``token`` (a rotation); without, the
        worker is revoked: ``token`` is a fresh secret nobody is given, and its leases
        run out as any lease of a worker that went away.
        """
        with write(self.engine) as conn:
            done = conn.execute(
                update(workers)
                .where(workers.c.id == worker_id)
                .values(
                    token_hash=hash_token(token), token_expires_at=token_expires_at, active=active
                )
            )
            if done.rowcount == 0:
                raise ApiError(404, "not_found", f"worker_id: no worker {worker_id!r}")
            action = "worker.token" if active else "worker.revoke"
            record_audit(conn, actor, action, worker_id, _expiry_detail(token_expires_at))
            row = conn.execute(select(workers).where(workers.c.id == worker_id)).one()
        return _worker_info(row)


def _worker_info(row: RowMapping | Any) -> WorkerInfo:
    return WorkerInfo(
        worker_id=row.id,
        name=row.name,
        targets=list(row.targets),
        active=row.active,
        token_expires_at=aware(row.token_expires_at),
    )


def _expiry_detail(at: datetime | None) -> dict[str, Any]:
    return {} if at is None else {"token_expires_at": at.isoformat()}
