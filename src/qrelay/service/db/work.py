"""The worker's side of tasks: leases, heartbeats, progress, results, and the reclaiming
of leases that expired.

Which task a lease takes is decided by :mod:`~qrelay.service.db.leasing` (the queue's
order) and :mod:`~qrelay.service.db.fairness` (the fair-share rank within a priority).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    update,
)

from qrelay.errors import ConflictError
from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    Register,
    WorkerTaskResults,
    WorkerTaskStatus,
    encode_readouts,
)
from qrelay.service import domain
from qrelay.service.auth import WorkerPrincipal, same_hash
from qrelay.service.db import leasing
from qrelay.service.db.base import (
    aware,
    derived_status,
    refresh_job,
    transition,
    transition_row,
    utcnow,
)
from qrelay.service.db.engine import read, rows, run, run_many, write
from qrelay.service.db.maintenance import MaintenanceStore
from qrelay.service.db.shaping import job_json, splice_json
from qrelay.service.db.tables import bound_list, tasks
from qrelay.service.problems import ApiError

#: Logged under the store's name, as before this module was split out of it.
log = logging.getLogger("qrelay.service.db.repo")

S = CircuitStatus
#: How often one worker's ``last_seen_at`` is written at most (seconds).
_SEEN_EVERY = 5.0


#: Task ids are 32-bit integers (bounds a batch's ids before they reach the database).
_MAX_TASK_ID = 2**31 - 1


def _task_number(task_id: str) -> int | None:
    """``task_id`` as a task's id could be (a positive 32-bit number), or None."""
    try:
        tid = int(task_id)
    except ValueError:
        return None
    return tid if 0 < tid <= _MAX_TASK_ID else None


class _Writes:
    """The rows a batch of results writes, gathered to be written together: one
    statement per kind (and per set of columns updated) for the whole batch."""

    def __init__(self) -> None:
        self.transitions: list[dict[str, Any]] = []
        self.updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        #: The tasks whose result is in this batch already.
        self.tasks: set[int] = set()

    def update(self, task_id: int, values: dict[str, Any]) -> None:
        self.tasks.add(task_id)
        self.updates.setdefault(tuple(sorted(values)), []).append({"tid": task_id, **values})

    def flush(self, conn: Connection, sql: Any) -> None:
        """Write what was gathered (``sql``: the store's prebuilt statements)."""
        run_many(conn, sql.insert_transition, self.transitions)
        for rows_of in self.updates.values():
            run_many(conn, sql.update_task, rows_of)


class WorkStore(MaintenanceStore):
    """The store's operations for workers."""

    def _seen_worker(self, conn: Connection, worker: WorkerPrincipal) -> None:
        """Record that ``worker`` was seen now (at most every few seconds per worker)."""
        now = time.monotonic()
        with self._seen_lock:
            last = self._seen.get(worker.worker_id)
            if last is not None and now - last < _SEEN_EVERY:
                return
            self._seen[worker.worker_id] = now
        run(conn, self._sql.seen, {"wid": worker.worker_id, "now": utcnow()})

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
                    transition(conn, t.id, old, new, now, message)
                    jobs_touched[t.job_id] = t.target
                    targets[t.target] = targets.get(t.target, 0) + 1
                    done += 1
            for job_id, target in jobs_touched.items():
                if refresh_job(conn, job_id, now) == S.FAILED.value:
                    failed.append(target)
        if done:
            log.info("reclaimed %d task(s) with expired leases", done)
        for target, count in targets.items():
            self.events.leases_expired(target, count)
        for target in failed:
            self.events.job_ended(target, S.FAILED.value)
        # Counted before the wake-up: a long poll it answers may read the metrics next.
        self.notifier.notify(*(f"job:{j}" for j in jobs_touched), *(f"target:{t}" for t in targets))
        return done

    def lease(self, worker: WorkerPrincipal, targets: Sequence[str]) -> bytes | None:
        """Lease the first queued task of ``targets`` (see :meth:`lease_many`), or None."""
        found = self.lease_many(worker, targets, 1)
        return found[0] if found else None

    def lease_many(
        self, worker: WorkerPrincipal, targets: Sequence[str], limit: int
    ) -> list[bytes]:
        """Lease up to ``limit`` queued tasks of ``targets`` in one transaction, each the
        head of the queue when it is taken (by priority, then fair-share rank, then
        submission; see :mod:`~qrelay.service.db.leasing`), each under a lease of its own."""
        if time.monotonic() - self._last_reclaim > self.reclaim_every:
            self.reclaim_expired()
        with write(self.engine) as conn:
            self._seen_worker(conn, worker)
            if not targets:
                return []  # nothing to serve
            return self._lease_in(conn, worker, targets, limit=limit)

    def _lease_in(
        self,
        conn: Connection,
        worker: WorkerPrincipal,
        targets: Sequence[str],
        *,
        limit: int = 1,
        job_id: str | None = None,
    ) -> list[bytes]:
        """:meth:`lease_many` inside a write transaction: the ``WorkerTask`` JSON of each
        task leased, in the order taken.

        With ``job_id`` a task is leased only while the head of the queue is that job's.
        The lease's statements return each task with its lease id and its job's columns;
        the jobs' derived statuses are then stored together (:meth:`_leased_jobs`)."""
        targets = self.open_targets(targets)  # none during a maintenance window
        if not targets or limit < 1:
            return []
        now = utcnow()
        expires = now + timedelta(seconds=self.lease_seconds)
        taken = self._take(conn, worker, targets, limit, job_id, now=now, expires=expires)
        if not taken:
            return []
        run_many(
            conn,
            self._sql.insert_transition,
            [
                transition_row(
                    t.id,
                    CircuitStatus(t.queue_status),
                    CircuitStatus(t.status),
                    now,
                    f"leased by worker {worker.name} (attempt {t.attempt})",
                )
                for t in taken
            ],
        )
        self._leased_jobs(conn, taken, now)
        deployment_id = self._deployment(conn)
        out = []
        for t in taken:
            self.events.task_leased(
                t.target, t.lease_id, aware(t.submitted_at) if t.attempt == 1 else None
            )
            # No wake-up for the job's long polls: they answer only once the job has ended,
            # and a lease never ends one (waking them would cost a read for nothing).
            head = {
                "task_id": str(t.id),
                "job_id": t.job_id,
                "circuit_index": t.circuit_index,
                "target": t.target,
                "job_type": t.job_type,
                "sim_method": t.sim_method,
                "shots": t.shots,
                "verbatim": t.verbatim,
                "memory": t.memory,
                "meas_level": t.meas_level,
                "options": t.options,
                "lease_id": t.lease_id,
                "lease_expires_at": expires.isoformat(),
                "attempt": t.attempt,
                "execution_id": t.execution_id,
                "deployment_id": deployment_id,
                "traceparent": t.traceparent,
            }
            raw = {"circuit": t.circuit, "bindings": t.bindings or "null"}
            out.append(splice_json(json.dumps(head, separators=(",", ":")), raw))
        return out

    def _take(
        self,
        conn: Connection,
        worker: WorkerPrincipal,
        targets: Sequence[str],
        limit: int,
        job_id: str | None,
        *,
        now: datetime,
        expires: datetime,
    ) -> list[Any]:
        """Lease up to ``limit`` tasks at the head of the queue of ``targets`` (with
        ``job_id``, only that job's while they lead it): the task rows, with their lease
        ids and their jobs' columns, in the queue's order. Two statements, however many
        tasks are taken (see :mod:`~qrelay.service.db.leasing`)."""
        head = rows(
            conn,
            self._sql.queue_head,
            {"targets": bound_list(self._pg, leasing.lease_targets(targets)), "n": limit},
        )
        ids = leasing.leading(head, job_id)
        if not ids:
            return []
        leased = rows(
            conn,
            self._sql.lease_tasks,
            {
                "tids": bound_list(self._pg, ids),
                "exp": expires,
                "wid": worker.worker_id,
                "now": now,
            },
        )
        order = {tid: position for position, tid in enumerate(ids)}
        return sorted(leased, key=lambda t: order[t.id])

    def _leased_jobs(self, conn: Connection, taken: Sequence[Any], now: datetime) -> None:
        """Store the derived status of the jobs of tasks just leased, all in one
        statement: a one-circuit job's is its task's, another's is read from its tasks."""
        only = {t.job_id: t.status if t.num_circuits == 1 else None for t in taken}
        run_many(
            conn,
            self._sql.set_job_status,
            [
                {"jid": jid, "st": derived_status(conn, jid, only=only[jid]), "now": now}
                for jid in sorted(only)
            ],
        )

    def _task_for(
        self,
        conn: Connection,
        worker: WorkerPrincipal,
        task_id: str,
        lease_id: str,
        *,
        lock: bool = False,
        heavy: bool = False,
        known: dict[int, Any] | None = None,
    ) -> Any:
        """The task under a current lease held through ``lease_id`` by this worker;
        404/403/409 otherwise. A lease id alone is not enough: another worker's token
        that learnt it is refused (403) and changes nothing. ``known``: the rows of a
        batch's tasks read together (see :meth:`_batch_tasks`), instead of a query."""
        try:
            tid = int(task_id)
        except ValueError:
            raise ApiError(404, "not_found", f"task_id: no task {task_id!r}") from None
        if known is not None:
            found = [known[tid]] if tid in known else []
        else:
            stmt = self._sql.task_heavy if heavy else self._sql.task_light
            found = rows(conn, stmt, {"tid": tid})
        if not found:
            raise ApiError(404, "not_found", f"task_id: no task {task_id!r}")
        row = found[0]
        if row.target not in worker.targets:
            raise ApiError(403, "forbidden", f"this worker does not serve target {row.target!r}")
        expires = aware(row.lease_expires_at)
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

    def _batch_tasks(
        self, conn: Connection, batch: Sequence[tuple[str, WorkerTaskResults]]
    ) -> dict[int, Any]:
        """The rows (heavy, locked on PostgreSQL in the order of their ids) of the tasks a
        batch of results names, by id, in one query; ids that are not numbers are left
        to :meth:`_task_for` to refuse (as are numbers no task id can be)."""
        ids = sorted({tid for tid in map(_task_number, (t for t, _ in batch)) if tid is not None})
        if not ids:
            return {}
        found = rows(conn, self._sql.tasks_heavy_of, {"tids": bound_list(self._pg, ids)})
        return {row.id: row for row in found}

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
                transition(conn, row.id, old, new, now, report.message)
            run(conn, self._sql.update_task, {"tid": row.id, **values})
            if "status" in values:
                single = values["status"] if row.num_circuits == 1 else None
                refresh_job(conn, row.job_id, now, only=single)
        # No wake-up: progress states are not terminal, and the job's long polls answer
        # only once it has ended.

    def post_result(
        self, worker: WorkerPrincipal, task_id: str, results: WorkerTaskResults
    ) -> None:
        """End a task with its result (see :meth:`post_results`); the refusal raised."""
        refused = self.post_results(worker, [(task_id, results)])[0]
        if refused is not None:
            raise refused

    def post_results(
        self, worker: WorkerPrincipal, batch: Sequence[tuple[str, WorkerTaskResults]]
    ) -> list[ApiError | None]:
        """End tasks with their results, all in one transaction; per result, None if it was
        accepted or the error that refused it (the task changed in nothing).

        Each result is checked on its own: its lease current and this worker's, its status
        one that ends a task, its readouts fitting the circuit. A task is recorded once: a
        result ends its lease, so the same result again (a retried request, or a task named
        twice) is refused as ``lease_lost`` and neither stored nor charged again. What is
        done once per job (its charge, its derived status, waking its long polls) is done
        once per batch.
        """
        now = utcnow()
        answers: list[ApiError | None] = []
        ended: list[tuple[Any, WorkerTaskResults]] = []
        charges: dict[str, int] = {}
        job_rows: dict[str, Any] = {}
        writes = _Writes()
        with write(self.engine) as conn:
            known = self._batch_tasks(conn, batch)
            for task_id, results in batch:
                try:
                    row, charge = self._record_result(
                        conn, worker, task_id, results, now=now, writes=writes, known=known
                    )
                except ApiError as exc:
                    answers.append(exc)
                    continue
                except ConflictError as exc:  # a move the state machine does not allow
                    answers.append(ApiError(409, exc.code, str(exc)))
                    continue
                answers.append(None)
                if row is None:
                    continue  # cancelled before its result came: withheld
                ended.append((row, results))
                job_rows.setdefault(row.job_id, row)
                if charge > 0:
                    charges[row.job_id] = charges.get(row.job_id, 0) + charge
            writes.flush(conn, self._sql)
            single = {row.job_id: results.status.value for row, results in ended}
            job_now = self._finish_jobs(conn, job_rows, single, charges, now)
            ended_rows = self._ended_jobs(conn, job_rows, job_now)
            self._charge_users(conn, job_rows, charges)
        # shaped after the commit: a large readout's JSON (an estimator's 3 MB) is not
        # written while the database's write lock is held
        finished: dict[str, bytes | None] = dict.fromkeys(job_rows)
        finished |= {
            jid: job_json(job, trows, heavy=True) for jid, (job, trows) in ended_rows.items()
        }
        self._announce(finished, ended, job_rows, charges, job_now)
        return answers

    def _announce(
        self,
        finished: dict[str, bytes | None],
        ended: list[tuple[Any, WorkerTaskResults]],
        job_rows: dict[str, Any],
        charges: dict[str, int],
        job_now: dict[str, str],
    ) -> None:
        """After a batch's commit: count what happened, then wake the jobs' long polls (a
        client they answer may read the metrics next, and finds the batch counted)."""
        for row, results in ended:
            self.events.task_ended(row.target, results.lease_id, results.status.value)
        for job_id, row in job_rows.items():
            if charges.get(job_id, 0) > 0:
                self.events.charged(row.target, charges[job_id])
            if CircuitStatus(job_now[job_id]) in TERMINAL_CIRCUIT_STATES:
                self.events.job_ended(row.target, job_now[job_id])
        for job_id, value in finished.items():
            self.notifier.notify(f"job:{job_id}", value=value)

    def _record_result(
        self,
        conn: Connection,
        worker: WorkerPrincipal,
        task_id: str,
        results: WorkerTaskResults,
        *,
        now: datetime,
        writes: _Writes,
        known: dict[int, Any],
    ) -> tuple[Any, int]:
        """Record one task's result in ``writes`` (written by the caller, with the batch's
        others): its row and what it charges (charged by the caller, once per job), or
        None for a task cancelled before its result came. Everything is checked before
        anything of the task is recorded; a task already recorded in this batch is
        refused as its lease would be once written."""
        if results.status not in (S.COMPLETED, S.FAILED, S.CANCELLED):
            raise ApiError(
                422,
                "validation_error",
                f"status: {results.status.value!r}; a result ends a task as "
                "completed, failed or cancelled",
            )
        row = self._task_for(
            conn, worker, task_id, results.lease_id, lock=True, heavy=True, known=known
        )
        if row.id in writes.tasks:
            self.events.lease_fenced()
            raise ApiError(
                409,
                "lease_lost",
                f"lease_id: the lease of task {task_id} is not current (its result is in)",
            )
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
            writes.update(row.id, values)
            return None, 0
        new = results.status
        domain.check_transition(old, new)
        if results.status is S.COMPLETED:
            charge = self._completed_values(row, results, values)
        if results.compiled_circuit is not None:
            values["compiled_circuit"] = results.compiled_circuit.model_dump_json()
        if results.initial_logical_to_physical is not None:
            values["initial_l2p"] = {
                str(k): v for k, v in results.initial_logical_to_physical.items()
            }
        if results.final_logical_to_physical is not None:
            values["final_l2p"] = {str(k): v for k, v in results.final_logical_to_physical.items()}
        if results.execution_id is not None:
            values["execution_id"] = results.execution_id
        if results.calibration_id is not None:
            values["calibration_id"] = results.calibration_id
        values["status"] = new.value
        values["status_message"] = results.status_message
        writes.transitions.append(transition_row(row.id, old, new, now, results.status_message))
        writes.update(row.id, values)
        return row, charge

    def _completed_values(
        self, row: Any, results: WorkerTaskResults, values: dict[str, Any]
    ) -> int:
        """Check a completed task's readouts against its circuit (422 if they do not fit),
        add them and their counts to the task's ``values``; what the task charges."""
        layout = json.loads(row.circuit)
        # The stored circuit was checked when the job was submitted: only its shape is
        # needed here, so it is not checked again for every result.
        shape = Circuit.model_construct(
            num_qubits=layout["num_qubits"],
            registers=[Register.model_construct(**r) for r in layout.get("registers", [])],
        )
        try:
            observables = layout.get("observables")
            count = None if observables is None else len(observables)
            readouts = domain.check_results(
                shape, row.num_rows, row.shots, results, observables=count
            )
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
            return domain.compile_charge(price)
        return domain.charge_for(readouts, price)

    def _finish_jobs(
        self,
        conn: Connection,
        job_rows: dict[str, Any],
        single: dict[str, str],
        charges: dict[str, int],
        now: datetime,
    ) -> dict[str, str]:
        """Store the derived status of each job of a batch (``single``: the status of a
        one-circuit job's task; another's is read from its tasks) and add what its
        results charged to its cost (nothing for a free job, an admin's: ``charges`` is
        set to what was charged), all jobs in one statement; each job's new status."""
        job_now: dict[str, str] = {}
        for job_id, row in job_rows.items():
            only = single[job_id] if row.num_circuits == 1 else None
            job_now[job_id] = derived_status(conn, job_id, only=only)
            charges[job_id] = charges.get(job_id, 0) if row.charged else 0
        run_many(
            conn,
            self._sql.finish_job,
            [
                {"jid": job_id, "st": job_now[job_id], "now": now, "amount": charges[job_id]}
                for job_id in sorted(job_rows)
            ],
        )
        return job_now

    def _charge_users(
        self, conn: Connection, job_rows: dict[str, Any], charges: dict[str, int]
    ) -> None:
        """Take what a batch charged from its users' balances, one statement per user, as
        the batch's last (a user's row stays locked until the commit, and a submission of
        theirs checks the balance under that lock)."""
        owed: dict[str, int] = {}
        for job_id, row in job_rows.items():
            if charges[job_id] > 0:
                owed[row.user_id] = owed.get(row.user_id, 0) + charges[job_id]
        run_many(
            conn,
            self._sql.charge_user,
            [{"uid": uid, "amount": amount} for uid, amount in sorted(owed.items())],
        )

    def _ended_jobs(
        self, conn: Connection, job_rows: dict[str, Any], job_now: dict[str, str]
    ) -> dict[str, tuple[Any, list[Any]]]:
        """The job row and task rows, with readouts, of each job of the batch that has
        ended and that a long poll of this process waits on: its ``JobData`` is what the
        poll would read next, sent along with its wake-up (read here, in the transaction
        that ended the jobs, it costs two queries for the whole batch instead of a
        transaction per poll; shaped by the caller once the transaction commits)."""
        wanted = sorted(
            job_id
            for job_id in job_rows
            if CircuitStatus(job_now[job_id]) in TERMINAL_CIRCUIT_STATES
            and self.notifier.waiting(f"job:{job_id}")
        )
        if not wanted:
            return {}
        value = bound_list(self._pg, wanted)
        by_job: dict[str, list[Any]] = {job_id: [] for job_id in wanted}
        for t in rows(conn, self._sql.jobs_tasks_heavy, {"jids": value}):
            by_job[t.job_id].append(t)
        return {
            job.id: (job, by_job[job.id])
            for job in rows(conn, self._sql.job_rows_of, {"jids": value})
        }
