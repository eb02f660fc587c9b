"""Observables on a payload circuit: each rule names the observable, term and qubit; the
capability flag refuses them by name; readouts carry the values through every encoding."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from qrelay import payload as p
from qrelay.errors import PayloadError
from qrelay.payload.observables import (
    MAX_LETTERS,
    MAX_OBSERVABLES,
    MAX_TERMS,
    check_expectation_values,
)


def _term(pauli: str, qubits: list[int], coefficient: float = 1.0) -> dict[str, Any]:
    return {"pauli": pauli, "qubits": qubits, "coefficient": coefficient}


def _circuit(observables: list[Any], instructions: list[Any] | None = None) -> dict[str, Any]:
    return {
        "num_qubits": 3,
        "instructions": instructions or [{"op": "h", "qubits": [0]}],
        "observables": observables,
    }


def _refused(data: dict[str, Any], pattern: str) -> None:
    before = copy.deepcopy(data)
    with pytest.raises(PayloadError, match=pattern):
        p.parse(p.Circuit, data)
    assert data == before


def test_a_circuit_carries_sparse_pauli_sums() -> None:
    observables = [
        {"terms": [_term("ZZ", [0, 2], 0.5), _term("", [], -1.0)]},
        {"terms": [_term("X", [1])]},
    ]
    circuit = p.parse(p.Circuit, _circuit(observables))
    assert circuit.observables is not None
    assert [len(o.terms) for o in circuit.observables] == [2, 1]
    assert circuit.observables[0].terms[0].qubits == [0, 2]
    again = p.parse(p.Circuit, circuit.model_dump_json())
    assert again == circuit
    assert p.parse(p.Circuit, {"num_qubits": 1}).observables is None


@pytest.mark.parametrize(
    ("observables", "pattern"),
    [
        ([{"terms": [_term("ZZ", [0, 3])]}], r"observables\[0\]\.terms\[0\]\.qubits: qubit 3"),
        ([{"terms": [_term("X", [0]), _term("ZX", [1])]}], r"observables\[0\]\.terms\[1\]: 2"),
        ([{}, {"terms": [_term("YY", [2, 2])]}], "terms"),
        ([{"terms": [_term("X", [0])]}, {"terms": [_term("YY", [2, 2])]}], "names a qubit twice"),
        ([{"terms": [_term("XA", [0, 1])]}], "pauli"),
        ([{"terms": [_term("X", [-1])]}], "qubits"),
        ([{"terms": [_term("X", [0], float("nan"))]}], "coefficient"),
        ([{"terms": []}], "terms"),
        ([{"terms": [{"pauli": "X", "qubits": [0]}]}], "coefficient"),
    ],
)
def test_bad_observables_are_refused_by_name(observables: list[Any], pattern: str) -> None:
    _refused(_circuit(observables), pattern)


def test_observables_are_bounded_before_they_are_expanded() -> None:
    one = {"terms": [_term("Z", [0])]}
    _refused(_circuit([one] * (MAX_OBSERVABLES + 1)), "observables")
    many = {"terms": [_term("Z", [0])] * (MAX_TERMS // 2 + 1)}
    _refused(_circuit([many, many]), f"terms in all exceed the limit of {MAX_TERMS}")
    wide = {"terms": [_term("Z" * 1000, list(range(1000)))] * (MAX_LETTERS // 1000 + 1)}
    data = _circuit([wide])
    data["num_qubits"] = 1000
    _refused(data, f"letters in all exceed the limit of {MAX_LETTERS}")


@pytest.mark.parametrize("op", ["measure", "reset"])
def test_observables_are_of_the_state_before_any_measurement(op: str) -> None:
    inst = {"op": op, "qubits": [0]} | ({"clbits": [0]} if op == "measure" else {})
    data = _circuit([{"terms": [_term("Z", [0])]}], [inst])
    data["registers"] = [{"name": "c", "size": 1}]
    _refused(data, f"'{op}' instruction")


def _job(target: str = "aer_simulator") -> p.NewJob:
    circuit = _circuit([{"terms": [_term("Z", [0])]}])
    return p.parse(p.NewJob, {"target": target, "circuits": [circuit], "shots": 1})


def _target(expectation_values: bool) -> p.TargetInfo:
    return p.TargetInfo(
        name="somewhere",
        driver="aer",
        num_qubits=5,
        capabilities=p.TargetCapabilities(expectation_values=expectation_values),
    )


def test_a_target_without_the_capability_refuses_observables_by_name() -> None:
    job = _job()
    p.check_target_limits(job, _target(True))
    with pytest.raises(PayloadError, match=r"circuits\[0\]\.observables: target 'somewhere'.*"):
        p.check_target_limits(job, _target(False))
    from qrelay.payload.capabilities import check_capabilities

    with pytest.raises(PayloadError, match=r"capabilities\.expectation_values is false"):
        check_capabilities(job.circuits[0], _target(False))
    check_capabilities(job.circuits[0], _target(True))


def test_readouts_carry_expectation_values_through_json_and_frames() -> None:
    exact = p.Readout(successful_shots=0, expectation_values=[0.25, -1.0])
    sampled = p.Readout.from_arrays({"c": [[0, 1], [1, 1]]})
    for readout in (exact, sampled):
        assert p.parse(p.Readout, readout.model_dump_json()) == readout
    assert p.decode_readouts(p.encode_readouts([exact, sampled])) == [exact, sampled]


def test_values_must_answer_the_observables_one_to_one() -> None:
    check_expectation_values([0.5, 0.1], 2, 0)
    check_expectation_values(None, None, 0)
    with pytest.raises(PayloadError, match=r"readouts\[3\]\.expectation_values: 1 value"):
        check_expectation_values([0.5], 2, 3)
    with pytest.raises(PayloadError, match="none"):
        check_expectation_values(None, 2, 0)
    with pytest.raises(PayloadError, match="has no observables"):
        check_expectation_values([0.5], None, 0)
