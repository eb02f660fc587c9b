"""``QRelaySampler``: a ``cirq.Sampler`` on a qrelay target.

``run_sweep`` converts the circuit once and sends the whole sweep as ONE job with one
bindings table (one row per sweep point), however the sweep is given (any
``cirq.Sweepable``). ``run_batch`` sends every circuit of the batch in one job too. Work
larger than the target's limits is split into several jobs and stitched back by the
runtime's :mod:`qrelay.runtime.splitting`, as the Qiskit backend does. The results are
``cirq.ResultDict`` objects keyed by the user's measurement keys, with the resolver of
each point.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cirq
from duet.futuretools import AwaitableFuture
from pydantic import JsonValue

from qrelay.errors import JobFailedError, ValidationError
from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Bindings,
    Circuit,
    CircuitStatus,
    JobData,
    JobType,
    NewJob,
    Readout,
    SimMethod,
    job_status,
)
from qrelay.payload.parsing import parse
from qrelay.payload.run_options import RunOptions
from qrelay.runtime.queue_info import QueueInfo
from qrelay.runtime.splitting import Segment, split_job, stitch
from qrelay_cirq.result import result_dicts

if TYPE_CHECKING:
    from qrelay_cirq.service import QRelayCirqService

logger = logging.getLogger("qrelay_cirq")

#: Metadata key of a service job that says how Cirq reads it back.
RUN_KEY = "cirq.run"
#: Sweeps with at most this many values keep them in the job's metadata, so a job
#: retrieved later gives each result its resolver; larger ones get empty resolvers then.
_MAX_STORED_VALUES = 20_000

_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qrelay-cirq")
    return _EXECUTOR


def sweep_points(params: Any) -> tuple[list[cirq.ParamResolver], list[dict[str, float]]]:
    """Every point of a ``cirq.Sweepable``, as resolvers and as ``{name: value}`` maps.

    Sweeps are read through ``param_tuples`` (no resolver per lookup); a value that is
    itself an expression of other symbols is resolved through Cirq's own resolver.
    """
    resolvers: list[cirq.ParamResolver] = []
    values: list[dict[str, float]] = []
    for sweep in cirq.to_sweeps(params):
        for point in sweep.param_tuples():
            mapping = dict(point)
            resolver = cirq.ParamResolver(mapping)
            row: dict[str, float] = {}
            for key, value in mapping.items():
                name = key if isinstance(key, str) else str(key)
                try:
                    row[name] = float(value)
                except TypeError:
                    row[name] = float(resolver.value_of(value))
            resolvers.append(resolver)
            values.append(row)
    return resolvers, values


def bindings_for(
    circuit: Circuit, points: list[dict[str, float]], index: int = 0
) -> Bindings | None:
    """The bindings table of one circuit over its sweep points (``None`` for one plain run)."""
    names = list(circuit.parameters)
    if not names:
        return None if len(points) == 1 else Bindings(names=[], values=[[] for _ in points])
    rows = []
    for number, point in enumerate(points):
        try:
            rows.append([point[name] for name in names])
        except KeyError as exc:
            raise ValidationError(
                f"circuit {index}: sweep point {number} gives no value for symbol {exc.args[0]!r}"
                f" (it gives {sorted(point)})"
            ) from None
    return Bindings(names=names, values=rows)


class QRelaySampler(cirq.Sampler):
    """A Cirq sampler whose sweeps run as one qrelay job each."""

    def __init__(
        self,
        service: QRelayCirqService,
        target: str,
        *,
        priority: int = 0,
        tags: Sequence[str] = (),
        sim_method: str | None = None,
        seed: int | None = None,
        noise: dict[str, float] | None = None,
        verbatim: bool = False,
    ) -> None:
        """``sim_method`` ``sim`` / ``noise-sim`` simulates instead of running; ``noise`` is
        the spec a simulator target takes for ``noise-sim`` (``depolarizing_1q``,
        ``depolarizing_2q``, ``readout_error``). ``verbatim=True`` runs each circuit
        exactly as given, without the target's compile step (as ``verbatim`` does on the
        Qiskit backend): what a benchmark that must not be simplified needs, such as
        randomised benchmarking, whose sequences compile to the identity. A verbatim
        circuit must already be native to the target (see ``QRelayDevice``)."""
        self._verbatim = bool(verbatim)
        self._service = service
        self._target = target
        self._priority = priority
        self._tags = list(tags)
        self._sim_method = SimMethod(sim_method) if sim_method is not None else None
        self._seed = seed
        self._noise = dict(noise) if noise is not None else None

    @property
    def target(self) -> str:
        return self._target

    @property
    def verbatim(self) -> bool:
        """Whether circuits skip the target's compile step."""
        return self._verbatim

    def __repr__(self) -> str:
        return f"<QRelaySampler target={self._target!r}>"

    # ------------------------------------------------------------------ building
    def _payload(self, program: cirq.AbstractCircuit) -> Circuit:
        """The payload of ``program``; verbatim, each fixed gate the target lacks is
        written as the native rotation it equals (see :mod:`qrelay_cirq.native`)."""
        from qrelay_cirq.convert import from_cirq

        payload = from_cirq(program)
        if not self._verbatim:
            return payload
        from qrelay_cirq.native import as_native

        return as_native(payload, self._service.target_info(self._target))

    def _new_job(
        self,
        payloads: list[Circuit],
        tables: list[Bindings | None],
        repetitions: int,
        stored: list[list[dict[str, float]] | None],
    ) -> NewJob:
        if repetitions < 1:
            raise ValidationError(f"repetitions: {repetitions} is not a positive count")
        run = RunOptions.from_fields(
            shots=repetitions,
            memory=False,
            meas_level=2,
            verbatim=self._verbatim,
            options={"seed": self._seed, "noise": self._noise},
        )
        meta: dict[str, Any] = {"points": stored}
        return parse(
            NewJob,
            {
                "job_type": JobType.SIMULATE if self._sim_method is not None else JobType.SUBMIT,
                "target": self._target,
                "circuits": payloads,
                "bindings": tables if any(t is not None for t in tables) else None,
                "sim_method": self._sim_method,
                "priority": self._priority,
                "tags": self._tags,
                "metadata": {RUN_KEY: meta},
                **run.job_fields(),
            },
        )

    def submit_batch(
        self,
        programs: Sequence[cirq.AbstractCircuit],
        params_list: Sequence[cirq.Sweepable] | None,
        repetitions: int,
    ) -> QRelayCirqJob:
        """Submit circuits with their sweeps as ONE job; returns without waiting."""
        if params_list is None:
            params_list = [None] * len(programs)
        if len(params_list) != len(programs):
            raise ValidationError(
                f"params_list: {len(params_list)} sweeps for {len(programs)} circuit(s)"
            )
        payloads: list[Circuit] = []
        tables: list[Bindings | None] = []
        resolvers: list[list[cirq.ParamResolver]] = []
        stored: list[list[dict[str, float]] | None] = []
        budget = _MAX_STORED_VALUES
        groups: list[int] = []
        for index, (program, params) in enumerate(zip(programs, params_list, strict=True)):
            point_resolvers, points = sweep_points(params)
            if not points:
                raise ValidationError(f"circuit {index}: the sweep has no points")
            if _has_symbolic_wait(program):
                # A timed program is fixed per point: resolve each, one circuit per point.
                pieces = [
                    (self._payload(cirq.resolve_parameters(program, resolver)), [resolver], [point])
                    for resolver, point in zip(point_resolvers, points, strict=True)
                ]
            else:
                pieces = [(self._payload(program), point_resolvers, points)]
            groups.append(len(pieces))
            for payload, piece_resolvers, piece_points in pieces:
                payloads.append(payload)
                tables.append(bindings_for(payload, piece_points, index))
                resolvers.append(piece_resolvers)
                size = sum(len(p) for p in piece_points)
                if size <= budget:
                    stored.append(piece_points)
                    budget -= size
                else:
                    stored.append(None)
        job = self._new_job(payloads, tables, repetitions, stored)
        parts = split_job(
            job,
            self._service.target_info(self._target).limits,
            lambda segments: {RUN_KEY: {"points": _points_of(stored, segments)}},
        )
        handles = [self._service.submit_job(part.job) for part in parts]
        regroup = groups if len(groups) != len(payloads) else None
        segments = [part.segments for part in parts] if len(parts) > 1 else None
        return QRelayCirqJob(handles, resolvers, regroup, segments)

    # ------------------------------------------------------------------ cirq.Sampler
    def run_sweep(
        self, program: cirq.AbstractCircuit, params: cirq.Sweepable, repetitions: int = 1
    ) -> Sequence[cirq.Result]:
        """Run ``program`` at every point of ``params`` as one job; one result per point."""
        return self.submit_batch([program], [params], repetitions).results()[0]

    async def run_sweep_async(
        self, program: cirq.AbstractCircuit, params: cirq.Sweepable, repetitions: int = 1
    ) -> Sequence[cirq.Result]:
        """``run_sweep`` as a duet coroutine (Cirq's async style); waits off-thread."""
        job = self.submit_batch([program], [params], repetitions)
        future = AwaitableFuture.wrap(_executor().submit(job.results))
        results: list[list[cirq.Result]] = await future
        return results[0]

    def sample_expectation_values(
        self,
        program: cirq.AbstractCircuit,
        observables: cirq.PauliSumLike | list[cirq.PauliSumLike],
        *,
        num_samples: int,
        params: cirq.Sweepable = None,
        permit_terminal_measurements: bool = False,
        readout_mitigation: bool = False,
    ) -> Sequence[Sequence[float]]:
        """Observables grouped into qubit-wise commuting bases, all run as ONE job.

        ``readout_mitigation=True`` adds TREX (twirled readout and a calibration circuit in
        the same job); see :mod:`qrelay_cirq.expectation`.
        """
        from qrelay_cirq.expectation import sample_expectation_values

        return sample_expectation_values(
            self,
            program,
            observables,
            num_samples=num_samples,
            params=params,
            permit_terminal_measurements=permit_terminal_measurements,
            readout_mitigation=readout_mitigation,
            seed=self._seed,
        )

    def run_batch(
        self,
        programs: Sequence[cirq.AbstractCircuit],
        params_list: Sequence[cirq.Sweepable] | None = None,
        repetitions: int | Sequence[int] = 1,
    ) -> Sequence[Sequence[cirq.Result]]:
        """Run several circuits with their sweeps; one job when the repetitions agree."""
        params_list, reps = self._normalize_batch_args(programs, params_list, repetitions)
        if len(set(reps)) <= 1:
            return self.submit_batch(programs, params_list, reps[0] if reps else 1).results()
        return [
            self.run_sweep(program, params, rep)
            for program, params, rep in zip(programs, params_list, reps, strict=True)
        ]


class QRelayCirqJob:
    """A submitted Cirq job: status, cancel, and its results as ``cirq.ResultDict`` lists.

    It runs as one service job, or as several when the work was larger than the target's
    limits (``segments``: each part's circuits, see :mod:`qrelay.runtime.splitting`).
    """

    def __init__(
        self,
        handles: Any,
        resolvers: list[list[cirq.ParamResolver]] | None,
        groups: list[int] | None = None,
        segments: list[tuple[Segment, ...]] | None = None,
    ) -> None:
        """``handles``: the service jobs (one handle alone is taken as a list of one).
        ``groups``: how many of the job's circuits make each submitted program (a
        program with a symbolic wait travels as one circuit per sweep point)."""
        self._handles: list[Any] = list(handles) if isinstance(handles, list) else [handles]
        self._resolvers = resolvers
        self._groups = groups
        self._segments = segments
        self._results: list[list[cirq.Result]] | None = None

    @property
    def job_id(self) -> str:
        """The id of the (first) service job."""
        return str(self._handles[0].job_id)

    @property
    def job_ids(self) -> list[str]:
        """The ids of every service job this job runs as."""
        return [str(handle.job_id) for handle in self._handles]

    def status(self) -> CircuitStatus:
        """The job's overall status (over all its service jobs)."""
        return job_status(handle.status() for handle in self._handles)

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()

    def __repr__(self) -> str:
        return f"<QRelayCirqJob {self.job_id}>"

    def queue_info(self) -> QueueInfo:
        """Where the job stands now: queue position, estimated start and finish."""
        return QueueInfo.of(self.job_id, [handle.data() for handle in self._handles])

    def queue_position(self) -> int | None:
        """Tasks queued ahead of this job on its target (``None`` once none of its own
        waits)."""
        return self.queue_info().position

    def calibration_ids(self, timeout: float | None = None) -> list[str | None]:
        """Per circuit, the calibration its result ran under (``None`` on a target
        without one); waits for the job. ``cirq.ResultDict`` has no metadata of its own,
        so the job carries it."""
        per_part: list[list[str | None]] = []
        for handle in self._handles:
            data: JobData = handle.wait(timeout)
            per_part.append(list(data.calibration_ids) or [None] * len(data.statuses))
        if self._segments is None:
            ids = per_part[0]
        else:
            # a circuit cut into several parts ran under its first part's calibration
            total = 1 + max(index for part in self._segments for index, _, _ in part)
            ids = [pieces[0] for pieces in stitch(self._segments, per_part, total)]
        if self._groups is None:
            return ids
        out, start = [], 0
        for count in self._groups:
            out.append(ids[start])
            start += count
        return out

    def results(self, timeout: float | None = None) -> list[list[cirq.Result]]:
        """Per circuit, one ``cirq.ResultDict`` per sweep point (waits for the job).

        Raises ``JobFailedError`` naming the circuit when one did not complete.
        """
        if self._results is not None:
            return self._results
        fetched = [_answers_of(handle, timeout) for handle in self._handles]
        answers = [found for _, found in fetched]
        resolvers = self._resolvers or _stored_resolvers(
            fetched[0][0], [entry.rows for entry in answers[0]]
        )
        if self._segments is None:
            entries = [[entry] for entry in answers[0]]
        else:
            entries = stitch(self._segments, answers, len(resolvers))
        out: list[list[cirq.Result]] = []
        for index, pieces in enumerate(entries):
            rows: list[Readout] = []
            for piece in pieces:
                rows.extend(piece.completed(index))
            out.append(result_dicts(pieces[0].layout, rows, resolvers[index]))
        if self._groups is not None:
            joined: list[list[cirq.Result]] = []
            start = 0
            for count in self._groups:
                joined.append([r for part in out[start : start + count] for r in part])
                start += count
            out = joined
        self._results = out
        return out


@dataclass(frozen=True)
class _Answer:
    """One circuit entry of a finished service job: its status, layout and readouts."""

    job_id: str
    status: CircuitStatus
    message: str | None
    layout: Circuit
    rows: list[Readout] | None

    def completed(self, index: int) -> list[Readout]:
        """The readouts, or ``JobFailedError`` naming the user's circuit ``index``."""
        if self.status is not CircuitStatus.COMPLETED or self.rows is None:
            reason = self.message or self.status.value
            terminal = self.status in TERMINAL_CIRCUIT_STATES
            raise JobFailedError(
                f"job {self.job_id}: circuit {index} {self.status.value}: {reason}"
                + ("" if terminal else " (not finished)"),
                job_id=self.job_id,
            )
        return self.rows


def _answers_of(handle: Any, timeout: float | None) -> tuple[JobData, list[_Answer]]:
    """One service job once it is finished, and each of its circuit entries."""
    data: JobData = handle.wait(timeout)
    if data.readouts is not None and data.layouts is not None:
        readouts: list[list[Readout] | None] = list(data.readouts)
        layouts = list(data.layouts)
    else:
        full = handle.result(timeout)
        readouts, layouts = list(full.readouts), list(full.circuits)
    return data, [
        _Answer(
            job_id=str(handle.job_id),
            status=data.statuses[index],
            message=data.status_messages[index],
            layout=layout,
            rows=rows,
        )
        for index, (layout, rows) in enumerate(zip(layouts, readouts, strict=True))
    ]


def _points_of(
    stored: list[list[dict[str, float]] | None], segments: tuple[Segment, ...]
) -> list[JsonValue]:
    """The stored sweep points of a part's circuits (``None`` where not stored)."""
    out: list[JsonValue] = []
    for index, start, stop in segments:
        points = stored[index]
        out.append(None if points is None else list(points[start:stop]))  # type: ignore[arg-type]
    return out


def _stored_resolvers(
    data: JobData, readouts: list[list[Readout] | None]
) -> list[list[cirq.ParamResolver]]:
    """Resolvers of a retrieved job, from its metadata (empty ones when not stored)."""
    meta = data.metadata.get(RUN_KEY)
    stored = meta.get("points") if isinstance(meta, dict) else None
    out = []
    for index, rows in enumerate(readouts):
        count = len(rows) if rows is not None else 0
        points = stored[index] if isinstance(stored, list) and index < len(stored) else None
        if isinstance(points, list) and len(points) == count:
            out.append([cirq.ParamResolver(dict(p)) for p in points])  # type: ignore[arg-type]
        else:
            out.append([cirq.ParamResolver({}) for _ in range(count)])
    return out


def _has_symbolic_wait(program: cirq.AbstractCircuit) -> bool:
    """Whether a ``cirq.wait`` of ``program`` has a duration given by a symbol."""
    return any(
        isinstance(op.gate, cirq.WaitGate) and cirq.is_parameterized(op.gate.duration)
        for op in program.all_operations()
    )
