"""Which task a lease takes, and the target list a lease may name.

A lease names the targets it serves. The list is untrusted: it is deduplicated and capped
(:func:`lease_targets`) before it reaches the database, and it is bound as one parameter
(:func:`~qrelay.service.db.tables.in_bound`), so the statement has one shape whatever the
list's length and SQLAlchemy's compiled cache holds one entry for it.

A lease is two statements whatever the number of tasks it takes: the head of the queue
(:func:`head_statement`), then one ``UPDATE`` of the tasks taken
(:func:`lease_statement`).

Within a priority the queue is ordered by each task's fair-share rank (see
:mod:`qrelay.service.db.fairness`), then by submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Integer, String, bindparam, case, cast, func, select, update

from qrelay.service import domain
from qrelay.service.db.engine import NEW_ID_SQL
from qrelay.service.db.tables import QUEUED, in_bound, jobs, one_of, tasks
from qrelay.service.problems import ApiError

#: The most distinct targets one lease request may name.
MAX_LEASE_TARGETS: Final = 100
#: The job's columns a lease answers with, returned by the lease's own statement.
LEASE_JOB_COLUMNS: Final = (
    "num_circuits",
    "job_type",
    "sim_method",
    "verbatim",
    "memory",
    "meas_level",
    "options",
    "submitted_at",
    "traceparent",
)
#: The most tasks one lease request takes (a worker asking for more gets this many): a
#: worker holding many leases of tasks it has not started would keep them from the others.
MAX_LEASE_TASKS: Final = 16


def lease_targets(targets: Sequence[str]) -> list[str]:
    """``targets`` without repeats, in their order; 422 naming the cap if too many."""
    unique = list(dict.fromkeys(targets))
    if len(unique) > MAX_LEASE_TARGETS:
        raise ApiError(
            422,
            "validation_error",
            f"targets: {len(unique)} distinct targets exceed the limit of {MAX_LEASE_TARGETS} "
            "per lease request",
            extra={"max_lease_targets": MAX_LEASE_TARGETS},
        )
    return unique


def head_statement(postgres: bool) -> Any:
    """The first ``:n`` queued tasks of ``:targets`` (see
    :func:`~qrelay.service.db.tables.in_bound`) in the queue's order (priority, then
    fair-share rank, then submission): their ids and jobs. On PostgreSQL the rows are
    locked as they are read, skipping those another lease holds, so concurrent leases
    take different tasks; :func:`lease_statement` then leases those wanted."""
    head = (
        select(tasks.c.id, tasks.c.job_id)
        .where(in_bound(tasks.c.target, "targets", postgres), one_of(tasks.c.status, QUEUED))
        .order_by(tasks.c.priority.desc(), tasks.c.share, tasks.c.id)
        .limit(bindparam("n", type_=Integer))
    )
    return head.with_for_update(skip_locked=True) if postgres else head


def lease_statement(postgres: bool) -> Any:
    """The statement that leases the queued tasks ``:tids`` (see
    :func:`~qrelay.service.db.tables.in_bound`), each under a lease id of its own, and
    returns each task with its lease id and its job's :data:`LEASE_JOB_COLUMNS` (scalar
    subqueries: SQLite's RETURNING names no other table), so a lease reads its jobs in no
    statement of its own.

    Each row's lease id is drawn in the statement, so one statement leases any number of
    tasks: a random UUID's 32 hex digits on PostgreSQL (``gen_random_uuid``, from the
    server's strong random source), :func:`~qrelay.service.db.engine.new_id` on SQLite
    (registered on each connection), the form of every other id."""
    if postgres:
        lease_id = func.replace(cast(func.gen_random_uuid(), String), "-", "")
    else:
        lease_id = getattr(func, NEW_ID_SQL)()
    new_status = case(
        *((tasks.c.status == q.value, w.value) for q, w in domain.LEASED_STATE.items()),
        else_=tasks.c.status,
    )
    return (
        update(tasks)
        .where(in_bound(tasks.c.id, "tids", postgres), one_of(tasks.c.status, QUEUED))
        .values(
            status=new_status,
            lease_id=lease_id,
            lease_expires_at=bindparam("exp"),
            attempt=tasks.c.attempt + 1,
            worker_id=bindparam("wid"),
            updated_at=bindparam("now"),
        )
        .returning(
            tasks.c.id,
            tasks.c.job_id,
            tasks.c.circuit_index,
            tasks.c.target,
            tasks.c.status,
            tasks.c.queue_status,
            tasks.c.attempt,
            tasks.c.circuit,
            tasks.c.bindings,
            tasks.c.shots,
            tasks.c.execution_id,
            tasks.c.lease_id,
            *(_of_job(name) for name in LEASE_JOB_COLUMNS),
        )
    )


def leading(head: Sequence[Any], job_id: str | None) -> list[int]:
    """The ids of ``head`` (rows of :func:`head_statement`, in the queue's order) a lease
    takes: all of them, or with ``job_id`` those of that job before any other job's (a
    job leased as it is stored does not overtake the queue)."""
    if job_id is None:
        return [row.id for row in head]
    taken = []
    for row in head:
        if row.job_id != job_id:
            break
        taken.append(row.id)
    return taken


def _of_job(name: str) -> Any:
    """The column ``name`` of the leased task's job, as a column of the lease's answer.

    The job id is compared through a CAST: in a RETURNING clause SQLite finds the job
    through its primary key only so (compared as it is, it reads the jobs in order up to
    the leased task's: a lease would slow down as the history grows, though its plan
    names the index; see ``tests/service/test_query_plans.py``)."""
    owner = jobs.c.id == cast(tasks.c.job_id, jobs.c.id.type)
    return select(jobs.c[name]).where(owner).scalar_subquery().label(name)
