"""Machine workers: how they are registered, what they lease, and what they report.

A worker leases one circuit of a job at a time (a *task*), keeps the lease alive with
heartbeats and posts the result under the lease id it was given. A post under any other
lease is refused, which is how a task that was handed to a second worker after the first
went quiet is never completed twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Self

from pydantic import Field, JsonValue, ValidationInfo

from qrelay.errors import PayloadError
from qrelay.payload._base import CheckedModel, WireModel
from qrelay.payload.bounds import Name, Printable
from qrelay.payload.circuit import Bindings, Circuit
from qrelay.payload.jobs import CircuitStatus, JobType, SimMethod
from qrelay.payload.readout import Readout
from qrelay.payload.run_options import RunOptions


class NewWorker(WireModel):
    """An admin's request to register a worker for some targets."""

    name: Name
    targets: Annotated[
        list[Annotated[Printable, Field(min_length=1, max_length=128)]],
        Field(min_length=1, max_length=1000),
    ]


class WorkerTokenResponse(WireModel):
    """A new worker's token. Shown once; the service stores only a hash."""

    worker_id: str
    name: str
    targets: list[str]
    token: str
    #: When the token stops working (``ServiceSettings.worker_token_days``); None: never.
    token_expires_at: datetime | None = None


class WorkerInfo(WireModel):
    """A worker as the service shows it after a token change. Tokens are never shown here."""

    worker_id: str
    name: str
    targets: list[str]
    active: bool
    token_expires_at: datetime | None = None


class WorkerTask(WireModel):
    """A leased circuit: everything a worker needs to compile and run it.

    ``execution_id`` is set when an earlier attempt already submitted the program to a
    device; the worker resumes that execution instead of submitting again.
    ``deployment_id`` is the service's random, per-deployment id: a device driver puts it
    in the keys it submits under, so deployments sharing a device never collide.
    """

    task_id: str
    job_id: str
    circuit_index: int
    target: str
    job_type: JobType
    sim_method: SimMethod | None = None
    shots: int
    circuit: Circuit
    bindings: Bindings | None = None
    verbatim: bool = False
    memory: bool = False
    meas_level: int = 2
    options: dict[str, JsonValue] = {}
    lease_id: str
    lease_expires_at: datetime
    attempt: Annotated[int, Field(ge=1)]
    execution_id: str | None = None
    deployment_id: str | None = None
    #: The W3C traceparent the job was submitted under, when it was traced: the worker's
    #: spans for the task join that trace.
    traceparent: Annotated[str, Field(max_length=64)] | None = None

    def seed(self) -> int | None:
        """The simulator seed of this circuit, when the job's ``options.seed`` gives one.

        Circuit ``i`` of a job draws with ``seed + i`` (as Aer seeds the experiments of one
        run), so the circuits of one seeded job are independent samples, not one sample
        drawn again; circuit 0 keeps the seed as given. The job's seed is read, and a bad
        one refused by name, by :class:`~qrelay.payload.run_options.RunOptions`.
        """
        seed = RunOptions.of(self).seed
        return None if seed is None else seed + self.circuit_index

    def binding_count(self) -> int:
        """How many times the circuit runs: the rows of its bindings table, or once."""
        return 1 if self.bindings is None else len(self.bindings)


class WorkerTaskStatus(WireModel):
    """A worker's progress report for a leased task (and its execution id once known)."""

    lease_id: str
    status: CircuitStatus
    message: str | None = None
    execution_id: str | None = None


class HeartbeatResponse(WireModel):
    """The answer to a heartbeat: the new expiry, and whether the user asked to cancel."""

    lease_expires_at: datetime
    cancel_requested: bool = False


class WorkerTaskResults(CheckedModel):
    """A worker's result for a leased task.

    On ``completed``, either ``readouts`` (packed, one per binding row) or the seed's
    ``measurements`` form (bitstring to the shot indices that gave it) is given.
    """

    lease_id: str
    status: CircuitStatus
    status_message: str | None = None
    successful_shots: Annotated[int, Field(ge=0)] | None = None
    measurements: dict[str, list[int]] | None = None
    readouts: list[Readout] | None = None
    compiled_circuit: Circuit | None = None
    initial_logical_to_physical: dict[int, int] | None = None
    final_logical_to_physical: dict[int, int] | None = None
    execution_id: str | None = None
    #: The calibration the device ran under (``qrelay.payload.calibration``), if it has one.
    calibration_id: Annotated[str, Field(max_length=64)] | None = None
    metadata: dict[str, JsonValue] = {}

    def _check(self, info: ValidationInfo) -> Self:
        """The seed's rules: results only on completion, and shot indices exactly cover.

        COMPLETED needs ``successful_shots`` and results; measurement keys are bitstrings
        of one length; together the shot indices are exactly ``range(successful_shots)``.
        """
        has_results = self.measurements is not None or self.readouts is not None
        if self.status is not CircuitStatus.COMPLETED:
            if has_results or self.successful_shots is not None:
                raise PayloadError(
                    f"results given with status {self.status.value!r}; only completed has results"
                )
            return self
        if self.successful_shots is None or not has_results:
            raise PayloadError("status 'completed' needs successful_shots and results")
        if self.measurements is not None:
            lengths = {len(key) for key in self.measurements}
            if len(lengths) > 1:
                raise PayloadError("measurements: keys are bitstrings of different lengths")
            for key in self.measurements:
                if key.strip("01"):
                    raise PayloadError(f"measurements: key {key!r} is not a bitstring")
            indices = sorted(i for shots in self.measurements.values() for i in shots)
            if indices != list(range(self.successful_shots)):
                raise PayloadError(
                    "measurements: shot indices must be exactly range(successful_shots) "
                    f"= range({self.successful_shots})"
                )
        if self.readouts is not None:
            for k, readout in enumerate(self.readouts):
                if readout.successful_shots != self.successful_shots:
                    raise PayloadError(
                        f"readouts[{k}]: {readout.successful_shots} shots, but "
                        f"successful_shots is {self.successful_shots}"
                    )
        return self


#: The most task results one batch may carry (``POST /v1/worker/results``); a worker with
#: more posts them in several batches.
MAX_RESULTS_PER_BATCH: Final = 1000


class TaskResults(WorkerTaskResults):
    """One task's result in a batch: :class:`WorkerTaskResults` naming its task."""

    task_id: Annotated[str, Field(min_length=1, max_length=32)]


class WorkerResultsBatch(WireModel):
    """Several tasks' results, recorded in one transaction (``POST /v1/worker/results``).

    Each is checked as a single result is (its lease current and held by this worker, its
    readouts fitting its circuit) and accepted or refused on its own.
    """

    results: Annotated[list[TaskResults], Field(min_length=1, max_length=MAX_RESULTS_PER_BATCH)]


class TaskResultOutcome(WireModel):
    """What became of one result of a batch: accepted, or refused with the error a single
    post would have answered (``code`` such as ``lease_lost``, and why)."""

    task_id: str
    accepted: bool
    status: int | None = None
    code: str | None = None
    message: str | None = None


class LeasedTasks(WireModel):
    """The tasks one lease request took (``POST /v1/worker/lease`` with ``max_tasks``),
    each under a lease of its own; empty when none came within the wait."""

    tasks: list[WorkerTask] = []


class WorkerResultsAnswer(WireModel):
    """The answer to a batch of results: an outcome per result, in order, and the tasks
    leased with it when the request asked (``lease``)."""

    outcomes: list[TaskResultOutcome]
    tasks: list[WorkerTask] = []


class ExternalProviderCredentials(WireModel):
    """Credentials for a provider behind a driver (for a device reached through a vendor)."""

    provider: str
    token: str | None = None
    url: str | None = None
    extra: dict[str, str] = {}
