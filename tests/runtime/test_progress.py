"""The status line of a Python wait: when it shows, and what it says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qrelay.payload import CircuitStatus, JobData
from qrelay.runtime.progress import JobProgress, describe, progress_enabled
from qrelay.runtime.timing import format_seconds


def _queued(position: int | None) -> JobData:
    return JobData(
        job_id="j1",
        job_type="submit",
        target="square_qpu",
        user_email="a@example.org",
        status=CircuitStatus.PENDING,
        num_circuits=1,
        counts=[None],
        statuses=[CircuitStatus.PENDING],
        status_messages=[None],
        shots=[10],
        submission_timestamp=datetime.now(UTC),
        queue_position=position,
    )


def test_off_when_nobody_watches_and_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QRELAY_PROGRESS", raising=False)
    assert progress_enabled() is False  # pytest's stderr is not a terminal
    assert progress_enabled(True) is True
    monkeypatch.setenv("QRELAY_PROGRESS", "1")
    assert progress_enabled() is True
    assert progress_enabled(False) is False
    monkeypatch.setenv("QRELAY_PROGRESS", "0")
    assert progress_enabled() is False
    assert JobProgress("job j1").enabled is False


def test_the_line_names_the_state_and_queue_position() -> None:
    assert describe(_queued(3)) == "pending, queue position 3"
    assert describe(_queued(None)) == "pending"
    with JobProgress("job j1", enabled=True) as line:
        line.update(_queued(2))  # drawn by tqdm once the wait lasts; never raises


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.49999898500004747, "0.5 s"),
        (3.0, "3 s"),
        (42.4, "42 s"),
        (600.2, "10 min"),
        (None, "no bound"),
    ],
)
def test_durations_read_as_people_write_them(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text
