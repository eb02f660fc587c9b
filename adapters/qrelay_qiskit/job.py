"""``QRelayJob``: a Qiskit ``JobV1`` over one or more service jobs.

A ``backend.run`` that the target's limits force into several service jobs still returns
one ``QRelayJob``; its id joins the service job ids with commas, so
``provider.retrieve_job(job.job_id())`` rebuilds it in any process. How to read the
results back (memory, meas level, which circuit rows each service job holds) travels in
each service job's metadata under ``qiskit.run``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus, JobV1

from qrelay.errors import (
    ConversionError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
)
from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    JobData,
    Readout,
    job_status,
)
from qrelay.runtime import tracing
from qrelay.runtime.queue_info import QueueInfo
from qrelay.runtime.timing import format_seconds
from qrelay_qiskit import result as _result
from qrelay_qiskit._handles import JobHandle

if TYPE_CHECKING:
    from qrelay_qiskit.backend import QRelayBackend

logger = logging.getLogger("qrelay_qiskit")

#: The metadata key of a service job that says how Qiskit reads it back.
RUN_KEY = "qiskit.run"

_STATUS = {
    CircuitStatus.RECEIVED: JobStatus.INITIALIZING,
    CircuitStatus.AWAITING_COMPILE: JobStatus.QUEUED,
    CircuitStatus.COMPILING: JobStatus.VALIDATING,
    CircuitStatus.AWAITING_SIMULATION: JobStatus.QUEUED,
    CircuitStatus.AWAITING_SUBMISSION: JobStatus.QUEUED,
    CircuitStatus.PENDING: JobStatus.QUEUED,
    CircuitStatus.SIMULATING: JobStatus.RUNNING,
    CircuitStatus.RUNNING: JobStatus.RUNNING,
    CircuitStatus.COMPLETED: JobStatus.DONE,
    CircuitStatus.FAILED: JobStatus.ERROR,
    CircuitStatus.CANCELLED: JobStatus.CANCELLED,
    CircuitStatus.DELETED: JobStatus.CANCELLED,
    CircuitStatus.UNRECOGNIZED: JobStatus.ERROR,
}


def to_job_status(status: CircuitStatus) -> JobStatus:
    """Our circuit state as Qiskit's ``JobStatus``."""
    return _STATUS.get(status, JobStatus.ERROR)


def combine_statuses(statuses: Iterable[CircuitStatus]) -> JobStatus:
    """One Qiskit status for several service jobs, by the payload's one precedence."""
    return to_job_status(job_status(statuses))


@dataclass(frozen=True)
class RunInfo:
    """How one service job's readouts map back to the user's ``run`` call.

    ``segments[i] = (circuit, first_row, stop_row)``: the service job's circuit ``i`` is
    rows ``first_row:stop_row`` of the user's circuit ``circuit``. ``total`` is the number of
    circuits the user passed.
    """

    memory: bool
    meas_level: int
    meas_return: str
    segments: tuple[tuple[int, int, int], ...]
    total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "memory": self.memory,
            "meas_level": self.meas_level,
            "meas_return": self.meas_return,
            "segments": [list(s) for s in self.segments],
            "total": self.total,
        }

    @classmethod
    def from_data(cls, data: JobData) -> RunInfo:
        raw = data.metadata.get(RUN_KEY)
        if not isinstance(raw, dict):
            # A job submitted by something else: every circuit whole, counts only.
            return cls(
                memory=False,
                meas_level=2,
                meas_return="single",
                segments=tuple((i, 0, -1) for i in range(data.num_circuits)),
                total=data.num_circuits,
            )
        try:
            raw_segments: Any = raw["segments"]
            segments = tuple((int(c), int(a), int(b)) for c, a, b in raw_segments)
            meas_level: Any = raw["meas_level"]
            total: Any = raw["total"]
            return cls(
                memory=bool(raw["memory"]),
                meas_level=int(meas_level),
                meas_return=str(raw["meas_return"]),
                segments=segments,
                total=int(total),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConversionError(
                f"job {data.job_id}: metadata {RUN_KEY!r} is not readable ({exc})"
            ) from exc


class QRelayJob(JobV1):  # type: ignore[misc]
    """A Qiskit job whose work runs as one or more qrelay service jobs."""

    def __init__(
        self,
        backend: QRelayBackend | None,
        handles: list[JobHandle],
        *,
        infos: list[RunInfo] | None = None,
        backend_name: str | None = None,
        traceparent: str | None = None,
    ) -> None:
        job_id = ",".join(h.job_id for h in handles)
        super().__init__(backend, job_id)
        self._handles = handles
        self._infos = infos
        self._backend_name = backend_name or (backend.name if backend is not None else "")
        self._result: Any = None
        #: The trace of ``backend.run`` (when traced): waiting and decoding join it.
        self._traceparent = traceparent

    @property
    def handles(self) -> list[JobHandle]:
        """The runtime's job handles behind this Qiskit job (one per service job)."""
        return list(self._handles)

    def submit(self) -> None:
        """Nothing to do: ``backend.run`` submits before it returns this job."""
        return

    def status(self) -> JobStatus:
        """The Qiskit status of the job (of the least advanced part, if it was split)."""
        return combine_statuses(h.status() for h in self._handles)

    def queue_info(self) -> QueueInfo:
        """Where the job stands now: queue position, estimated start and finish, and
        what holds it beyond the queue (one request per service job)."""
        return QueueInfo.of(self.job_id(), [h.data() for h in self._handles])

    def queue_position(self, refresh: bool = True) -> int | None:
        """Tasks queued ahead of this job on its target (``None`` once none of its
        own waits). ``refresh`` is accepted for IBM's signature; it always asks now."""
        return self.queue_info().position

    def cancel(self) -> bool:
        """Ask the service to cancel every part; true when the request was made."""
        for handle in self._handles:
            handle.cancel()
        return True

    def wait_for_final_state(
        self, timeout: float | None = None, wait: float = 5, callback: Any = None
    ) -> None:
        """Wait by long-polling the service (``wait`` is ignored: there is no fixed sleep)."""
        self._wait_all(timeout, progress=None)

    def _wait_all(self, timeout: float | None, *, progress: bool | None) -> list[JobData]:
        target = self._backend_name or None
        return wait_all(self._handles, timeout, progress=progress, target=target)

    def result(
        self, timeout: float | None = None, *, partial: bool = False, progress: bool | None = None
    ) -> Any:
        """The job's ``qiskit.result.Result``, waiting up to ``timeout`` seconds for it.

        As with IBM's runtime, a job that did not complete raises:
        ``qrelay.errors.JobFailedError`` when a circuit failed and
        ``qrelay.errors.JobCancelledError`` when one was cancelled, each with the reason in
        one line; ``JobTimeoutError`` when the job is not done in time (it goes on).
        ``partial=True`` returns the results of a job some of whose circuits did not
        complete instead: each such circuit is an unsuccessful experiment whose ``status``
        names the reason, and ``Result.success`` is false.

        While it waits, a status line (queue position, elapsed time) is shown on a terminal
        or in a notebook; ``progress=False`` (or ``QRELAY_PROGRESS=0``) turns it off.
        """
        if self._result is not None:
            return self._result
        with (
            tracing.continued(self._traceparent),
            tracing.span("qrelay.client.result", job_id=self.job_id()),
        ):
            with tracing.span("qrelay.client.wait"):
                datas = self._wait_all(timeout, progress=progress)
            with tracing.span("qrelay.client.decode"):
                return self._decode(datas, partial=partial)

    def _decode(self, datas: list[JobData], *, partial: bool) -> Any:
        """The Qiskit ``Result`` of the finished service jobs ``datas``."""
        infos = self._infos or [RunInfo.from_data(d) for d in datas]
        rows, layouts, failures, shots = gather(datas, infos, self._handles)
        calibrations = calibrations_of(datas, infos)
        if failures and not partial:
            raise outcome_error(self.job_id(), failures, layouts)
        total = len(rows)
        meas_level = infos[0].meas_level
        experiments: list[Any] = []
        integer: list[Any] = []  # each experiment's integer counts (None: none)
        for user_index in range(total):
            layout = layouts[user_index]
            if layout is None:
                raise ConversionError(f"job {self.job_id()}: no layout for circuit {user_index}")
            if user_index in failures:
                experiments.append(
                    _result.failed_experiment(
                        layout, shots[user_index], failures[user_index], meas_level=meas_level
                    )
                )
                integer.append(None)
                continue
            experiments.extend(
                _result.experiment_results(
                    layout,
                    rows[user_index],
                    memory=infos[0].memory,
                    meas_level=meas_level,
                    meas_return=infos[0].meas_return,
                    calibration_id=calibrations[user_index],
                    integer=integer,
                )
            )
        result = _result.build_result(
            experiments,
            integer=integer,
            backend_name=self._backend_name or datas[0].target,
            job_id=self.job_id(),
            date=datas[0].submission_timestamp.isoformat(),
            calibration_ids=calibrations,
        )
        if not failures:
            self._result = result  # a partial result may still be asked for in full
        return result


def outcome_error(job_id: str, failures: dict[int, str], layouts: list[Circuit | None]) -> JobError:
    """The error of a job some of whose circuits did not complete, in one line.

    ``failures`` maps the user's circuit index to ``"STATUS: reason"`` (see
    :func:`gather`). A failure wins over a cancellation; the first few are named.
    """
    failed = {i: text for i, text in failures.items() if not cancelled_failure(text)}
    shown = failed or failures
    parts = []
    for index in sorted(shown)[:_REASONS_SHOWN]:
        layout = layouts[index] if index < len(layouts) else None
        name = f" ({layout.name})" if layout is not None and layout.name else ""
        parts.append(f"circuit {index}{name}: {' '.join(shown[index].split())}")
    if len(shown) > _REASONS_SHOWN:
        parts.append(f"and {len(shown) - _REASONS_SHOWN} more")
    hint = "; result(partial=True) returns the circuits that completed"
    if failed:
        return JobFailedError(f"job {job_id} failed: {'; '.join(parts)}{hint}", job_id=job_id)
    return JobCancelledError(f"job {job_id} was cancelled: {'; '.join(parts)}{hint}", job_id=job_id)


#: At most this many circuits' reasons are named in a job's error.
_REASONS_SHOWN = 3


def cancelled_failure(failure: str) -> bool:
    """Whether a failure of :func:`gather` is a cancellation (or a deletion)."""
    status = failure.split(":", 1)[0].lower()
    return status in (CircuitStatus.CANCELLED.value, CircuitStatus.DELETED.value)


def wait_all(
    handles: list[JobHandle],
    timeout: float | None,
    *,
    progress: bool | None = None,
    target: str | None = None,
) -> list[JobData]:
    """Long-poll every handle until its job is terminal, within one overall ``timeout``.

    A status line shows the wait (see :mod:`qrelay.runtime.progress`) when the handles are
    the service client's, which report each view of the job as it comes; it says so when
    no worker serves ``target``, and so does the timeout error.
    """
    from qrelay.runtime.client import Job
    from qrelay.runtime.progress import JobProgress, progress_enabled, unserved

    deadline = None if timeout is None else time.monotonic() + timeout
    out = []
    for handle in handles:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if isinstance(handle, Job) and handle.ended is None:
            enabled = progress_enabled(progress)
            # Asked before the wait: the status line is drawn on the client's event loop,
            # which must not make requests of its own.
            note = unserved(handle.client, target) if enabled and target else None
            with JobProgress(f"job {handle.job_id}", enabled=enabled, note=note) as line:
                poll = 1.0 if line.enabled else None
                try:
                    data = handle.wait(remaining, on_update=line.update, poll=poll)
                except JobTimeoutError as exc:
                    seen = handle.last_data
                    if note is None and seen is not None:
                        note = unserved(handle.client, seen.target)
                    if note is None:
                        raise
                    raise JobTimeoutError(f"{exc} ({note})", job_id=exc.job_id) from exc
        else:
            data = handle.wait(remaining)
        if not all(s in TERMINAL_CIRCUIT_STATES for s in data.statuses):
            raise JobTimeoutError(
                f"job {handle.job_id} did not finish within {format_seconds(timeout)}",
                job_id=handle.job_id,
            )
        out.append(data)
    return out


def gather(
    datas: list[JobData], infos: list[RunInfo], handles: list[JobHandle]
) -> tuple[list[list[Readout]], list[Circuit | None], dict[int, str], list[int]]:
    """Per user circuit: its readouts (all rows, in order), layout, failure and shots."""
    total = infos[0].total
    rows: list[list[Readout]] = [[] for _ in range(total)]
    layouts: list[Circuit | None] = [None] * total
    failures: dict[int, str] = {}
    shots = [0] * total
    for data, info, handle in zip(datas, infos, handles, strict=True):
        readouts, circuits = _readouts_of(data, handle)
        for index, (user_index, _start, _stop) in enumerate(info.segments):
            layouts[user_index] = layouts[user_index] or circuits[index]
            shots[user_index] = data.shots[index] if index < len(data.shots) else 0
            status = data.statuses[index]
            got = readouts[index] if index < len(readouts) else None
            if status is not CircuitStatus.COMPLETED or got is None:
                message = data.status_messages[index] or status.value
                failures[user_index] = f"{status.value.upper()}: {message}"
                continue
            rows[user_index].extend(got)
    return rows, layouts, failures, shots


def calibrations_of(datas: list[JobData], infos: list[RunInfo]) -> list[str | None]:
    """Per user circuit: the calibration its result ran under (``None``: none known)."""
    found: list[str | None] = [None] * infos[0].total
    for data, info in zip(datas, infos, strict=True):
        for index, (user_index, _start, _stop) in enumerate(info.segments):
            if index < len(data.calibration_ids) and data.calibration_ids[index] is not None:
                found[user_index] = data.calibration_ids[index]
    return found


def _readouts_of(
    data: JobData, handle: JobHandle
) -> tuple[list[list[Readout] | None], list[Circuit]]:
    """Readouts and layouts of a finished job, from the long-poll answer when it has them."""
    if data.readouts is not None and data.layouts is not None:
        return list(data.readouts), list(data.layouts)
    results = handle.result()
    return list(results.readouts), list(results.circuits)
