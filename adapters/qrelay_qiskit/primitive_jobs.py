"""What the qrelay primitives share: payload circuits and tables in, packed readouts out.

A primitive (``QRelaySamplerV2``, ``QRelayEstimatorV2``) turns its PUBs into payload
circuits, each with one bindings table, and submits them as one service job per shot count
(split only when the target's limits demand it). :func:`submit` does that, a
:class:`Submission` remembers which service job holds which circuit, :func:`collect`
waits and hands back each circuit's readouts in row order, and
:class:`QRelayPrimitiveJob` is the primitive job over them whose ``result`` is built by
the primitive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.providers import JobStatus

from qrelay.errors import JobCancelledError, JobFailedError, ValidationError
from qrelay.payload import Bindings, Circuit, Readout
from qrelay_qiskit._handles import JobHandle
from qrelay_qiskit.backend import QRelayBackend
from qrelay_qiskit.job import RunInfo, cancelled_failure, combine_statuses, gather, wait_all

_FINAL = (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)


def pub_table(
    circuit: Any,
    parameter_values: Any,
    shape: tuple[int, ...],
    payload: Circuit | None,
    index: int,
) -> npt.NDArray[np.float64] | None:
    """A PUB's parameter array as ``(rows, parameters)`` in ``circuit.parameters`` order.

    ``None`` for a circuit without parameters (which then takes one row). With ``payload``
    (the circuit converted), every parameter it kept must have a column.
    """
    rows = math.prod(shape)
    if circuit.num_parameters == 0:
        if rows != 1:
            raise ValidationError(
                f"pub {index}: a circuit with no parameters takes no parameter array "
                f"(shape {shape})"
            )
        return None
    params = list(circuit.parameters)
    values = parameter_values.as_array(params).reshape(rows, len(params))
    names = {p.name for p in params}
    missing = sorted(set(payload.parameters) - names) if payload is not None else []
    if missing:
        raise ValidationError(f"pub {index}: no values for parameter(s) {missing}")
    return np.asarray(values, dtype=float)


def bindings(names: Sequence[str], values: npt.NDArray[np.float64] | None) -> Bindings | None:
    """A bindings table from column names and a ``(rows, columns)`` array."""
    if values is None or not names:
        return None
    return Bindings(names=list(names), values=values.tolist())


def payload_table(
    payload: Circuit, names: Sequence[str], values: npt.NDArray[np.float64] | None
) -> Bindings | None:
    """The table of the columns of ``values`` (named ``names``) that the converted
    circuit ``payload`` declares: a parameter the conversion dropped takes no column."""
    if values is None:
        return None
    keep = [j for j, name in enumerate(names) if name in payload.parameters]
    return bindings([names[j] for j in keep], values[:, keep] if keep else None)


@dataclass
class Submission:
    """The service jobs of payload circuits that share one shot count.

    ``members[i]`` is what the caller calls the submission's circuit ``i`` (a PUB index
    for the sampler, a (PUB, basis, ...) entry for the estimator).
    """

    members: list[Any]
    handles: list[JobHandle]
    infos: list[RunInfo]
    #: The target's name, for a wait that says when no worker serves it.
    target: str | None = None


def submit(
    backend: QRelayBackend,
    members: list[Any],
    payloads: list[Circuit],
    tables: list[Bindings | None],
    *,
    shots: int,
    options: dict[str, Any],
    seed: int | None,
    verbatim: bool = False,
) -> Submission:
    """Submit ``payloads`` (with their tables) in as few service jobs as the limits allow."""
    opts = dict(backend.options.__dict__) | options
    opts.update(shots=shots, memory=False, meas_level=2, meas_return="single")
    if verbatim:
        opts["verbatim"] = True
    if seed is not None:
        opts["seed_simulator"] = seed
    jobs, infos = backend.plan_jobs(payloads, tables, opts)
    return Submission(members, backend.submit_jobs(jobs), infos, target=backend.name)


def collect(
    submission: Submission, timeout: float | None, job_id: str, progress: bool | None = None
) -> tuple[list[list[Readout]], list[Circuit]]:
    """Each circuit's readouts (all rows, in order) and layout, once its jobs are done.

    Raises ``JobFailedError`` (``JobCancelledError`` for a cancelled one) naming the first
    member whose circuit did not complete, with the reason in one line. While it waits, a
    status line is shown on a terminal or in a notebook (``progress=False`` turns it off).
    """
    datas = wait_all(submission.handles, timeout, progress=progress, target=submission.target)
    rows, layouts, failures, _shots = gather(datas, submission.infos, submission.handles)
    for local, member in enumerate(submission.members):
        if local in failures:
            reason = failures[local]
            error = JobCancelledError if cancelled_failure(reason) else JobFailedError
            one_line = " ".join(reason.split())
            raise error(f"{_describe(member)}: {one_line}", job_id=job_id)
    complete = [layout for layout in layouts if layout is not None]
    if len(complete) != len(layouts):
        raise JobFailedError("a circuit came back without its layout", job_id=job_id)
    return rows, complete


def _describe(member: Any) -> str:
    return f"pub {member}" if isinstance(member, int) else str(member)


class QRelayPrimitiveJob(BasePrimitiveJob):  # type: ignore[misc]
    """The job of a primitive's ``run``: one or more service jobs behind one id.

    ``build`` turns the finished submissions into the ``PrimitiveResult`` (once).
    """

    def __init__(
        self,
        submissions: list[Submission],
        build: Callable[[list[Submission], float | None, str, bool | None], Any],
    ) -> None:
        handles = [h for part in submissions for h in part.handles]
        super().__init__(",".join(h.job_id for h in handles))
        self._parts = submissions
        self._build = build
        self._result: Any = None

    @property
    def handles(self) -> list[JobHandle]:
        return [h for part in self._parts for h in part.handles]

    def status(self) -> JobStatus:
        return combine_statuses(h.status() for h in self.handles)

    def done(self) -> bool:
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        return self.status() in _FINAL

    def cancel(self) -> None:
        for handle in self.handles:
            handle.cancel()

    def result(self, timeout: float | None = None, *, progress: bool | None = None) -> Any:
        """The ``PrimitiveResult``; raises ``JobFailedError`` if a PUB failed and
        ``JobCancelledError`` if one was cancelled, with the reason in one line.

        While it waits, a status line (queue position, elapsed time) is shown on a terminal
        or in a notebook; ``progress=False`` (or ``QRELAY_PROGRESS=0``) turns it off.
        """
        if self._result is None:
            self._result = self._build(self._parts, timeout, self.job_id(), progress)
        return self._result
