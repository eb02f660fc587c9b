"""The repository: every read and write the service makes, as short transactions.

Each public method is synchronous (the routes run it in a worker thread) and opens at
most one write transaction, so a submission, a lease or a result is one commit. Changes
that a long poll may wait for are announced through the :class:`~qrelay.service.notify.Notifier`
after the commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from qrelay.errors import PayloadError
from qrelay.payload import (
    MAX_PRIORITY,
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    CircuitType,
    JobCancellationResults,
    JobData,
    JobQuery,
    JobType,
    NewJob,
    NewJobResponse,
    Register,
    Role,
    TargetInfo,
    TargetStatus,
    UpdateUserDetails,
    UserInfo,
    UserQuery,
    WorkerInfo,
    WorkerTaskResults,
    WorkerTaskStatus,
    check_target_limits,
    decode_readouts,
    encode_readouts,
    job_status,
)
from qrelay.service import domain, money
from qrelay.service.auth import UserPrincipal, WorkerPrincipal, hash_token, same_hash
from qrelay.service.catalog import Catalog
from qrelay.service.db import audit as audit_log
from qrelay.service.db import fairness, leasing, listing
from qrelay.service.db.engine import read, rows, run, run_many, write
from qrelay.service.db.tables import deployment, jobs, tasks, transitions, users, workers
from qrelay.service.events import StoreEvents
from qrelay.service.notify import Notifier
from qrelay.service.problems import ApiError

log = logging.getLogger(__name__)

S = CircuitStatus
_QUEUED = [s.value for s in domain.QUEUED_STATES]
_ACTIVE = [s.value for s in domain.ACTIVE_STATES]
_TERMINAL = [s.value for s in TERMINAL_CIRCUIT_STATES]
#: How often one worker's ``last_seen_at`` is written at most (seconds).
_SEEN_EVERY = 5.0


class Submitted(NamedTuple):
    """What :meth:`Store.submit` did."""

    #: The ``NewJobResponse`` JSON (without its ``job``).
    response: str
    #: Whether the job is new (False: a replay of an earlier submission with its key).
    created: bool
    #: The ``WorkerTask`` JSON of the task leased to ``lease_by``, if it was.
    task: bytes | None = None
    #: The new job's id (None for a replay or a dry run).
    job_id: str | None = None
    #: Whether the answer waited for the job, and ``response`` carries it as ``job``.
    held: bool = False


#: Room left in a result body for what comes with the readouts (the compiled circuit,
#: layouts, status message): a readout must fit the body limit less this.
_RESULT_HEADROOM = 16 * 1024

#: The ``Retry-After`` of a submission refused because the user has too many jobs
#: unfinished: about how long a few short jobs take to end.
_FULL_QUEUE_RETRY_SECONDS = 5.0


def _one_of(column: Any, values: Sequence[str]) -> Any:
    """``column IN (...)`` of constants, as plain parameters: a prebuilt statement then
    runs without SQLAlchemy expanding the list on every call."""
    return column.in_([literal(v) for v in values])


#: The task columns of a job's answer without its readouts.
_TASK_LIGHT = (
    tasks.c.id,
    tasks.c.job_id,
    tasks.c.circuit_index,
    tasks.c.status,
    tasks.c.status_message,
    tasks.c.shots,
    tasks.c.counts,
    tasks.c.initial_l2p,
    tasks.c.final_l2p,
    tasks.c.execution_id,
    tasks.c.updated_at,
    tasks.c.share,
)


class _Statements:
    """The statements of the hot paths, built once: SQLAlchemy then skips rebuilding them
    and recomputing their cache keys on every call."""

    def __init__(self, postgres: bool) -> None:
        self.insert_job = insert(jobs)
        self.insert_tasks = insert(tasks).returning(tasks.c.id, sort_by_parameter_order=True)
        self.insert_transition = insert(transitions)
        self.find_key = select(jobs.c.request_hash, jobs.c.response).where(
            jobs.c.user_id == bindparam("uid"), jobs.c.idempotency_key == bindparam("key")
        )
        self.balance = select(users.c.balance_micros).where(users.c.id == bindparam("uid"))
        if postgres:
            # The user's row stays locked until the submission commits: two submissions
            # racing for the same money are checked one after the other. (SQLite's write
            # transactions are serial already.)
            self.balance = self.balance.with_for_update()
        # A user's unfinished jobs: how many, and what they may still charge.
        held = case((jobs.c.charged, jobs.c.estimate_micros - jobs.c.cost_micros), else_=0)
        self.unfinished = select(
            func.count().label("jobs"),
            func.coalesce(func.sum(held), 0).label("held"),
            func.coalesce(func.sum(jobs.c.num_circuits), 0).label("circuits"),
        ).where(jobs.c.user_id == bindparam("uid"), ~_one_of(jobs.c.status, _TERMINAL))
        self.job_statuses = select(tasks.c.status).where(tasks.c.job_id == bindparam("jid"))
        self.set_job_status = (
            update(jobs)
            .where(jobs.c.id == bindparam("jid"))
            .values(status=bindparam("st"), updated_at=bindparam("now"))
        )
        self.update_task = update(tasks).where(tasks.c.id == bindparam("tid"))
        self.expired = select(
            tasks.c.id,
            tasks.c.lease_id,
            tasks.c.status,
            tasks.c.queue_status,
            tasks.c.attempt,
            tasks.c.max_attempts,
            tasks.c.job_id,
            tasks.c.target,
        ).where(tasks.c.lease_expires_at < bindparam("now"), _one_of(tasks.c.status, _ACTIVE))
        self.lease_job = select(
            jobs.c.num_circuits,
            jobs.c.job_type,
            jobs.c.sim_method,
            jobs.c.verbatim,
            jobs.c.memory,
            jobs.c.meas_level,
            jobs.c.options,
            jobs.c.submitted_at,
        ).where(jobs.c.id == bindparam("jid"))
        task_cols = [
            tasks.c.id,
            tasks.c.job_id,
            tasks.c.target,
            tasks.c.status,
            tasks.c.lease_id,
            tasks.c.lease_expires_at,
            tasks.c.cancel_requested,
            tasks.c.num_rows,
            tasks.c.shots,
            tasks.c.queue_status,
            tasks.c.worker_id,
        ]
        task_cols.append(jobs.c.num_circuits)
        light = (
            select(*task_cols)
            .join_from(tasks, jobs, tasks.c.job_id == jobs.c.id)
            .where(tasks.c.id == bindparam("tid"))
        )
        heavy = (
            select(*task_cols, tasks.c.circuit)
            .join_from(tasks, jobs, tasks.c.job_id == jobs.c.id)
            .where(tasks.c.id == bindparam("tid"))
        )
        if postgres:
            light = light.with_for_update(of=tasks)
            heavy = heavy.with_for_update(of=tasks)
        self.task_light = light
        self.task_heavy = heavy
        self.job_charge = select(jobs.c.user_id, jobs.c.charged).where(
            jobs.c.id == bindparam("jid")
        )
        self.charge_user = (
            update(users)
            .where(users.c.id == bindparam("uid"))
            .values(balance_micros=users.c.balance_micros - bindparam("amount"))
        )
        self.charge_job = (
            update(jobs)
            .where(jobs.c.id == bindparam("jid"))
            .values(cost_micros=jobs.c.cost_micros + bindparam("amount"))
        )
        self.lease_head = leasing.lease_statement(postgres, of_job=False)
        self.lease_head_of_job = leasing.lease_statement(postgres, of_job=True)
        self.rank = fairness.rank_statement()
        self.user_by_token = select(
            users.c.id, users.c.email, users.c.role, users.c.token_hash, users.c.token_expires_at
        ).where(users.c.token_hash == bindparam("digest"), users.c.active.is_(True))
        self.worker_by_token = select(
            workers.c.id,
            workers.c.name,
            workers.c.targets,
            workers.c.token_hash,
            workers.c.token_expires_at,
        ).where(workers.c.token_hash == bindparam("digest"), workers.c.active.is_(True))
        self.seen = (
            update(workers)
            .where(workers.c.id == bindparam("wid"))
            .values(last_seen_at=bindparam("now"))
        )
        self.job_row = (
            select(jobs, users.c.email)
            .join(users, users.c.id == jobs.c.user_id)
            .where(jobs.c.id == bindparam("jid"))
        )
        self.own_job_row = self.job_row.where(jobs.c.user_id == bindparam("uid"))
        light_cols = [*_TASK_LIGHT, tasks.c.compiled_circuit]
        self.job_tasks = (
            select(*light_cols)
            .where(tasks.c.job_id == bindparam("jid"))
            .order_by(tasks.c.circuit_index)
        )
        self.job_tasks_heavy = (
            select(*light_cols, tasks.c.circuit, tasks.c.readouts)
            .where(tasks.c.job_id == bindparam("jid"))
            .order_by(tasks.c.circuit_index)
        )
        self.ahead = select(func.count()).where(
            tasks.c.target == bindparam("target"),
            _one_of(tasks.c.status, _QUEUED),
            or_(
                tasks.c.priority > bindparam("prio"),
                and_(
                    tasks.c.priority == bindparam("prio"),
                    or_(
                        tasks.c.share < bindparam("share"),
                        and_(tasks.c.share == bindparam("share"), tasks.c.id < bindparam("first")),
                    ),
                ),
            ),
        )


_STATEMENTS: dict[bool, _Statements] = {}


def _statements(postgres: bool) -> _Statements:
    found = _STATEMENTS.get(postgres)
    if found is None:
        found = _STATEMENTS[postgres] = _Statements(postgres)
    return found


def utcnow() -> datetime:
    return datetime.now(UTC)


def expired(at: datetime | None) -> bool:
    """Whether a token expiry time has passed (None: it never expires)."""
    aware = _aware(at)
    return aware is not None and aware <= utcnow()


def _expiry_detail(at: datetime | None) -> dict[str, Any]:
    return {} if at is None else {"token_expires_at": at.isoformat()}


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def new_id() -> str:
    return uuid.uuid4().hex


def splice_json(model_json: str, raw: dict[str, str]) -> bytes:
    """Add already-serialized JSON fields to a serialized object (no re-validation)."""
    if not raw:
        return model_json.encode()
    extra = ",".join(f'"{name}":{value}' for name, value in raw.items())
    body = model_json[:-1]
    joiner = "," if body.rstrip().endswith("{") is False else ""
    return f"{body}{joiner}{extra}}}".encode()


class Store:
    """The service's storage operations over one engine."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        notifier: Notifier,
        *,
        lease_seconds: float,
        max_attempts: int,
        worker_liveness_seconds: float,
        max_unfinished_jobs: int = 10_000,
        max_unfinished_circuits: int = 10_000,
        max_result_bytes: int | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.notifier = notifier
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.worker_liveness_seconds = worker_liveness_seconds
        self.max_unfinished_jobs = max_unfinished_jobs
        self.max_unfinished_circuits = max_unfinished_circuits
        #: The largest result body a worker may post (the service's body limit), or None.
        self.max_result_bytes = max_result_bytes
        self._seen: dict[str, float] = {}
        self._seen_lock = threading.Lock()
        self._pg = engine.dialect.name == "postgresql"
        self._sql = _statements(self._pg)
        self._last_reclaim = 0.0
        self.reclaim_every = min(max(lease_seconds / 4, 0.05), 2.0)
        #: Told of each change (the metrics replace it; see :mod:`qrelay.service.events`).
        self.events = StoreEvents()
        self._deployment_id: str | None = None

    def _deployment(self, conn: Connection) -> str | None:
        """The deployment's random id (made with the database), read once and kept."""
        if self._deployment_id is None:
            found = conn.execute(select(deployment.c.id)).scalar()
            self._deployment_id = None if found is None else str(found)
        return self._deployment_id

    # ================================================================== principals
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

    # ================================================================== users
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
            change = audit_log.changed(before, after)
            audit_log.record(conn, actor, "user.update", user_id, **change)
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
            _audit(conn, actor, action, user_id, _expiry_detail(token_expires_at))
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
            _audit(conn, actor, action, worker_id, _expiry_detail(token_expires_at))
            row = conn.execute(select(workers).where(workers.c.id == worker_id)).one()
        return WorkerInfo(
            worker_id=row.id,
            name=row.name,
            targets=list(row.targets),
            active=row.active,
            token_expires_at=_aware(row.token_expires_at),
        )

    # ================================================================== targets
    def live_targets(self) -> set[str]:
        """Targets served by a worker seen within the liveness window."""
        cutoff = utcnow() - timedelta(seconds=self.worker_liveness_seconds)
        with read(self.engine) as conn:
            rows = conn.execute(
                select(workers.c.targets).where(
                    workers.c.active.is_(True), workers.c.last_seen_at >= cutoff
                )
            ).all()
        return {t for (targets,) in rows for t in targets}

    def queue_depths(self, names: Iterable[str] | None = None) -> dict[str, int]:
        stmt = (
            select(tasks.c.target, func.count())
            .where(tasks.c.status.in_(_QUEUED))
            .group_by(tasks.c.target)
        )
        if names is not None:
            stmt = stmt.where(tasks.c.target.in_(list(names)))
        with read(self.engine) as conn:
            return {t: int(n) for t, n in conn.execute(stmt)}

    def targets_live(self, names: Sequence[str] | None = None) -> list[TargetInfo]:
        """Catalog entries with their live status and queue depth."""
        live = self.live_targets()
        depths = self.queue_depths(names)
        out = []
        for info in self.catalog.all():
            if names is not None and info.name not in names:
                continue
            status = info.status
            if status not in (TargetStatus.RETIRED, TargetStatus.DEV_ONLY):
                status = TargetStatus.AVAILABLE if info.name in live else TargetStatus.OFFLINE
            out.append(
                info.model_copy(update={"status": status, "queue_depth": depths.get(info.name, 0)})
            )
        return out

    def _seen_worker(self, conn: Connection, worker: WorkerPrincipal) -> None:
        now = time.monotonic()
        with self._seen_lock:
            last = self._seen.get(worker.worker_id)
            if last is not None and now - last < _SEEN_EVERY:
                return
            self._seen[worker.worker_id] = now
        run(conn, self._sql.seen, {"wid": worker.worker_id, "now": utcnow()})

    # ================================================================== submission
    def check_new_job(self, principal: UserPrincipal, job: NewJob) -> tuple[TargetInfo, int]:
        """Refuse what cannot run (422/403), before anything is stored; the estimate in
        micro-units."""
        info = self.catalog.get(job.target)
        if info is None:
            raise ApiError(
                422,
                "validation_error",
                f"target: unknown target {job.target!r} (known: {', '.join(self.catalog.names())})",
            )
        if info.status is TargetStatus.RETIRED:
            raise ApiError(422, "validation_error", f"target: {job.target!r} is retired")
        if job.circuit_type is not CircuitType.PAYLOAD:
            raise ApiError(
                422,
                "validation_error",
                f"circuit_type: {job.circuit_type.value!r} is not taken by the service; "
                "convert OpenQASM to payload circuits first (qrelay_qasm)",
            )
        if job.job_type in (JobType.SUBMIT, JobType.SIMULATE) and not info.supports_submit:
            raise ApiError(422, "validation_error", f"job_type: {job.target!r} does not run jobs")
        if job.job_type is JobType.COMPILE and not info.supports_compile:
            raise ApiError(422, "validation_error", f"job_type: {job.target!r} does not compile")
        if job.priority > principal.max_priority:
            raise ApiError(
                403,
                "priority_too_high",
                f"priority: {job.priority} is above the maximum {principal.max_priority} "
                f"allowed for role {principal.role.value!r}",
                extra={"max_priority": principal.max_priority},
            )
        try:
            check_target_limits(job, info)
        except PayloadError as exc:
            raise ApiError(422, "validation_error", str(exc)) from None
        rows = [job.binding_count(index) for index in range(job.num_circuits)]
        for index, circuit in enumerate(job.circuits):
            self._check_readout(job, index, circuit, rows[index])
        return info, domain.estimate_cost(job.shots, rows, info.price_per_shot, job.job_type)

    def _check_readout(self, job: NewJob, index: int, circuit: Circuit, rows: int) -> None:
        """Refuse (422) a circuit whose readouts could not come back: its result would be
        over the body limit, so a worker could run it but never post it."""
        limit = self.max_result_bytes
        if limit is None or job.job_type not in (JobType.SUBMIT, JobType.SIMULATE):
            return
        size = domain.readout_bytes(circuit, job.shots, rows)
        if size > limit - _RESULT_HEADROOM:
            raise ApiError(
                422,
                "validation_error",
                f"circuits[{index}]: {job.shots} shots x {rows} row(s) x "
                f"{circuit.num_clbits} bits give a result of about {size} bytes, over the "
                f"limit of {limit - _RESULT_HEADROOM} bytes a result may take "
                f"(max_body_bytes {limit}); ask for fewer shots, rows or measured bits",
                extra={"result_bytes": size, "max_result_bytes": limit - _RESULT_HEADROOM},
            )

    def submit(
        self,
        principal: UserPrincipal,
        job: NewJob,
        *,
        idempotency_key: str,
        request_hash: str,
        lease_by: WorkerPrincipal | None = None,
    ) -> Submitted:
        """Store a job and queue its circuits in one transaction.

        With ``lease_by`` (a worker of the job's target, for a one-circuit job) the task is
        leased to that worker in the same transaction if it heads its target's queue, by
        priority and then submission, as :meth:`lease` would pick it: the embedded default
        runs a brief job where it was submitted (see :mod:`qrelay.service.local`), and a
        job does not overtake the queue by it. Only a job left queued wakes the workers.
        """
        _info, estimate = self.check_new_job(principal, job)
        job_id = new_id()
        if job.dry_run:
            dry = NewJobResponse(
                job_id=job_id,
                num_circuits=job.num_circuits,
                dry_run=True,
                estimated_cost=money.from_micros(estimate),
            )
            return Submitted(dry.model_dump_json(exclude={"job"}), created=True)
        response = NewJobResponse(
            job_id=job_id, num_circuits=job.num_circuits, estimated_cost=money.from_micros(estimate)
        ).model_dump_json(exclude={"job"})
        now = utcnow()
        queue = domain.queue_state(job.job_type)
        sql = self._sql
        # Everything that costs CPU happens before the write lock is taken.
        job_row = {
            "id": job_id,
            "user_id": principal.user_id,
            "job_type": job.job_type.value,
            "target": job.target,
            "circuit_type": job.circuit_type.value,
            "num_circuits": job.num_circuits,
            "shots": job.shots,
            "sim_method": job.sim_method.value if job.sim_method else None,
            "priority": job.priority,
            "status": queue.value,
            "tags": listing.tags_text(job.tags),
            "job_metadata": job.metadata,
            "verbatim": job.verbatim,
            "memory": job.memory,
            "meas_level": job.meas_level,
            "options": job.options,
            "cost_micros": 0,
            "estimate_micros": estimate,
            "charged": not principal.is_admin,
            "deleted": False,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "response": response,
            "submitted_at": now,
            "updated_at": now,
        }
        task_rows = []
        for index, circuit in enumerate(job.circuits):
            table = job.bindings[index] if job.bindings is not None else None
            task_rows.append(
                {
                    "job_id": job_id,
                    "circuit_index": index,
                    "target": job.target,
                    "priority": job.priority,
                    "status": queue.value,
                    "queue_status": queue.value,
                    "circuit": circuit.model_dump_json(),
                    "bindings": table.model_dump_json() if table is not None else None,
                    "num_rows": job.binding_count(index),
                    "shots": job.shots,
                    "attempt": 0,
                    "max_attempts": self.max_attempts,
                    "cancel_requested": False,
                    "updated_at": now,
                }
            )
        key = {"uid": principal.user_id, "key": idempotency_key}
        leased: bytes | None = None
        try:
            with write(self.engine) as conn:
                found = rows(conn, sql.find_key, key)
                if found:
                    return Submitted(_replay(found[0], request_hash), created=False)
                if not principal.is_admin:
                    self._check_room(conn, principal.user_id, estimate, job.num_circuits)
                ranked = rows(
                    conn,
                    sql.rank,
                    {
                        "uid": principal.user_id,
                        "target": job.target,
                        "queued": queue.value,
                        "prio": job.priority,
                    },
                )[0]
                first = fairness.first_rank(ranked.head, ranked.mine)
                for index, task_row in enumerate(task_rows):
                    task_row["share"] = first + index
                run(conn, sql.insert_job, job_row)
                ids = self._insert_tasks(conn, task_rows)
                run_many(
                    conn,
                    sql.insert_transition,
                    [
                        {
                            "task_id": tid,
                            "from_status": S.RECEIVED.value,
                            "to_status": queue.value,
                            "at": now,
                            "message": None,
                        }
                        for tid in ids
                    ],
                )
                if lease_by is not None and job.num_circuits == 1:
                    leased = self._lease_in(conn, lease_by, [job.target], job_id=job_id)
        except IntegrityError:
            # A concurrent duplicate committed first: answer as its replay.
            with read(self.engine) as conn:
                found = rows(conn, sql.find_key, key)
            if not found:
                raise ApiError(
                    409, "conflict", "a request with this Idempotency-Key is in progress; retry"
                ) from None
            return Submitted(_replay(found[0], request_hash), created=False)
        if leased is None:
            self.notifier.notify(f"target:{job.target}")
        self.events.job_submitted(job.target)
        return Submitted(response, created=True, task=leased, job_id=job_id)

    def _check_room(self, conn: Connection, user_id: str, estimate: int, circuits: int) -> None:
        """Refuse a user's submission that does not fit, inside its write transaction.

        429 (with ``Retry-After``) when the user already has ``max_unfinished_jobs`` jobs
        queued or running, or when the job's ``circuits`` would take the user's unfinished
        circuits over ``max_unfinished_circuits`` (a job that fails costs nothing, but its
        circuits hold workers until then, so free work is bounded by this); 402 unless the
        balance, less what those jobs may still charge, covers ``estimate``: queued work is
        paid for too, so a user cannot queue more than the balance pays for. Amounts are
        micro-units, compared exactly.
        """
        found = rows(conn, self._sql.balance, {"uid": user_id})  # locks the user's row
        balance = int(found[0].balance_micros) if found else 0
        found = rows(conn, self._sql.unfinished, {"uid": user_id})
        unfinished = int(found[0].jobs) if found else 0
        if unfinished >= self.max_unfinished_jobs:
            raise ApiError(
                429,
                "too_many_jobs",
                f"this user has {unfinished} unfinished jobs, the most allowed at once; "
                "submit again when some have ended",
                retry_after=_FULL_QUEUE_RETRY_SECONDS,
                extra={"max_unfinished_jobs": self.max_unfinished_jobs},
            )
        queued = int(found[0].circuits) if found else 0
        if queued + circuits > self.max_unfinished_circuits:
            raise ApiError(
                429,
                "too_many_jobs",
                f"circuits: this user has {queued} circuits unfinished; {circuits} more "
                f"would exceed max_unfinished_circuits {self.max_unfinished_circuits}; "
                "submit again when some have ended",
                retry_after=_FULL_QUEUE_RETRY_SECONDS,
                extra={"max_unfinished_circuits": self.max_unfinished_circuits},
            )
        if estimate <= 0:
            return
        reserved = max(0, int(found[0].held)) if found else 0
        if estimate > balance - reserved:
            detail = (
                f"the estimated cost {money.text(estimate)} exceeds the balance "
                f"{money.text(balance)}"
            )
            if reserved > 0:
                detail += f" less {money.text(reserved)} held for unfinished jobs"
            raise ApiError(
                402,
                "insufficient_balance",
                detail,
                extra={
                    "estimated_cost": money.from_micros(estimate),
                    "balance": money.from_micros(balance),
                    "reserved": money.from_micros(reserved),
                },
            )

    def _insert_tasks(self, conn: Connection, task_rows: list[dict[str, Any]]) -> list[int]:
        """Insert the tasks of one job; their ids in circuit order."""
        if self._pg and len(task_rows) > 1:  # one multi-row INSERT ... RETURNING
            return list(conn.execute(self._sql.insert_tasks, task_rows).scalars().all())
        return [rows(conn, self._sql.insert_tasks, r)[0].id for r in task_rows]

    # ================================================================== reading jobs
    def _job_row(self, conn: Connection, principal: UserPrincipal, job_id: str) -> Any:
        if principal.is_admin:
            found = rows(conn, self._sql.job_row, {"jid": job_id})
        else:
            found = rows(conn, self._sql.own_job_row, {"jid": job_id, "uid": principal.user_id})
        if not found:
            raise ApiError(404, "not_found", f"job_id: no job {job_id!r}")
        return found[0]

    def job_status(self, principal: UserPrincipal, job_id: str) -> CircuitStatus:
        with read(self.engine) as conn:
            row = self._job_row(conn, principal, job_id)
        return CircuitStatus(row.status)

    def get_job(
        self,
        principal: UserPrincipal,
        job_id: str,
        *,
        include_readout: bool,
        only_terminal: bool = False,
    ) -> tuple[bytes | None, bool]:
        """A job's ``JobData`` as JSON, and whether it is terminal.

        With ``only_terminal`` a job still going gives ``(None, False)`` after one small
        read: a long poll that will wait on does not pay for the answer it throws away.
        """
        with read(self.engine) as conn:
            row = self._job_row(conn, principal, job_id)
            terminal = CircuitStatus(row.status) in TERMINAL_CIRCUIT_STATES
            if only_terminal and not terminal:
                return None, False
            heavy = include_readout and terminal
            stmt = self._sql.job_tasks_heavy if heavy else self._sql.job_tasks
            trows = rows(conn, stmt, {"jid": job_id})
            position = None if terminal else self._queue_position(conn, row, trows)
        return _job_json(row, trows, heavy=heavy, queue_position=position), terminal

    def _queue_position(self, conn: Connection, job: Any, trows: Sequence[Any]) -> int | None:
        queued = [t for t in trows if t.status in _QUEUED]
        if not queued:
            return None
        head = min(queued, key=lambda t: (t.share, t.id))
        params = {
            "target": job.target,
            "prio": job.priority,
            "share": head.share,
            "first": head.id,
        }
        ahead = rows(conn, self._sql.ahead, params)[0][0]
        return int(ahead or 0)

    def list_jobs(self, principal: UserPrincipal, query: JobQuery) -> bytes:
        """One ``JobPage`` of the jobs ``principal`` may see (see :mod:`.listing`)."""
        stmt = listing.job_filter(principal, query)
        with read(self.engine) as conn:
            return listing.page(conn, stmt, query.limit, _render_listed)

    def job_results(self, principal: UserPrincipal, job_id: str) -> bytes:
        with read(self.engine) as conn:
            self._job_row(conn, principal, job_id)
            trows = conn.execute(
                select(tasks.c.status, tasks.c.circuit, tasks.c.readouts)
                .where(tasks.c.job_id == job_id)
                .order_by(tasks.c.circuit_index)
            ).all()
        statuses = json.dumps([t.status for t in trows])
        circuits = "[" + ",".join(t.circuit for t in trows) + "]"
        readouts = "[" + ",".join(_readouts_json(t.readouts) for t in trows) + "]"
        return (
            f'{{"job_id":{json.dumps(job_id)},"statuses":{statuses},'
            f'"circuits":{circuits},"readouts":{readouts}}}'
        ).encode()

    # ================================================================== cancel / delete
    def cancel(self, principal: UserPrincipal, job_ids: Sequence[str]) -> JobCancellationResults:
        succeeded: list[str] = []
        terminal: list[str] = []
        missing: list[str] = []
        now = utcnow()
        touched: list[str] = []
        ended: list[tuple[str, str]] = []
        with write(self.engine) as conn:
            for job_id in dict.fromkeys(job_ids):
                try:
                    job_row = self._job_row(conn, principal, job_id)
                except ApiError:
                    missing.append(job_id)
                    continue
                if job_row.user_id != principal.user_id:  # an admin acting on another's job
                    _audit(conn, principal, "job.cancel", job_id, {"owner": job_row.user_id})
                trows = conn.execute(
                    select(tasks.c.id, tasks.c.status).where(tasks.c.job_id == job_id)
                ).all()
                live = [t for t in trows if t.status not in _TERMINAL]
                if not live:
                    terminal.append(job_id)
                    continue
                cancelled_any = False
                for t in live:
                    cancelled_any |= self._cancel_task(conn, t.id, CircuitStatus(t.status), now)
                if not cancelled_any:  # every live circuit ended meanwhile
                    terminal.append(job_id)
                    continue
                ended.append((job_row.target, _refresh_job(conn, job_id, now)))
                succeeded.append(job_id)
                touched.append(job_id)
        self.notifier.notify(*(f"job:{j}" for j in touched))
        for target, status in ended:
            self.events.job_ended(target, status)
        return JobCancellationResults(
            succeeded=succeeded,
            already_terminal=terminal,
            not_found=missing,
            message=(
                f"{len(succeeded)} cancelled, {len(terminal)} already ended, "
                f"{len(missing)} not found"
            ),
        )

    @staticmethod
    def _cancel_task(conn: Connection, task_id: int, old: CircuitStatus, now: datetime) -> bool:
        """Cancel one task from the status it was read in; ``False`` if it ended first.

        The update is conditional on that status. On PostgreSQL a lease or a result may
        commit between the read and the update (READ COMMITTED); then nothing matches,
        the task is read again and cancelled from its new status, so a leased task gets
        ``cancel_requested`` and no transition is recorded that did not happen.
        """
        for _ in range(5):
            changed = conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.status == old.value)
                .values(
                    status=S.CANCELLED.value,
                    status_message="cancelled by the user",
                    cancel_requested=old in domain.ACTIVE_STATES,
                    updated_at=now,
                )
            ).rowcount
            if changed:
                _transition(conn, task_id, old, S.CANCELLED, now, "cancelled by the user")
                return True
            current = conn.execute(select(tasks.c.status).where(tasks.c.id == task_id)).scalar_one()
            old = CircuitStatus(current)
            if current in _TERMINAL:
                return False
        raise ApiError(
            503, "unavailable", "the job changed while being cancelled; try again", retry_after=1
        )

    def delete(self, principal: UserPrincipal, job_id: str) -> None:
        now = utcnow()
        with write(self.engine) as conn:
            row = self._job_row(conn, principal, job_id)
            if row.deleted:
                return
            if row.user_id != principal.user_id:  # an admin acting on another's job
                _audit(conn, principal, "job.delete", job_id, {"owner": row.user_id})
            trows = conn.execute(
                select(tasks.c.id, tasks.c.status).where(tasks.c.job_id == job_id)
            ).all()
            if any(t.status not in _TERMINAL for t in trows):
                raise ApiError(
                    409, "conflict", f"job {job_id!r} has not ended; cancel it before deleting it"
                )
            for t in trows:
                conn.execute(
                    update(tasks)
                    .where(tasks.c.id == t.id)
                    .values(status=S.DELETED.value, updated_at=now)
                )
                _transition(conn, t.id, CircuitStatus(t.status), S.DELETED, now, None)
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(deleted=True, status=S.DELETED.value, updated_at=now)
            )
        self.notifier.notify(f"job:{job_id}")

    # ================================================================== workers
    def reclaim_expired(self) -> int:
        """Put tasks whose lease expired back in the queue, or fail them after max attempts."""
        now = utcnow()
        self._last_reclaim = time.monotonic()
        with read(self.engine) as conn:
            expired = rows(conn, self._sql.expired, {"now": now})
        if not expired:
            return 0
        done = 0
        jobs_touched: dict[str, str] = {}
        targets: dict[str, int] = {}
        failed: list[str] = []
        with write(self.engine) as conn:
            for t in expired:
                old = CircuitStatus(t.status)
                if t.attempt >= t.max_attempts:
                    new = S.FAILED
                    message = (
                        f"the lease expired on attempt {t.attempt} of {t.max_attempts}: "
                        "no worker finished the task"
                    )
                else:
                    new = CircuitStatus(t.queue_status)
                    message = f"the lease expired on attempt {t.attempt}; queued again"
                result = conn.execute(
                    update(tasks)
                    .where(
                        tasks.c.id == t.id,
                        tasks.c.lease_id == t.lease_id,
                        tasks.c.status == old.value,
                        tasks.c.lease_expires_at < now,
                    )
                    .values(
                        status=new.value,
                        status_message=message,
                        lease_id=None,
                        lease_expires_at=None,
                        worker_id=None,
                        updated_at=now,
                    )
                )
                if result.rowcount:
                    _transition(conn, t.id, old, new, now, message)
                    jobs_touched[t.job_id] = t.target
                    targets[t.target] = targets.get(t.target, 0) + 1
                    done += 1
            for job_id, target in jobs_touched.items():
                if _refresh_job(conn, job_id, now) == S.FAILED.value:
                    failed.append(target)
        if done:
            log.info("reclaimed %d task(s) with expired leases", done)
        self.notifier.notify(*(f"job:{j}" for j in jobs_touched), *(f"target:{t}" for t in targets))
        for target, count in targets.items():
            self.events.leases_expired(target, count)
        for target in failed:
            self.events.job_ended(target, S.FAILED.value)
        return done

    def lease(self, worker: WorkerPrincipal, targets: Sequence[str]) -> bytes | None:
        """Lease the first queued task of ``targets`` (by priority, then fair-share rank,
        then submission; see :mod:`~qrelay.service.db.leasing`), or None."""
        if time.monotonic() - self._last_reclaim > self.reclaim_every:
            self.reclaim_expired()
        with write(self.engine) as conn:
            self._seen_worker(conn, worker)
            if not targets:
                return None  # nothing to serve
            return self._lease_in(conn, worker, targets)

    def _lease_in(
        self,
        conn: Connection,
        worker: WorkerPrincipal,
        targets: Sequence[str],
        *,
        job_id: str | None = None,
    ) -> bytes | None:
        """:meth:`lease` inside a write transaction: the ``WorkerTask`` JSON, or None.

        With ``job_id`` the first queued task is leased only if it is that job's."""
        now = utcnow()
        lease_id = new_id()
        expires = now + timedelta(seconds=self.lease_seconds)
        sql = self._sql
        params: dict[str, Any] = {
            "targets": leasing.targets_value(self._pg, leasing.lease_targets(targets)),
            "lid": lease_id,
            "exp": expires,
            "wid": worker.worker_id,
            "now": now,
        }
        stmt = sql.lease_head
        if job_id is not None:
            params["jid"] = job_id
            stmt = sql.lease_head_of_job
        leased = rows(conn, stmt, params)
        if not leased:
            return None
        t = leased[0]
        _transition(
            conn,
            t.id,
            CircuitStatus(t.queue_status),
            CircuitStatus(t.status),
            now,
            f"leased by worker {worker.name} (attempt {t.attempt})",
        )
        job = rows(conn, sql.lease_job, {"jid": t.job_id})[0]
        _refresh_job(conn, t.job_id, now, only=t.status if job.num_circuits == 1 else None)
        self.events.task_leased(
            t.target, lease_id, _aware(job.submitted_at) if t.attempt == 1 else None
        )
        # No wake-up for the job's long polls: they answer only once the job has ended,
        # and a lease never ends one (waking them would cost a read for nothing).
        head = {
            "task_id": str(t.id),
            "job_id": t.job_id,
            "circuit_index": t.circuit_index,
            "target": t.target,
            "job_type": job.job_type,
            "sim_method": job.sim_method,
            "shots": t.shots,
            "verbatim": job.verbatim,
            "memory": job.memory,
            "meas_level": job.meas_level,
            "options": job.options,
            "lease_id": lease_id,
            "lease_expires_at": expires.isoformat(),
            "attempt": t.attempt,
            "execution_id": t.execution_id,
            "deployment_id": self._deployment(conn),
        }
        raw = {"circuit": t.circuit, "bindings": t.bindings or "null"}
        return splice_json(json.dumps(head, separators=(",", ":")), raw)

    def _task_for(
        self,
        conn: Connection,
        worker: WorkerPrincipal,
        task_id: str,
        lease_id: str,
        *,
        lock: bool = False,
        heavy: bool = False,
    ) -> Any:
        """The task under a current lease held through ``lease_id`` by this worker;
        404/403/409 otherwise. A lease id alone is not enough: another worker's token
        that learnt it is refused (403) and changes nothing."""
        try:
            tid = int(task_id)
        except ValueError:
            raise ApiError(404, "not_found", f"task_id: no task {task_id!r}") from None
        stmt = self._sql.task_heavy if heavy else self._sql.task_light
        found = rows(conn, stmt, {"tid": tid})
        if not found:
            raise ApiError(404, "not_found", f"task_id: no task {task_id!r}")
        row = found[0]
        if row.target not in worker.targets:
            raise ApiError(403, "forbidden", f"this worker does not serve target {row.target!r}")
        expires = _aware(row.lease_expires_at)
        if (
            row.lease_id is None
            or not same_hash(row.lease_id, lease_id)
            or expires is None
            or expires < utcnow()
        ):
            self.events.lease_fenced()
            raise ApiError(
                409,
                "lease_lost",
                f"lease_id: the lease of task {task_id} is not current (expired or taken over)",
            )
        if row.worker_id != worker.worker_id:  # the lease id leaked to another worker
            raise ApiError(403, "forbidden", f"task_id: task {task_id} is leased to another worker")
        return row

    def heartbeat(
        self, worker: WorkerPrincipal, task_id: str, lease_id: str
    ) -> tuple[datetime, bool]:
        now = utcnow()
        expires = now + timedelta(seconds=self.lease_seconds)
        with write(self.engine) as conn:
            row = self._task_for(conn, worker, task_id, lease_id, lock=True)
            run(conn, self._sql.update_task, {"tid": row.id, "lease_expires_at": expires})
            self._seen_worker(conn, worker)
        return expires, bool(row.cancel_requested)

    def report_status(
        self, worker: WorkerPrincipal, task_id: str, report: WorkerTaskStatus
    ) -> None:
        now = utcnow()
        with write(self.engine) as conn:
            row = self._task_for(conn, worker, task_id, report.lease_id, lock=True)
            values: dict[str, Any] = {"updated_at": now}
            if report.execution_id is not None:
                values["execution_id"] = report.execution_id
            old = CircuitStatus(row.status)
            new = report.status
            if old in (S.CANCELLED, S.DELETED):
                pass  # cancelled while running: progress no longer shows, the id is kept
            elif new is not old:
                if new not in domain.WORKER_PROGRESS_STATES:
                    raise ApiError(
                        422,
                        "validation_error",
                        f"status: {new.value!r} is not a progress state; "
                        "post results to end a task",
                    )
                try:
                    domain.check_transition(old, new)
                except Exception as exc:
                    raise ApiError(409, "conflict", f"status: {exc}") from exc
                values["status"] = new.value
                values["status_message"] = report.message
                _transition(conn, row.id, old, new, now, report.message)
            run(conn, self._sql.update_task, {"tid": row.id, **values})
            if "status" in values:
                single = values["status"] if row.num_circuits == 1 else None
                _refresh_job(conn, row.job_id, now, only=single)
        # No wake-up: progress states are not terminal, and the job's long polls answer
        # only once it has ended.

    def post_result(
        self, worker: WorkerPrincipal, task_id: str, results: WorkerTaskResults
    ) -> None:
        now = utcnow()
        if results.status not in (S.COMPLETED, S.FAILED, S.CANCELLED):
            raise ApiError(
                422,
                "validation_error",
                f"status: {results.status.value!r}; a result ends a task as "
                "completed, failed or cancelled",
            )
        with write(self.engine) as conn:
            row = self._task_for(conn, worker, task_id, results.lease_id, lock=True, heavy=True)
            values: dict[str, Any] = {
                "lease_id": None,
                "lease_expires_at": None,
                "updated_at": now,
            }
            charge = 0
            old = CircuitStatus(row.status)
            if old in (S.CANCELLED, S.DELETED):
                # Cancelled before its result came: the result is withheld (dropped, never
                # shown) and nothing is charged. Only the device's execution id is kept.
                if results.execution_id is not None:
                    values["execution_id"] = results.execution_id
                run(conn, self._sql.update_task, {"tid": row.id, **values})
                return
            if results.status is S.COMPLETED:
                layout = json.loads(row.circuit)
                shape = Circuit(
                    num_qubits=layout["num_qubits"],
                    registers=[Register(**r) for r in layout.get("registers", [])],
                )
                try:
                    readouts = domain.check_results(shape, row.num_rows, row.shots, results)
                except ValueError as exc:
                    raise ApiError(422, "validation_error", str(exc)) from exc
                values.update(
                    readouts=encode_readouts(readouts),
                    successful_shots=results.successful_shots,
                    counts=domain.counts_of(readouts),
                )
                info = self.catalog.get(row.target)
                price = info.price_per_shot if info else 0.0
                if row.queue_status == S.AWAITING_COMPILE.value:  # a compile or convert job
                    charge = domain.compile_charge(price)
                else:
                    charge = domain.charge_for(readouts, price)
            if results.compiled_circuit is not None:
                values["compiled_circuit"] = results.compiled_circuit.model_dump_json()
            if results.initial_logical_to_physical is not None:
                values["initial_l2p"] = {
                    str(k): v for k, v in results.initial_logical_to_physical.items()
                }
            if results.final_logical_to_physical is not None:
                values["final_l2p"] = {
                    str(k): v for k, v in results.final_logical_to_physical.items()
                }
            if results.execution_id is not None:
                values["execution_id"] = results.execution_id
            new = results.status
            domain.check_transition(old, new)
            values["status"] = new.value
            values["status_message"] = results.status_message
            _transition(conn, row.id, old, new, now, results.status_message)
            run(conn, self._sql.update_task, {"tid": row.id, **values})
            if charge > 0:
                sql = self._sql
                job = rows(conn, sql.job_charge, {"jid": row.job_id})[0]
                if not job.charged:
                    charge = 0
                else:
                    run(conn, sql.charge_user, {"uid": job.user_id, "amount": charge})
                    run(conn, sql.charge_job, {"jid": row.job_id, "amount": charge})
            single = values.get("status", row.status) if row.num_circuits == 1 else None
            job_now = _refresh_job(conn, row.job_id, now, only=single)
            ended = None
            if self.notifier.waiting(f"job:{row.job_id}"):
                ended = self._ended_job(conn, row.job_id)
        self.notifier.notify(f"job:{row.job_id}", value=ended)
        self.events.task_ended(row.target, results.lease_id, results.status.value)
        if charge > 0:
            self.events.charged(row.target, charge)
        if CircuitStatus(job_now) in TERMINAL_CIRCUIT_STATES:
            self.events.job_ended(row.target, job_now)

    def _ended_job(self, conn: Connection, job_id: str) -> bytes | None:
        """The job's ``JobData`` JSON with its readout if it has ended, else None: what a
        long poll waiting on it would read next, sent along with its wake-up (read here, in
        the transaction that ended it, it costs two small queries instead of a transaction
        of its own)."""
        job = rows(conn, self._sql.job_row, {"jid": job_id})[0]
        if CircuitStatus(job.status) not in TERMINAL_CIRCUIT_STATES:
            return None
        trows = rows(conn, self._sql.job_tasks_heavy, {"jid": job_id})
        return _job_json(job, trows, heavy=True, queue_position=None)


# ====================================================================== helpers
def _replay(found: Any, request_hash: str) -> str:
    if not same_hash(found.request_hash, request_hash):
        raise ApiError(
            422,
            "idempotency_mismatch",
            "Idempotency-Key: this key was used with a different request body",
        )
    return str(found.response)


def _transition(  # noqa: PLR0917
    conn: Connection,
    task_id: int,
    old: CircuitStatus | None,
    new: CircuitStatus,
    at: datetime,
    message: str | None,
) -> None:
    run(
        conn,
        _statements(False).insert_transition,
        {
            "task_id": task_id,
            "from_status": old.value if old else None,
            "to_status": new.value,
            "at": at,
            "message": message,
        },
    )


def _refresh_job(conn: Connection, job_id: str, now: datetime, *, only: str | None = None) -> str:
    """Store the job's derived status and give it; ``only`` is the circuit's status of a
    one-circuit job."""
    sql = _statements(False)
    if only is not None:
        status = job_status([CircuitStatus(only)]).value
    else:
        found = rows(conn, sql.job_statuses, {"jid": job_id})
        status = job_status([CircuitStatus(r.status) for r in found]).value
    run(conn, sql.set_job_status, {"jid": job_id, "st": status, "now": now})
    return status


def _audit(
    conn: Connection,
    actor: UserPrincipal | None,
    action: str,
    subject: str | None,
    detail: dict[str, Any],
) -> None:
    audit_log.record(conn, actor, action, subject, detail)


def _render_listed(conn: Connection, batch: Sequence[Any]) -> Iterator[bytes]:
    """The listed ``JobData`` of each job of ``batch``: its tasks read in one query."""
    by_job: dict[str, list[Any]] = {r.id: [] for r in batch}
    if by_job:
        trows = conn.execute(
            select(*_TASK_LIGHT, tasks.c.compiled_circuit)
            .where(tasks.c.job_id.in_(list(by_job)))
            .order_by(tasks.c.job_id, tasks.c.circuit_index)
        ).all()
        for t in trows:
            by_job[t.job_id].append(t)
    for r in batch:
        yield _job_json(r, by_job[r.id], heavy=False, queue_position=None)


def _readouts_json(frame: bytes | None) -> str:
    if frame is None:
        return "null"
    return "[" + ",".join(r.model_dump_json() for r in decode_readouts(frame)) + "]"


def _l2p(value: dict[str, int] | None) -> dict[int, int] | None:
    return {int(k): v for k, v in value.items()} if value is not None else None


def _job_json(job: Any, trows: Sequence[Any], *, heavy: bool, queue_position: int | None) -> bytes:
    model = JobData(
        job_id=job.id,
        job_type=JobType(job.job_type),
        target=job.target,
        user_email=job.email,
        status=CircuitStatus(job.status),
        statuses=[CircuitStatus(t.status) for t in trows],
        status_messages=[t.status_message for t in trows],
        num_circuits=job.num_circuits,
        shots=[t.shots for t in trows],
        counts=[t.counts for t in trows],
        initial_logical_to_physicals=[_l2p(t.initial_l2p) for t in trows],
        final_logical_to_physicals=[_l2p(t.final_l2p) for t in trows],
        provider_id=[t.execution_id for t in trows],
        priority=job.priority,
        tags=listing.tags_list(job.tags),
        metadata=job.job_metadata,
        cost=money.from_micros(job.cost_micros),
        queue_position=queue_position,
        submission_timestamp=_aware(job.submitted_at),
        last_updated_timestamp=[_aware(t.updated_at) for t in trows],
    )
    raw = {"compiled_circuits": "[" + ",".join(t.compiled_circuit or "null" for t in trows) + "]"}
    exclude = {"compiled_circuits", "readouts", "layouts"}
    if heavy:
        raw["layouts"] = "[" + ",".join(t.circuit for t in trows) + "]"
        raw["readouts"] = "[" + ",".join(_readouts_json(t.readouts) for t in trows) + "]"
    return splice_json(model.model_dump_json(exclude=exclude), raw)


def request_digest(body: bytes) -> str:
    """The stored fingerprint of a request body, to tell a replay from a different body."""
    return hashlib.sha256(body).hexdigest()
