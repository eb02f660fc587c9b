"""A waiting job's place in its target's queue, as the front ends show it.

The service estimates, for each job it is asked about, how many tasks wait ahead of it
and when it should start and finish (``JobData.queue_position``, ``estimated_start``,
``estimated_finish``, ``queue_note``). :class:`QueueInfo` is that view for a job that
may be several service jobs (a Qiskit job split to fit the target's limits), in the
spirit of IBM's ``job.queue_info()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from qrelay.payload import JobData


@dataclass(frozen=True)
class QueueInfo:
    """Where a job stands: ``position`` (tasks ahead of it, ``None`` once none of its
    tasks waits), the estimated start and finish (``None`` when unknown), and a
    ``note`` on what holds it beyond the queue (a maintenance window)."""

    job_id: str
    status: str
    position: int | None
    estimated_start_time: datetime | None
    estimated_complete_time: datetime | None
    note: str | None = None

    @classmethod
    def of(cls, job_id: str, datas: Sequence[JobData]) -> QueueInfo:
        """The view of a job made of the service jobs ``datas``: the first place any of
        them holds, the earliest start and the latest finish."""
        waiting = [d for d in datas if d.queue_position is not None]
        starts = [d.estimated_start for d in waiting if d.estimated_start is not None]
        finishes = [d.estimated_finish for d in waiting if d.estimated_finish is not None]
        notes = [d.queue_note for d in waiting if d.queue_note]
        return cls(
            job_id=job_id,
            status=datas[0].status.value if len(datas) == 1 else _overall(datas),
            position=min(
                (d.queue_position for d in waiting if d.queue_position is not None), default=None
            ),
            estimated_start_time=min(starts, default=None),
            estimated_complete_time=max(finishes, default=None) if finishes else None,
            note=notes[0] if notes else None,
        )

    def describe(self) -> str:
        """One line: ``queue position 3, start ~12:00:05, finish ~12:00:09 UTC``."""
        if self.position is None:
            return "not queued"
        parts = [f"queue position {self.position}"]
        if self.estimated_start_time is not None:
            parts.append(f"start ~{self.estimated_start_time:%Y-%m-%d %H:%M:%S}")
        if self.estimated_complete_time is not None:
            parts.append(f"finish ~{self.estimated_complete_time:%Y-%m-%d %H:%M:%S}")
        text = ", ".join(parts) + (" UTC" if len(parts) > 1 else "")
        if self.note:
            text += f" ({self.note})"
        return text


def _overall(datas: Sequence[JobData]) -> str:
    from qrelay.payload import job_status

    return job_status([s for d in datas for s in d.statuses]).value
