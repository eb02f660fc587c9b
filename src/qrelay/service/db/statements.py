"""The SQL statements of the store's hot paths, built once per dialect as named artifacts.

SQLAlchemy then skips rebuilding them and recomputing their cache keys on every call.
The store reaches them as ``self._sql`` (see :class:`~qrelay.service.db.base.StoreBase`).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Final

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)

from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    CircuitStatus,
)
from qrelay.service import domain
from qrelay.service.db import fairness, leasing
from qrelay.service.db.tables import (
    ACTIVE,
    COMPLETED,
    QUEUED,
    UNFINISHED,
    in_bound,
    jobs,
    one_of,
    tasks,
    transitions,
    users,
    workers,
)

TERMINAL = [s.value for s in TERMINAL_CIRCUIT_STATES]
#: Where the task columns of a long poll's look (``Statements.look``) begin: after the
#: job's columns and its owner's email.
LOOK_TASKS_FROM: Final = len(jobs.c) + 1
LEASED = sorted({s.value for s in domain.LEASED_STATE.values()})


#: How many of a target's latest completed tasks its time per task is measured over
#: (``QueueStore.seconds_per_task``).
MEASURED_TASKS: Final = 50

#: The task columns of a job's answer without its readouts.
TASK_LIGHT = (
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
    tasks.c.calibration_id,
)


class Statements:
    """The statements of the hot paths, built once: SQLAlchemy then skips rebuilding them
    and recomputing their cache keys on every call."""

    def __init__(self, postgres: bool) -> None:
        """Build every statement for PostgreSQL (``postgres``) or SQLite.

        A long function on purpose: it is a flat list of named statements, each an
        assignment a reader looks up by its name; split, they would only be harder to find.
        """
        self.insert_job = insert(jobs)
        self.insert_tasks = insert(tasks)
        self.insert_transition = insert(transitions)
        # A new job's tasks move from received to ``queued`` (their status as stored), one
        # transition each, in circuit order: one statement, whatever the job's size.
        self.queue_transitions = insert(transitions).from_select(
            ["task_id", "from_status", "to_status", "at", "message"],
            select(
                tasks.c.id,
                literal(CircuitStatus.RECEIVED.value, String(32)),
                tasks.c.status,
                bindparam("at", type_=transitions.c.at.type),
                null(),
            )
            .where(tasks.c.job_id == bindparam("jid"))
            .order_by(tasks.c.circuit_index),
        )
        self.find_key = select(jobs.c.request_hash, jobs.c.response).where(
            jobs.c.user_id == bindparam("uid"), jobs.c.idempotency_key == bindparam("key")
        )
        self.balance = select(users.c.balance_micros).where(users.c.id == bindparam("uid"))
        if postgres:
            # The user's row stays locked until the submission commits: two submissions
            # racing for the same money are checked one after the other. (SQLite's write
            # transactions are serial already.) FOR NO KEY UPDATE: the job row inserted
            # before it holds a key-share lock on the user (its foreign key), which FOR
            # UPDATE would wait on, and two submissions would deadlock.
            self.balance = self.balance.with_for_update(key_share=True)
        # A user's unfinished jobs but ``jid`` (the one being submitted): how many, and
        # what they may still charge (the (user_id, status) index reads only those).
        held = case((jobs.c.charged, jobs.c.estimate_micros - jobs.c.cost_micros), else_=0)
        self.unfinished = select(
            func.count().label("jobs"),
            func.coalesce(func.sum(held), 0).label("held"),
            func.coalesce(func.sum(jobs.c.num_circuits), 0).label("circuits"),
        ).where(
            jobs.c.user_id == bindparam("uid"),
            one_of(jobs.c.status, UNFINISHED),
            jobs.c.id != bindparam("jid"),
        )
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
        ).where(tasks.c.lease_expires_at < bindparam("now"), one_of(tasks.c.status, ACTIVE))
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
        task_cols += [jobs.c.num_circuits, jobs.c.user_id, jobs.c.charged]
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
        # The tasks of a batch of results, by id (``tids``, see ``in_bound``), locked in
        # the order of their ids.
        heavy_of = (
            select(*task_cols, tasks.c.circuit)
            .join_from(tasks, jobs, tasks.c.job_id == jobs.c.id)
            .where(in_bound(tasks.c.id, "tids", postgres))
            .order_by(tasks.c.id)
        )
        if postgres:
            light = light.with_for_update(of=tasks)
            heavy = heavy.with_for_update(of=tasks)
            heavy_of = heavy_of.with_for_update(of=tasks)
        self.task_light = light
        self.task_heavy = heavy
        self.tasks_heavy_of = heavy_of
        self.charge_user = (
            update(users)
            .where(users.c.id == bindparam("uid"))
            .values(balance_micros=users.c.balance_micros - bindparam("amount"))
        )
        # A job's results are in: its derived status and what they charged, together.
        self.finish_job = (
            update(jobs)
            .where(jobs.c.id == bindparam("jid"))
            .values(
                status=bindparam("st"),
                updated_at=bindparam("now"),
                cost_micros=jobs.c.cost_micros + bindparam("amount"),
            )
        )
        self.queue_head = leasing.head_statement(postgres)
        self.lease_tasks = leasing.lease_statement(postgres)
        # A submission's reads before it writes, in one statement: the fair-share ranks of
        # its queue, and the job already stored under its idempotency key (None: none).
        keyed = (jobs.c.user_id == bindparam("uid"), jobs.c.idempotency_key == bindparam("key"))
        self.submit_reads = fairness.rank_statement(
            select(jobs.c.request_hash).where(*keyed).scalar_subquery().label("request_hash"),
            select(jobs.c.response).where(*keyed).scalar_subquery().label("response"),
        )
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
        light_cols = [*TASK_LIGHT, tasks.c.compiled_circuit]
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
        # A long poll's look: the job, and its tasks only if it has ended (a job still going
        # gives one row, its task columns null), in one statement; the task columns are
        # the last ones (``LOOK_TASKS_FROM`` on), named ``t_<column>``. By (only the
        # caller's own job, with the readouts).
        self.look: dict[tuple[bool, bool], Any] = {}
        #: The rows of a look's tasks, with or without the readouts: their columns apart.
        self.look_task: dict[bool, Any] = {}
        for with_readouts in (False, True):
            cols = [*light_cols, tasks.c.circuit, tasks.c.readouts] if with_readouts else light_cols
            self.look_task[with_readouts] = namedtuple("LookTask", [c.key for c in cols])
            ended = and_(tasks.c.job_id == jobs.c.id, one_of(jobs.c.status, TERMINAL))
            look = (
                select(jobs, users.c.email, *(c.label(f"t_{c.key}") for c in cols))
                .join(users, users.c.id == jobs.c.user_id)
                .outerjoin(tasks, ended)
                .where(jobs.c.id == bindparam("jid"))
                .order_by(tasks.c.circuit_index)
            )
            self.look[False, with_readouts] = look
            self.look[True, with_readouts] = look.where(jobs.c.user_id == bindparam("uid"))
        # Several jobs' rows and their tasks, by job id (``jids``, see ``in_bound``): the
        # jobs a batch of results ended.
        self.job_rows_of = (
            select(jobs, users.c.email)
            .join(users, users.c.id == jobs.c.user_id)
            .where(in_bound(jobs.c.id, "jids", postgres))
        )
        self.jobs_tasks_heavy = (
            select(*light_cols, tasks.c.circuit, tasks.c.readouts)
            .where(in_bound(tasks.c.job_id, "jids", postgres))
            .order_by(tasks.c.job_id, tasks.c.circuit_index)
        )
        latest = (
            select(tasks.c.id, tasks.c.updated_at)
            .where(tasks.c.target == bindparam("target"), one_of(tasks.c.status, COMPLETED))
            .order_by(tasks.c.id.desc())
            .limit(MEASURED_TASKS)
            .subquery()
        )
        # The latest completed tasks of ``target``: when each ended, and when it was leased.
        self.measured = (
            select(latest.c.updated_at, func.max(transitions.c.at).label("leased_at"))
            .join(transitions, transitions.c.task_id == latest.c.id)
            .where(one_of(transitions.c.to_status, LEASED))
            .group_by(latest.c.id, latest.c.updated_at)
        )
        # Queued tasks per target (the targets' queue depths).
        self.queue_depths = (
            select(tasks.c.target, func.count().label("depth"))
            .where(one_of(tasks.c.status, QUEUED))
            .group_by(tasks.c.target)
        )
        self.ahead = select(func.count()).where(
            tasks.c.target == bindparam("target"),
            one_of(tasks.c.status, QUEUED),
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


_STATEMENTS: dict[bool, Statements] = {}


def statements(postgres: bool) -> Statements:
    """The statements of one dialect (PostgreSQL or not), built on first use."""
    found = _STATEMENTS.get(postgres)
    if found is None:
        found = _STATEMENTS[postgres] = Statements(postgres)
    return found
