"""Fair share: within a priority, users' queued tasks take turns at the workers.

Each task gets a rank (``tasks.share``) when it is stored; leases take the lowest rank
first (then the oldest task). A new job's circuits rank from the head of its queue, or
just after the same user's last queued task of that queue if that is later, one rank per
circuit. A user's backlog therefore stretches out behind everyone else's next task
instead of in front of it: a user with one circuit waits for about one circuit of each
other user with queued work, not for their whole backlog.

Ranks are compared only among queued tasks of one target and priority. The bound on a
user's unfinished circuits (``max_unfinished_circuits``) bounds how far a backlog
stretches and what computing a rank reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select

from qrelay.service.db.tables import QUEUED, UNFINISHED, jobs, one_of, tasks


def rank_statement(*columns: Any) -> Any:
    """``head`` (the lowest rank queued at ``target``/``prio``) and ``mine`` (the highest
    rank there of user ``uid``'s tasks), each None when there is none; ``columns``: more
    values read in the same statement (a submission's other reads).

    The queue is all of the target's queued tasks of the priority, whatever their queue
    state (awaiting simulation, compilation, submission), as a lease orders them. A test
    on one state as well kept SQLite from reading ``min``/``max`` at the ends of the
    index: each submission walked every queued task of the target (the statement took
    62 us with 2,000 queued, 10 us without the test)."""
    same_queue = (
        tasks.c.target == bindparam("target"),
        one_of(tasks.c.status, QUEUED),
        tasks.c.priority == bindparam("prio"),
    )
    head = select(func.min(tasks.c.share)).where(*same_queue).scalar_subquery()
    # Each queued task's owner looked up by its job's key, a correlated subquery the
    # planner cannot turn around: joined instead, PostgreSQL (thinking the user had one
    # unfinished job) scanned all of the user's jobs again for every queued task, a cost
    # that grew with the user's history.
    owner = (
        select(jobs.c.user_id)
        .where(jobs.c.id == tasks.c.job_id, one_of(jobs.c.status, UNFINISHED))
        .scalar_subquery()
    )
    mine = (
        select(func.max(tasks.c.share))
        .where(*same_queue, owner == bindparam("uid"))
        .scalar_subquery()
    )
    return select(head.label("head"), mine.label("mine"), *columns)


def first_rank(head: int | None, mine: int | None) -> int:
    """The rank of a new job's first circuit (see the module's docstring)."""
    if mine is not None:
        return max(mine + 1, head or 0)
    return head or 0
