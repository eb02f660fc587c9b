"""Submission: a new job checked against its target and its user's room, then stored
with its circuits queued, in one transaction (or answered as the replay of the earlier
submission with the same idempotency key).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
)
from sqlalchemy.exc import IntegrityError

from qrelay.errors import PayloadError
from qrelay.payload import (
    Circuit,
    CircuitStatus,
    CircuitType,
    JobType,
    NewJob,
    NewJobResponse,
    TargetInfo,
    TargetStatus,
    check_target_limits,
)
from qrelay.service import domain, money
from qrelay.service.auth import UserPrincipal, WorkerPrincipal, same_hash
from qrelay.service.db import fairness, listing
from qrelay.service.db.base import utcnow
from qrelay.service.db.engine import new_id, read, rows, run, run_many, write
from qrelay.service.db.work import WorkStore
from qrelay.service.problems import ApiError

S = CircuitStatus


class Submitted(NamedTuple):
    """What :meth:`Store.submit` did."""

    #: The ``NewJobResponse`` JSON (without its ``job``).
    response: str
    #: Whether the job is new (False: a replay of an earlier submission with its key).
    created: bool
    #: The ``WorkerTask`` JSON of the task leased to ``lease_by``, if it was.
    task: bytes | None = None
    #: Those of the job's further tasks leased to ``lease_by`` too, in circuit order.
    more_tasks: tuple[bytes, ...] = ()
    #: The new job's id (None for a replay or a dry run).
    job_id: str | None = None
    #: Whether the answer waited for the job, and ``response`` carries it as ``job``.
    held: bool = False
    #: The job as validated and stored, when tasks of it were leased (``task``): an
    #: in-process caller that runs them reads their circuits from here (see
    #: :func:`qrelay.service.local.leased_tasks`).
    job: NewJob | None = None


#: Room left in a result body for what comes with the readouts (the compiled circuit,
#: layouts, status message): a readout must fit the body limit less this.
_RESULT_HEADROOM = 16 * 1024

#: The ``Retry-After`` of a submission refused because the user has too many jobs
#: unfinished: about how long a few short jobs take to end.
_FULL_QUEUE_RETRY_SECONDS = 5.0


class SubmissionStore(WorkStore):
    """The store's submission (over :class:`WorkStore`: a submission may lease its one
    task in its own transaction)."""

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
        traceparent: str | None = None,
    ) -> Submitted:
        """Store a job and queue its circuits in one transaction.

        With ``lease_by`` (a worker of the job's target) the job's tasks are leased to that
        worker in the same transaction, each if it heads its target's queue, by priority,
        fair-share rank and then submission, as :meth:`lease` would pick it: the embedded
        default runs a brief job where it was submitted (see :mod:`qrelay.service.local`),
        and a job does not overtake the queue by it. Only tasks left queued wake the
        workers.
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
        job_row = _job_values(
            principal,
            job,
            job_id=job_id,
            queue=queue,
            estimate=estimate,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            response=response,
            now=now,
        )
        job_row["traceparent"] = traceparent  # the trace the job's tasks continue
        task_rows = self._task_values(job, job_id, queue, now)
        key = {"uid": principal.user_id, "key": idempotency_key}
        reads = key | {"target": job.target, "prio": job.priority}
        leased: list[bytes] = []
        try:
            with write(self.engine) as conn:
                found = rows(conn, sql.submit_reads, reads)[0]
                if found.request_hash is not None:
                    return Submitted(_replay(found, request_hash), created=False)
                first = fairness.first_rank(found.head, found.mine)
                self._queue_job(conn, job_row, task_rows, first)
                if lease_by is not None:  # undone with the rest if the check refuses
                    leased = self._lease_job(conn, lease_by, job, job_id)
                if not principal.is_admin:  # last: the user's row stays locked till commit
                    self._check_room(conn, principal.user_id, job_id, estimate, job.num_circuits)
        except IntegrityError:
            # A concurrent duplicate committed first: answer as its replay.
            with read(self.engine) as conn:
                found = rows(conn, sql.find_key, key)
            if not found:
                raise ApiError(
                    409, "conflict", "a request with this Idempotency-Key is in progress; retry"
                ) from None
            return Submitted(_replay(found[0], request_hash), created=False)
        if len(leased) < job.num_circuits:  # tasks left queued: wake the workers
            self.notifier.notify(f"target:{job.target}")
        self.events.job_submitted(job.target)
        return Submitted(
            response,
            created=True,
            task=leased[0] if leased else None,
            more_tasks=tuple(leased[1:]),
            job_id=job_id,
            job=job if leased else None,
        )

    def _lease_job(
        self, conn: Connection, worker: WorkerPrincipal, job: NewJob, job_id: str
    ) -> list[bytes]:
        """Lease the new job's tasks to ``worker`` in circuit order while each is the head
        of its queue (another user's task ranked in between ends it there)."""
        return self._lease_in(conn, worker, [job.target], limit=job.num_circuits, job_id=job_id)

    def _task_values(
        self, job: NewJob, job_id: str, queue: CircuitStatus, now: datetime
    ) -> list[dict[str, Any]]:
        """The rows of a new job's tasks, one per circuit, without their fair-share rank."""
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
        return task_rows

    def _queue_job(
        self,
        conn: Connection,
        job_row: dict[str, Any],
        task_rows: list[dict[str, Any]],
        first: int,
    ) -> None:
        """Inside the submission's write transaction: rank the tasks from ``first`` (see
        :mod:`~qrelay.service.db.fairness`), insert the job and its tasks, and record each
        task's move from received to queued."""
        sql = self._sql
        for index, task_row in enumerate(task_rows):
            task_row["share"] = first + index
        run(conn, sql.insert_job, job_row)
        run_many(conn, sql.insert_tasks, task_rows)
        run(conn, sql.queue_transitions, {"jid": job_row["id"], "at": job_row["submitted_at"]})

    def _check_room(
        self, conn: Connection, user_id: str, job_id: str, estimate: int, circuits: int
    ) -> None:
        """Refuse a user's submission that does not fit, inside its write transaction.

        It runs after the job ``job_id`` is inserted (and leaves that job out of what it
        counts), as the transaction's last statement: on PostgreSQL the user's row is
        locked from here to the commit, so two submissions racing for the same money are
        still checked one after the other, but the lock is not held while the job and its
        tasks are written. Whatever committed before the lock was taken is counted (each
        statement reads what is committed when it starts).

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
        found = rows(conn, self._sql.unfinished, {"uid": user_id, "jid": job_id})
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


def _job_values(
    principal: UserPrincipal,
    job: NewJob,
    *,
    job_id: str,
    queue: CircuitStatus,
    estimate: int,
    idempotency_key: str,
    request_hash: str,
    response: str,
    now: datetime,
) -> dict[str, Any]:
    """The row of a new job, as it is inserted."""
    return {
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


def _replay(found: Any, request_hash: str) -> str:
    if not same_hash(found.request_hash, request_hash):
        raise ApiError(
            422,
            "idempotency_mismatch",
            "Idempotency-Key: this key was used with a different request body",
        )
    return str(found.response)


def request_digest(body: bytes) -> str:
    """The stored fingerprint of a request body, to tell a replay from a different body."""
    return hashlib.sha256(body).hexdigest()
