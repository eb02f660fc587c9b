"""The one precedence that turns circuits' statuses into a job's status, over every pair.

The service, the direct provider and the Qiskit job (which may hold several service jobs)
all call :func:`qrelay.payload.job_status`; these tables pin what it answers.
"""

from __future__ import annotations

import itertools

import pytest

from qrelay.payload import TERMINAL_CIRCUIT_STATES, CircuitStatus, is_settled, job_status
from qrelay.payload.status import LIVE_PRECEDENCE

S = CircuitStatus
ENDED_ORDER = (S.FAILED, S.CANCELLED, S.COMPLETED)  # after "all deleted"


def _expected(statuses: tuple[CircuitStatus, ...]) -> CircuitStatus:
    """The rule written the slow way: the first matching line wins."""
    for state in LIVE_PRECEDENCE:
        if state in statuses:
            return state
    if S.UNRECOGNIZED in statuses:
        return S.UNRECOGNIZED
    if all(s is S.DELETED for s in statuses):
        return S.DELETED
    for state in ENDED_ORDER:
        if state in statuses:
            return state
    return S.COMPLETED  # only deleted and completed circuits


def test_live_precedence_names_every_live_state_once() -> None:
    live = set(S) - TERMINAL_CIRCUIT_STATES - {S.UNRECOGNIZED}
    assert set(LIVE_PRECEDENCE) == live
    assert len(LIVE_PRECEDENCE) == len(live)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_every_combination(size: int) -> None:
    for combo in itertools.product(list(S), repeat=size):
        got = job_status(combo)
        assert got is _expected(combo), combo
        assert got is job_status(reversed(combo)), "order of circuits must not matter"
        live = [s for s in combo if s not in TERMINAL_CIRCUIT_STATES and s is not S.UNRECOGNIZED]
        # A job is never shown as ended while a circuit still works.
        assert (got in TERMINAL_CIRCUIT_STATES) == (not live and S.UNRECOGNIZED not in combo)


def test_table() -> None:
    table = [
        ([S.COMPLETED, S.COMPLETED], S.COMPLETED),
        ([S.COMPLETED, S.FAILED], S.FAILED),
        ([S.FAILED, S.CANCELLED], S.FAILED),
        ([S.COMPLETED, S.CANCELLED], S.CANCELLED),
        ([S.COMPLETED, S.RUNNING], S.RUNNING),
        ([S.FAILED, S.RUNNING], S.RUNNING),
        ([S.AWAITING_SUBMISSION, S.PENDING], S.PENDING),
        ([S.SIMULATING, S.COMPILING], S.SIMULATING),
        ([S.DELETED, S.DELETED], S.DELETED),
        ([S.DELETED, S.COMPLETED], S.COMPLETED),
        ([S.COMPLETED, S.UNRECOGNIZED], S.UNRECOGNIZED),
        ([], S.UNRECOGNIZED),
    ]
    for statuses, expected in table:
        assert job_status(statuses) is expected, statuses


def test_unrecognized_is_settled_so_nobody_waits_on_it() -> None:
    assert is_settled(S.UNRECOGNIZED)
    assert all(is_settled(s) for s in TERMINAL_CIRCUIT_STATES)
    assert not any(is_settled(s) for s in LIVE_PRECEDENCE)
