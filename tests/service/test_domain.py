"""The pure rules: state machine, job status, costs and result checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qrelay.errors import ConflictError, PayloadError
from qrelay.payload import (
    TERMINAL_CIRCUIT_STATES,
    Circuit,
    CircuitStatus,
    JobType,
    Readout,
    WorkerTaskResults,
)
from qrelay.service import domain, money

S = CircuitStatus


def test_happy_paths_are_allowed() -> None:
    for path in (
        [S.RECEIVED, S.AWAITING_SUBMISSION, S.PENDING, S.RUNNING, S.COMPLETED, S.DELETED],
        [S.RECEIVED, S.AWAITING_SIMULATION, S.SIMULATING, S.COMPLETED],
        [S.RECEIVED, S.AWAITING_COMPILE, S.COMPILING, S.COMPLETED],
        [S.AWAITING_SUBMISSION, S.PENDING, S.COMPILING, S.RUNNING, S.FAILED, S.DELETED],
    ):
        for old, new in itertools.pairwise(path):
            domain.check_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.COMPLETED, S.RUNNING),
        (S.CANCELLED, S.COMPLETED),
        (S.FAILED, S.AWAITING_SUBMISSION),
        (S.DELETED, S.COMPLETED),
        (S.AWAITING_SUBMISSION, S.COMPLETED),
        (S.RECEIVED, S.RUNNING),
        (S.SIMULATING, S.RUNNING),
    ],
)
def test_illegal_moves_are_refused(old: CircuitStatus, new: CircuitStatus) -> None:
    assert not domain.can_transition(old, new)
    with pytest.raises(ConflictError, match=new.value):
        domain.check_transition(old, new)


def test_terminal_states_only_go_to_deleted() -> None:
    for state in TERMINAL_CIRCUIT_STATES:
        for new in S:
            assert domain.can_transition(state, new) == (
                new is S.DELETED and state is not S.DELETED
            )


def test_leases_and_requeues_pair_up() -> None:
    for job_type in JobType:
        queued = domain.queue_state(job_type)
        assert queued in domain.QUEUED_STATES
        working = domain.LEASED_STATE[queued]
        domain.check_transition(queued, working)
        domain.check_transition(working, domain.requeue_state(job_type))


def test_terminal_means_every_circuit_ended() -> None:
    assert domain.is_terminal([S.COMPLETED, S.CANCELLED])
    assert not domain.is_terminal([S.COMPLETED, S.PENDING])


def test_costs_are_exact_micro_units() -> None:
    assert domain.estimate_cost(100, [1, 3], 0.01) == 4_000_000
    ro = Readout.from_arrays({"c": np.zeros((50, 1), dtype=np.uint8)})
    assert domain.charge_for([ro, ro], 0.1) == 10_000_000
    # As floats 200 x 0.0003 is 0.06000000000000001, more than a balance of 0.06.
    assert domain.estimate_cost(200, [1], 0.0003) == money.to_micros(0.06) == 60_000
    # A price below a micro-unit: each circuit is rounded once, as it is charged.
    assert domain.estimate_cost(1, [1, 1, 3], 0.0000015) == 2 + 2 + 4


def _circuit() -> Circuit:
    return Circuit.model_validate(
        {"num_qubits": 2, "registers": [{"name": "a", "size": 1}, {"name": "b", "size": 2}]}
    )


def _results(readouts: list[Readout], shots: int) -> WorkerTaskResults:
    return WorkerTaskResults(
        lease_id="l", status=S.COMPLETED, successful_shots=shots, readouts=readouts
    )


def test_results_must_match_registers_rows_and_shots() -> None:
    good = Readout.from_arrays({"a": np.zeros((10, 1)), "b": np.ones((10, 2))})
    assert len(domain.check_results(_circuit(), 2, 10, _results([good, good], 10))) == 2
    with pytest.raises(PayloadError, match="readouts: 1 readout"):
        domain.check_results(_circuit(), 2, 10, _results([good], 10))
    wide = Readout.from_arrays({"a": np.zeros((10, 1)), "b": np.ones((10, 3))})
    with pytest.raises(PayloadError, match=r"readouts\[0\].registers"):
        domain.check_results(_circuit(), 1, 10, _results([wide], 10))
    swapped = Readout.from_arrays({"b": np.ones((10, 2)), "a": np.zeros((10, 1))})
    with pytest.raises(PayloadError, match="order"):
        domain.check_results(_circuit(), 1, 10, _results([swapped], 10))
    with pytest.raises(PayloadError, match="successful_shots"):
        domain.check_results(_circuit(), 1, 5, _results([good], 10))


def test_expectation_values_must_answer_the_observables() -> None:
    empty = [{"name": "a", "width": 1, "bits": b""}, {"name": "b", "width": 2, "bits": b""}]
    exact = Readout(successful_shots=0, registers=empty, expectation_values=[0.5, -0.5])
    results = _results([exact], 0)
    (ro,) = domain.check_results(_circuit(), 1, 1, results, observables=2)
    assert ro.expectation_values == [0.5, -0.5]
    with pytest.raises(PayloadError, match=r"readouts\[0\]\.expectation_values: 2 value"):
        domain.check_results(_circuit(), 1, 1, results, observables=3)
    with pytest.raises(PayloadError, match="the circuit has no observables"):
        domain.check_results(_circuit(), 1, 1, results)


def test_measurements_form_becomes_a_readout() -> None:
    results = WorkerTaskResults(
        lease_id="l",
        status=S.COMPLETED,
        successful_shots=3,
        measurements={"100": [0, 2], "011": [1]},
    )
    (ro,) = domain.check_results(_circuit(), 1, 3, results)
    assert ro.register("a").array()[:, 0].tolist() == [1, 0, 1]
    assert ro.register("b").array().tolist() == [[0, 0], [1, 1], [0, 0]]


def _distinct(outcomes: int, width: int = 17) -> Readout:
    """A readout of ``outcomes`` shots, each a different ``width``-bit value."""
    values = np.arange(outcomes, dtype=np.uint64)
    bits = ((values[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    return Readout.from_arrays({"c": bits})


def test_counts_are_shown_up_to_the_bound_of_distinct_outcomes() -> None:
    at_bound = _distinct(domain.MAX_SHOWN_OUTCOMES)
    shown = domain.counts_of([at_bound])
    assert shown == at_bound.counts()
    assert shown is not None
    assert len(shown) == domain.MAX_SHOWN_OUTCOMES
    assert domain.counts_of([_distinct(domain.MAX_SHOWN_OUTCOMES + 1)]) is None


def test_many_shots_of_few_outcomes_still_show_their_counts() -> None:
    bits = np.zeros((3 * domain.MAX_SHOWN_OUTCOMES, 2), dtype=np.uint8)
    bits[::3, 0] = 1
    readout = Readout.from_arrays({"c": bits})
    assert domain.counts_of([readout]) == {
        "01": domain.MAX_SHOWN_OUTCOMES,
        "00": 2 * domain.MAX_SHOWN_OUTCOMES,
    }
