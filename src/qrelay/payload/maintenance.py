"""Maintenance windows: times when a target takes no work.

An admin schedules a window for a target (``POST /v1/targets/{name}/maintenance``).
While it is open, workers lease none of the target's tasks, the target reports the
status ``maintenance`` and the window, and jobs submitted meanwhile wait in the queue
with an estimated start after the window's end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from pydantic import Field, model_validator

from qrelay.errors import PayloadError
from qrelay.payload._base import WireModel
from qrelay.payload.bounds import Printable
from qrelay.payload.jobs import Timestamp

#: The longest one window may last, in days: a target retired for good is retired.
MAX_WINDOW_DAYS: Final = 366


class NewMaintenance(WireModel):
    """An admin's window for ``POST /v1/targets/{name}/maintenance``; it starts now
    unless ``starts_at`` says later."""

    starts_at: Timestamp | None = None
    ends_at: Timestamp
    reason: Annotated[Printable, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> NewMaintenance:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise PayloadError("ends_at: the window ends before it starts")
        return self


class MaintenanceWindow(WireModel):
    """A scheduled window of one target."""

    window_id: int
    target: str
    starts_at: datetime
    ends_at: datetime
    reason: str = ""

    def holds(self, at: datetime) -> bool:
        """Whether the window is open at ``at``."""
        return self.starts_at <= at < self.ends_at

    def describe(self) -> str:
        """``target 'x' is in maintenance until 12:00:00 UTC (reason)``."""
        reason = f" ({self.reason})" if self.reason else ""
        return (
            f"target {self.target!r} is in maintenance until "
            f"{self.ends_at:%Y-%m-%d %H:%M:%S} UTC{reason}"
        )
