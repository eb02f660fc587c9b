"""Jobs: what a user submits, what the service answers, and a job's state per circuit.

The vocabulary follows the job models of Infleqtion's general-superstaq, so people who know
that service find their way: a job holds one or more circuits, each with its own status,
counts and compiled form. What this payload adds: bindings tables for sweeps, the readout
layout in each circuit, and packed readout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Final

from pydantic import AfterValidator, Field, JsonValue, model_validator

from qrelay.errors import PayloadError
from qrelay.payload import control
from qrelay.payload._base import PAYLOAD_VERSION, PAYLOAD_VERSIONS, WireModel
from qrelay.payload.bounds import Metadata, Printable, Tag, Tags
from qrelay.payload.circuit import Bindings, Circuit
from qrelay.payload.readout import Readout
from qrelay.payload.run_options import RunOptions


class JobType(str, Enum):
    """What a job asks for."""

    SUBMIT = "submit"  # run on the target (a device, or the target's own simulator)
    SIMULATE = "simulate"  # simulate, with the target's noise when sim_method is noise-sim
    COMPILE = "compile"  # compile to the target and return the compiled circuits only
    CONVERT = "convert"  # convert between circuit types and return the result only


class CircuitType(str, Enum):
    """The form circuits arrive in."""

    PAYLOAD = "payload"
    QASM2 = "qasm2"
    QASM3 = "qasm3"


class SimMethod(str, Enum):
    """How a ``simulate`` job simulates: ideal, or with noise."""

    SIM = "sim"
    NOISE_SIM = "noise-sim"


class CircuitStatus(str, Enum):
    """The state of one circuit of a job. Transitions live in ``qrelay.service.domain``."""

    RECEIVED = "received"
    AWAITING_COMPILE = "awaiting_compile"
    COMPILING = "compiling"
    AWAITING_SIMULATION = "awaiting_simulation"
    SIMULATING = "simulating"
    AWAITING_SUBMISSION = "awaiting_submission"
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DELETED = "deleted"
    UNRECOGNIZED = "unrecognized"


#: The status of a job: the same states as a circuit's, and the same enum on the wire. A
#: job's status is derived from its circuits' (see :func:`qrelay.payload.status.job_status`);
#: this name says which of the two a field holds.
JobStatus = CircuitStatus

#: States a circuit never leaves (except to ``deleted``).
TERMINAL_CIRCUIT_STATES: Final = frozenset(
    {CircuitStatus.COMPLETED, CircuitStatus.FAILED, CircuitStatus.CANCELLED, CircuitStatus.DELETED}
)
#: Terminal states that gave no result.
UNSUCCESSFUL_CIRCUIT_STATES: Final = frozenset(
    {CircuitStatus.FAILED, CircuitStatus.CANCELLED, CircuitStatus.DELETED}
)

#: The highest priority a job may have (roles allow less: ``qrelay.payload.users``).
MAX_JOB_PRIORITY: Final = 10


def _in_utc(value: datetime) -> datetime:
    """``value`` in UTC (a naive value is taken as UTC); refused if it has no UTC date."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PayloadError(
            f"{value.isoformat()} is outside the dates this service stores "
            f"({datetime.min.year:04d}-01-01 to {datetime.max.year}-12-31 in UTC)"
        ) from None


#: A date and time, normalised to UTC.
Timestamp = Annotated[datetime, AfterValidator(_in_utc)]

#: The most circuits (payload or OpenQASM) one job may hold.
MAX_CIRCUITS: Final = 10_000


class NewJob(WireModel):
    """A submission: circuits (payload or OpenQASM text) and how to run them.

    ``bindings`` is parallel to the circuits: ``bindings[i]`` is circuit ``i``'s sweep
    table, or ``None`` to run it once. ``options`` go to the device driver (for example a
    user-given noise model for ``noise-sim`` on a simulator target); the keys
    :class:`~qrelay.payload.run_options.RunOptions` reads (``seed``, ``noise``,
    ``optimization_level``) are checked here, so a bad one is refused at submission.

    ``version`` is the oldest payload version that reads the circuits: left out, it is
    worked out from them (payload.v2 for loops, ``switch``, classical expressions or
    variables; payload.v1 else). A version this reader does not know is refused, and so is
    a job that says payload.v1 but holds what only payload.v2 has.
    """

    version: str = PAYLOAD_VERSION
    job_type: JobType = JobType.SUBMIT
    target: Annotated[str, Field(min_length=1, max_length=128)]
    circuit_type: CircuitType = CircuitType.PAYLOAD
    circuits: Annotated[list[Circuit], Field(max_length=MAX_CIRCUITS)] = []
    qasm: Annotated[list[str], Field(max_length=MAX_CIRCUITS)] = []
    bindings: Annotated[list[Bindings | None], Field(max_length=MAX_CIRCUITS)] | None = None
    shots: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    sim_method: SimMethod | None = None
    priority: Annotated[int, Field(ge=0, le=MAX_JOB_PRIORITY)] = 0
    tags: Tags = []
    metadata: Metadata = {}
    dry_run: bool = False
    verbatim: bool = False
    memory: bool = False
    meas_level: Annotated[int, Field(ge=1, le=2)] = 2
    options: dict[str, JsonValue] = {}

    @model_validator(mode="after")
    def _consistent(self) -> NewJob:
        self._check_version()
        if self.circuit_type is CircuitType.PAYLOAD:
            if self.qasm:
                raise PayloadError("qasm: given, but circuit_type is 'payload'")
            if not self.circuits:
                raise PayloadError("circuits: a job needs at least one circuit")
        else:
            if self.circuits:
                raise PayloadError(
                    f"circuits: given, but circuit_type is {self.circuit_type.value!r}"
                )
            if not self.qasm:
                raise PayloadError("qasm: a job needs at least one OpenQASM program")
        if self.bindings is not None:
            count = self.num_circuits
            if len(self.bindings) != count:
                raise PayloadError(
                    f"bindings: {len(self.bindings)} tables for {count} circuit(s); "
                    "give one per circuit (null for none)"
                )
            for index, (circuit, table) in enumerate(
                zip(self.circuits, self.bindings, strict=False)
            ):
                check_bindings(circuit, table, index)
        else:
            for index, circuit in enumerate(self.circuits):
                check_bindings(circuit, None, index)
        RunOptions.of(self)
        return self

    def _check_version(self) -> None:
        if self.version not in PAYLOAD_VERSIONS:
            raise PayloadError(
                f"version: {self.version!r} is not a payload version this reader knows "
                f"({', '.join(PAYLOAD_VERSIONS)})",
                location=("version",),
            )
        needed = control.required_version(self.circuits)
        if PAYLOAD_VERSIONS.index(needed) <= PAYLOAD_VERSIONS.index(self.version):
            return
        if "version" in self.model_fields_set:
            raise PayloadError(
                f"version: the job says {self.version!r}, but {control.first_v2(self.circuits)} "
                f"needs {needed!r}",
                location=("version",),
            )
        # Left out: the job is of the version its circuits need. The model is frozen,
        # and this runs while it is being built, before anyone holds it.
        self.__dict__["version"] = needed

    @property
    def num_circuits(self) -> int:
        return len(self.circuits) if self.circuit_type is CircuitType.PAYLOAD else len(self.qasm)

    def binding_count(self, index: int) -> int:
        """How many times circuit ``index`` runs: the rows of its table, or once."""
        if self.bindings is None or self.bindings[index] is None:
            return 1
        table = self.bindings[index]
        assert table is not None
        return len(table)


def check_bindings(circuit: Circuit, table: Bindings | None, index: int) -> None:
    """Refuse a table that misses a symbol the circuit reads or names one it does not declare."""
    needed = circuit.free_symbols()
    if table is None:
        if needed:
            raise PayloadError(
                f"bindings[{index}]: circuit {index} reads symbols {sorted(needed)} "
                "but has no bindings table"
            )
        return
    declared = set(circuit.parameters)
    unknown = [name for name in table.names if name not in declared]
    if unknown:
        raise PayloadError(
            f"bindings[{index}].names: {unknown} are not parameters of circuit {index}"
        )
    missing = needed - set(table.names)
    if missing:
        raise PayloadError(f"bindings[{index}]: no column for symbol(s) {sorted(missing)}")
    if not table.values:
        raise PayloadError(f"bindings[{index}].values: the table has no rows")


class NewJobResponse(WireModel):
    """The answer to a submission. For a dry run, ``estimated_cost`` and nothing queued.

    ``job`` is the job, with its readouts once it has ended, when the service ran it before
    answering: a submission that asked to wait (``Prefer: wait=N``) for a small simulation
    that an idle worker took at once, or a brief job of the embedded default. The client
    then has nothing left to wait for.
    """

    job_id: str
    num_circuits: int
    dry_run: bool = False
    estimated_cost: float = 0.0
    compiled_circuits: list[Circuit] | None = None
    job: JobData | None = None


class JobData(WireModel):
    """A job as the service knows it, with one entry per circuit in each list.

    ``readouts[i][k]`` is circuit ``i``'s readout at binding row ``k``; it is filled only
    when asked (``include=readout``), so listing stays light.
    """

    job_id: str
    job_type: JobType
    target: str
    user_email: str
    status: JobStatus
    statuses: list[CircuitStatus]
    status_messages: list[str | None]
    num_circuits: int
    shots: list[int]
    #: Per circuit, its counts keyed by bitstring; None for a sweep, before the result,
    #: or past 65,536 distinct outcomes (the readouts hold every shot).
    counts: list[dict[str, int] | None]
    compiled_circuits: list[Circuit | None] = []
    initial_logical_to_physicals: list[dict[int, int] | None] = []
    final_logical_to_physicals: list[dict[int, int] | None] = []
    provider_id: list[str | None] = []
    #: Per circuit, the calibration its result ran under (None: no calibration, or no
    #: result yet).
    calibration_ids: list[str | None] = []
    #: The OpenTelemetry trace the job was submitted under (None: it was not traced).
    trace_id: str | None = None
    priority: int = 0
    tags: list[str] = []
    metadata: dict[str, JsonValue] = {}
    dry_run: bool = False
    cost: float = 0.0
    queue_position: int | None = None
    #: While the job waits: when its first task should start and its last finish,
    #: estimated from the target's measured time per task (None: nothing measured yet).
    estimated_start: datetime | None = None
    estimated_finish: datetime | None = None
    #: Why the wait is longer than the queue alone, such as a maintenance window.
    queue_note: str | None = None
    submission_timestamp: datetime
    last_updated_timestamp: list[datetime | None] = []
    readouts: list[list[Readout] | None] | None = None
    layouts: list[Circuit] | None = None


class JobQuery(WireModel):
    """Filters of ``GET /v1/jobs``; fields left ``None`` do not filter.

    Every filter is bounded to what a job can hold (priorities 0 to 10, tags as on a job,
    dates that stay dates in UTC), so a filter no job can match is refused with a message
    naming it rather than sent to the database.
    """

    job_id: (
        Annotated[list[Annotated[Printable, Field(max_length=64)]], Field(max_length=500)] | None
    ) = None
    target_name: Annotated[Printable, Field(max_length=128)] | None = None
    status: Annotated[list[JobStatus], Field(max_length=32)] | None = None
    tag: Tag | None = None
    min_priority: Annotated[int, Field(ge=0, le=MAX_JOB_PRIORITY)] | None = None
    max_priority: Annotated[int, Field(ge=0, le=MAX_JOB_PRIORITY)] | None = None
    submitted_before: Timestamp | None = None
    submitted_after: Timestamp | None = None
    user_email: Annotated[Printable, Field(max_length=320)] | None = None  # admins only
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, Field(max_length=256, pattern=r"^[A-Za-z0-9_-]*$")] | None = None


class JobPage(WireModel):
    """One page of a job listing; pass ``next_cursor`` back to get the next."""

    jobs: list[JobData]
    next_cursor: str | None = None


class JobTransition(WireModel):
    """One step of a job's status timeline: circuit ``circuit_index`` went from
    ``from_status`` (None when it was created) to ``to_status`` at ``at``."""

    circuit_index: int
    from_status: CircuitStatus | None
    to_status: CircuitStatus
    at: datetime
    message: str | None = None


class JobTimeline(WireModel):
    """A job's status changes, oldest first (at most ``MAX_TIMELINE`` of them: the first
    ones; ``truncated`` says that more exist)."""

    transitions: list[JobTransition]
    truncated: bool = False


#: The most status changes one timeline answer holds.
MAX_TIMELINE: Final = 500


class JobCancellationResults(WireModel):
    """The outcome of a cancel request, per job.

    ``succeeded`` were cancelled (or flagged, if running); ``already_terminal`` had ended;
    ``not_found`` are unknown or not the caller's.
    """

    succeeded: list[str] = []
    already_terminal: list[str] = []
    not_found: list[str] = []
    message: str = ""
    warnings: list[str] = []


class JobResults(WireModel):
    """``GET /v1/jobs/{id}/results``: per circuit, its layout and readout per binding row."""

    job_id: str
    statuses: list[CircuitStatus]
    circuits: list[Circuit]
    readouts: list[list[Readout] | None]
