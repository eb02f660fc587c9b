"""Posting a worker's finished tasks' results to the service, in as few requests as the
batch bound allows (internal to :mod:`qrelay.worker.task`).

The service refuses a body over its size limit and can refuse a single result (one that
does not fit its task); each refusal is handled here, on its own, so one bad result never
loses the others of its request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Final

from qrelay.errors import ServiceError
from qrelay.payload import MAX_RESULTS_PER_BATCH, CircuitStatus, TaskResults, WorkerTask
from qrelay.runtime import tracing
from qrelay.worker.api import WorkerChannel

log = logging.getLogger("qrelay.worker.task")

#: The HTTP status of a request body over the service's limit.
_TOO_LARGE: Final = 413

#: What a batch's last request leases next: (targets, wait in seconds, most tasks).
NextLease = tuple[list[str], float, int]


class ResultPoster:
    """Posts results through ``api`` and counts the tasks whose result was accepted."""

    def __init__(self, api: WorkerChannel) -> None:
        self.api = api
        self.tasks_done = 0
        #: Task id to the ``traceparent`` of its task's span (traced runs only), so each
        #: job's trace holds the post of its result, whichever batch carried it.
        self.traces: dict[str, str] = {}

    def follow(self, task_id: str) -> None:
        """Remember the current trace as task ``task_id``'s, for its result's post."""
        if (parent := tracing.traceparent()) is not None:
            self.traces[task_id] = parent

    def forget(self, task_id: str) -> None:
        """Task ``task_id`` is done with: its trace is remembered no longer."""
        self.traces.pop(task_id, None)

    def post_results(
        self, done: Sequence[TaskResults], lease_next: NextLease | None = None
    ) -> list[WorkerTask]:
        """Post ``done`` in as few requests as the batch bound allows, the last one
        leasing the next tasks when ``lease_next`` asks; those tasks."""
        if not done:
            return [] if lease_next is None else self.api.lease_many(*lease_next)
        following: list[WorkerTask] = []
        parents = list(dict.fromkeys(p for r in done if (p := self.traces.pop(r.task_id, None))))
        began = time.time_ns()
        with (
            tracing.continued(parents[0] if parents else None),
            tracing.span("qrelay.worker.post", results=len(done)),
        ):
            for start in range(0, len(done), MAX_RESULTS_PER_BATCH):
                chunk = done[start : start + MAX_RESULTS_PER_BATCH]
                last = start + MAX_RESULTS_PER_BATCH >= len(done)
                following = self._send(chunk, lease_next if last else None)
        for parent in parents[1:]:  # the batch's other jobs' traces get the post too
            with tracing.continued(parent):
                tracing.record("qrelay.worker.post", began, results=len(done))
        return following

    def _send(self, chunk: Sequence[TaskResults], lease_next: NextLease | None) -> list[WorkerTask]:
        """One request with ``chunk``'s results, each refusal handled on its own. A body
        over the service's limit goes again in halves, and a single result over it fails
        its task, saying why."""
        try:
            if lease_next is None:
                outcomes, following = self.api.results(chunk)
            else:
                targets, wait, limit = lease_next
                outcomes, following = self.api.results(chunk, lease=targets, wait=wait, limit=limit)
        except ServiceError as exc:
            if exc.status != _TOO_LARGE:
                raise
            if len(chunk) > 1:
                half = len(chunk) // 2
                self._send(chunk[:half], None)
                return self._send(chunk[half:], lease_next)
            log.error("task %s: the service refused the result: %s", chunk[0].task_id, exc)
            return self._send([self._refused(chunk[0], exc)], lease_next)
        retry: list[TaskResults] = []
        for results, outcome in zip(chunk, outcomes, strict=True):
            if outcome.accepted:
                self.tasks_done += 1
                log.info("task %s: %s", results.task_id, results.status.value)
            elif outcome.code == "validation_error" and results.status is CircuitStatus.COMPLETED:
                # The result does not fit the task (a driver's fault): running it again
                # would give the same, so fail it, saying why.
                log.error(
                    "task %s: the service refused the result: %s", results.task_id, outcome.message
                )
                retry.append(self._refused(results, outcome.message))
            else:
                log.warning(
                    "task %s: result refused (%s: %s); dropped",
                    results.task_id,
                    outcome.code,
                    outcome.message,
                )
        if retry:
            self._send(retry, None)
        return following

    @staticmethod
    def _refused(results: TaskResults, reason: object) -> TaskResults:
        """The failed result that replaces one the service refused."""
        return TaskResults(
            task_id=results.task_id,
            lease_id=results.lease_id,
            status=CircuitStatus.FAILED,
            status_message=f"the worker's result was refused by the service: {reason}",
            execution_id=results.execution_id,
        )
