"""Splitting work into jobs that fit a target, and stitching the answers back.

A target's limits are per job (``max_circuits``) and per circuit (``max_bindings`` rows
of its sweep table). A front end builds one :class:`~qrelay.payload.jobs.NewJob` for the
user's whole call; :func:`split_job` cuts it into parts within those limits, a table
longer than ``max_bindings`` becoming several circuit entries, and :func:`stitch` puts
the parts' answers back in the user's order. The Qiskit backend and the Cirq sampler
both submit through here, so work larger than a target's limits runs the same way from
either front end (``qrelay run`` submits one circuit without a table, which always fits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import JsonValue

from qrelay.errors import ValidationError
from qrelay.payload import Bindings, CircuitType, NewJob, TargetLimits

_T = TypeVar("_T")

#: One circuit entry of a part: ``(user circuit, first row, stop row)`` of its table.
Segment = tuple[int, int, int]


@dataclass(frozen=True)
class JobPart:
    """One job of a split: the job to submit, and where each of its circuits came from.

    ``segments[i]`` says that the part's circuit ``i`` is rows ``first:stop`` of the
    user's circuit ``segments[i][0]`` (``0:1`` for a circuit without a table).
    """

    job: NewJob
    segments: tuple[Segment, ...]


def plan_segments(rows: Sequence[int], max_circuits: int, max_rows: int) -> list[list[Segment]]:
    """Split circuits (each with ``rows[i]`` binding rows) into jobs within the limits.

    A table longer than ``max_rows`` is cut into pieces that travel as separate circuit
    entries, and the entries fill jobs of at most ``max_circuits``. Order is kept, so the
    answers concatenate back.
    """
    if max_circuits < 1 or max_rows < 1:
        raise ValidationError("target limits must allow at least one circuit and one row")
    pieces = [
        (circuit, start, min(start + max_rows, count))
        for circuit, count in enumerate(rows)
        for start in range(0, max(count, 1), max_rows)
    ]
    return [pieces[i : i + max_circuits] for i in range(0, len(pieces), max_circuits)]


def split_job(
    job: NewJob,
    limits: TargetLimits,
    metadata: Callable[[tuple[Segment, ...]], dict[str, JsonValue]] | None = None,
) -> list[JobPart]:
    """``job`` as parts that each fit ``limits`` (one part, unchanged, when it fits).

    ``metadata``, when given, makes each part's metadata from its segments (a front end
    records there how to read the part back when it is retrieved by its id alone).
    """
    rows = [job.binding_count(index) for index in range(job.num_circuits)]
    plan = plan_segments(rows, limits.max_circuits, limits.max_bindings)
    parts = []
    for segments in plan:
        fields: dict[str, object] = {}
        if job.circuit_type is CircuitType.PAYLOAD:
            fields["circuits"] = [job.circuits[index] for index, _, _ in segments]
        else:
            fields["qasm"] = [job.qasm[index] for index, _, _ in segments]
        if job.bindings is not None:
            tables = [_rows(job.bindings[i], start, stop) for i, start, stop in segments]
            fields["bindings"] = tables if any(t is not None for t in tables) else None
        if metadata is not None:
            fields["metadata"] = metadata(tuple(segments))
        parts.append(JobPart(job=job.model_copy(update=fields), segments=tuple(segments)))
    return parts


def _rows(table: Bindings | None, start: int, stop: int) -> Bindings | None:
    if table is None or (start, stop) == (0, len(table)):
        return table
    return Bindings(names=table.names, values=table.values[start:stop])


def stitch(
    parts: Sequence[Sequence[Segment]], answers: Sequence[Sequence[_T]], total: int
) -> list[list[_T]]:
    """Per user circuit, the answers of the entries it was cut into, in row order.

    ``answers[p][i]`` is the answer for circuit ``i`` of part ``p`` (its readouts, its
    status, ...); ``total`` is the number of the user's circuits.
    """
    out: list[list[_T]] = [[] for _ in range(total)]
    for segments, entries in zip(parts, answers, strict=True):
        if len(entries) != len(segments):
            raise ValidationError(
                f"a part of {len(segments)} circuit(s) answered for {len(entries)}"
            )
        for (index, _start, _stop), entry in zip(segments, entries, strict=True):
            out[index].append(entry)
    return out
