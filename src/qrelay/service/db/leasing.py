"""Which task a lease takes, and the target list a lease may name.

A lease names the targets it serves. The list is untrusted: it is deduplicated and capped
(:func:`lease_targets`) before it reaches the database, and it is bound as one parameter
(``= ANY(:targets)`` on PostgreSQL, ``IN (SELECT value FROM json_each(:targets))`` on
SQLite), so the statement has one shape whatever the list's length and SQLAlchemy's
compiled cache holds one entry for it.

Within a priority the queue is ordered by each task's fair-share rank (see
:mod:`qrelay.service.db.fairness`), then by submission.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import String, and_, any_, bindparam, case, cast, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from qrelay.service import domain
from qrelay.service.db.tables import QUEUED, jobs, one_of, tasks
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


def targets_value(postgres: bool, targets: Sequence[str]) -> Any:
    """The ``targets`` parameter of :func:`lease_statement`: a list for PostgreSQL's array,
    JSON text for SQLite's ``json_each``."""
    return list(targets) if postgres else json.dumps(list(targets))


def lease_statement(postgres: bool, *, of_job: bool) -> Any:
    """The statement that leases the head of the queue of ``:targets``, and returns the
    task with its job's :data:`LEASE_JOB_COLUMNS` (scalar subqueries: SQLite's RETURNING
    names no other table), so a lease reads its job in no statement of its own.

    ``of_job``: the task at the head of the queue, only if it belongs to the job ``jid``
    (a job leased as it is stored does not overtake the queue)."""
    if postgres:
        named = tasks.c.target == any_(bindparam("targets", type_=ARRAY(String)))
    else:
        each = func.json_each(bindparam("targets")).table_valued("value")
        named = tasks.c.target.in_(select(each.c.value))
    pick = (
        select(tasks.c.id)
        .where(named, one_of(tasks.c.status, QUEUED))
        .order_by(tasks.c.priority.desc(), tasks.c.share, tasks.c.id)
        .limit(1)
    )
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    chosen = tasks.c.id == pick.scalar_subquery()
    if of_job:
        chosen = and_(chosen, tasks.c.job_id == bindparam("jid"))
    new_status = case(
        *((tasks.c.status == q.value, w.value) for q, w in domain.LEASED_STATE.items()),
        else_=tasks.c.status,
    )
    return (
        update(tasks)
        .where(chosen)
        .values(
            status=new_status,
            lease_id=bindparam("lid"),
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
            *(_of_job(name) for name in LEASE_JOB_COLUMNS),
        )
    )


def _of_job(name: str) -> Any:
    """The column ``name`` of the leased task's job, as a column of the lease's answer.

    The job id is compared through a CAST: in a RETURNING clause SQLite finds the job
    through its primary key only so (compared as it is, it reads the jobs in order up to
    the leased task's: a lease would slow down as the history grows, though its plan
    names the index; see ``tests/service/test_query_plans.py``)."""
    owner = jobs.c.id == cast(tasks.c.job_id, jobs.c.id.type)
    return select(jobs.c[name]).where(owner).scalar_subquery().label(name)
