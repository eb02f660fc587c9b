"""What the store tells an observer after each change it commits: the hooks of the metrics.

:class:`StoreEvents` does nothing; :class:`qrelay.service.metrics.ServiceMetrics` counts.
The store calls these after its transaction commits (a rolled-back change is not
counted), with what it already holds in hand: no hook reads the database. A long poll
woken by the store finds the change counted; one that reads the database on its own
(at its poll interval) may see the change a moment before the count, as any scrape may.
"""

from __future__ import annotations

from datetime import datetime


class StoreEvents:
    """The store's events, ignored. Subclasses override what they count."""

    def job_submitted(self, target: str) -> None:
        """A new job (not a replay, not a dry run) was queued for ``target``."""

    def job_ended(self, target: str, status: str) -> None:
        """A job of ``target`` reached a terminal ``status`` (completed, failed, cancelled)."""

    def task_leased(self, target: str, lease_id: str, submitted_at: datetime | None) -> None:
        """A task was leased; ``submitted_at`` (its job's) is given on its first attempt."""

    def task_ended(self, target: str, lease_id: str, status: str) -> None:
        """A worker posted the result of the task leased as ``lease_id``."""

    def leases_expired(self, target: str, count: int) -> None:
        """``count`` leases of ``target`` ran out and their tasks were requeued or failed."""

    def lease_fenced(self) -> None:
        """A worker's call was refused 409 ``lease_lost`` (its lease is no longer current)."""

    def charged(self, target: str, micros: int) -> None:
        """A user's balance was charged ``micros`` for a result on ``target``."""
