"""A job's status from its circuits' statuses: the one precedence every layer uses.

A job is as far along as its most advanced live circuit while any circuit is still live,
so a user sees ``running`` as soon as one circuit runs and never a terminal state while
work remains. Once every circuit has ended: ``deleted`` if all were deleted, ``failed``
if any failed, ``cancelled`` if any was cancelled, else ``completed``. The service
stores this as the job's status; the direct provider and the adapters (which may hold
several service jobs for one user call) combine with the same function.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from qrelay.payload.jobs import TERMINAL_CIRCUIT_STATES, CircuitStatus, JobStatus

S = CircuitStatus

#: Live states, the furthest along first.
LIVE_PRECEDENCE: Final = (
    S.RUNNING,
    S.SIMULATING,
    S.PENDING,
    S.COMPILING,
    S.AWAITING_SUBMISSION,
    S.AWAITING_SIMULATION,
    S.AWAITING_COMPILE,
    S.RECEIVED,
)


def job_status(statuses: Iterable[CircuitStatus]) -> JobStatus:
    """The status of a job whose circuits are in ``statuses``.

    ``unrecognized`` (a state this version does not know) is neither live nor ended: a
    job with such a circuit and no live one reads ``unrecognized``, which callers treat
    as an error rather than wait on. An empty job is ``unrecognized`` too.
    """
    found = set(statuses)
    if not found:
        return S.UNRECOGNIZED
    for state in LIVE_PRECEDENCE:
        if state in found:
            return state
    if S.UNRECOGNIZED in found:
        return S.UNRECOGNIZED
    if found == {S.DELETED}:
        return S.DELETED
    if S.FAILED in found:
        return S.FAILED
    if S.CANCELLED in found:
        return S.CANCELLED
    return S.COMPLETED


def is_settled(status: JobStatus) -> bool:
    """Whether a job in ``status`` will change no more: ended, or in a state not known here."""
    return status in TERMINAL_CIRCUIT_STATES or status is S.UNRECOGNIZED
