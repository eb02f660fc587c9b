"""Ideal circuits that measure last: shots drawn from the final distribution.

The engine takes this path only when every shot samples the same final state; these
tests pin which circuits qualify, how outcomes map to clbits, and that the readouts
agree with what a shot-by-shot run gives.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from qrelay.payload import Bindings, Circuit
from qrelay_qiskit.engine import AerEngine
from qrelay_qiskit.sampling import (
    MAX_MEASURED,
    SHOTS_PER_OUTCOME,
    FinalMeasurements,
    draw,
    final_measurements,
)
from qrelay_qiskit.shots import shots_from_outcomes

from ._circuits import ghz, mixed, rotation, total_variation, tv_bound

SHOTS = 4000


@pytest.fixture(scope="module")
def engine() -> AerEngine:
    return AerEngine()


def _circuit(num_qubits: int, clbits: int, *instructions: dict[str, Any]) -> Circuit:
    return Circuit(
        num_qubits=num_qubits,
        registers=[{"name": "c", "size": clbits}],
        instructions=list(instructions),
    )


def _measure(qubit: int, clbit: int) -> dict[str, Any]:
    return {"op": "measure", "qubits": [qubit], "clbits": [clbit]}


def test_final_measurements_of_a_circuit_that_measures_last() -> None:
    final = final_measurements(ghz(3))
    assert final == FinalMeasurements(qubits=(0, 1, 2), clbits=((0, 0), (1, 1), (2, 2)))
    assert final.outcome_values().tolist() == list(range(8))


@pytest.mark.parametrize(
    ("after", "why"),
    [
        ({"op": "x", "qubits": [0]}, "a gate on a measured qubit"),
        ({"op": "cx", "qubits": [1, 0]}, "a two-qubit gate touching a measured qubit"),
        ({"op": "reset", "qubits": [1]}, "a reset"),
        (
            {"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 1}, "body": []},
            "a condition",
        ),
    ],
)
def test_circuits_with_anything_but_gates_before_measurements_keep_the_shots(
    after: dict[str, Any], why: str
) -> None:
    circuit = _circuit(2, 2, {"op": "h", "qubits": [0]}, _measure(0, 0), after, _measure(1, 1))
    assert final_measurements(circuit) is None, why


def test_barriers_delays_and_gates_on_other_qubits_may_follow_a_measurement() -> None:
    circuit = _circuit(
        3,
        2,
        {"op": "h", "qubits": [0]},
        _measure(0, 0),
        {"op": "barrier", "qubits": [0, 1, 2]},
        {"op": "delay", "qubits": [0], "params": [10.0], "unit": "ns"},
        {"op": "x", "qubits": [2]},
        _measure(2, 1),
    )
    final = final_measurements(circuit)
    assert final is not None
    assert final.qubits == (0, 2)


def test_no_measurement_or_too_many_clbits_keep_the_shots() -> None:
    assert final_measurements(_circuit(1, 1, {"op": "h", "qubits": [0]})) is None
    assert final_measurements(_circuit(1, 64, _measure(0, 63))) is None


def test_a_qubit_measured_twice_and_a_clbit_written_twice() -> None:
    """Two clbits of one qubit hold the same bit; a clbit written twice holds the last."""
    circuit = _circuit(2, 3, _measure(1, 0), _measure(1, 2), _measure(0, 0))
    final = final_measurements(circuit)
    assert final is not None
    assert final.qubits == (1, 0)
    assert final.clbits == ((0, 1), (2, 0))
    # outcome bit 0 is qubit 1 (clbits 2), bit 1 is qubit 0 (clbit 0)
    assert final.outcome_values().tolist() == [0b000, 0b100, 0b001, 0b101]


def test_size_limits() -> None:
    wide = FinalMeasurements(tuple(range(MAX_MEASURED + 1)), ())
    assert not wide.fits(1)
    narrow = FinalMeasurements((0, 1), ())
    assert narrow.fits(1000)
    assert not narrow.fits(1 << 21)


def test_past_the_measured_limit_many_shots_still_draw_from_the_distribution() -> None:
    wide = FinalMeasurements(tuple(range(MAX_MEASURED + 2)), ())
    outcomes = 1 << (MAX_MEASURED + 2)
    assert wide.fits(1, outcomes // SHOTS_PER_OUTCOME)
    assert not wide.fits(1, outcomes // SHOTS_PER_OUTCOME - 1)
    assert not FinalMeasurements(tuple(range(23)), ()).fits(1, 1 << 30)  # too many outcomes


def test_a_wide_ghz_with_many_shots_reads_as_a_ghz(engine: AerEngine) -> None:
    width = MAX_MEASURED + 2
    shots = (1 << width) // SHOTS_PER_OUTCOME
    (readout,) = engine.run(ghz(width), shots=shots, seed=11)
    counts = readout.counts()
    assert set(counts) == {"0" * width, "1" * width}
    assert abs(counts["0" * width] - shots / 2) < 5 * math.sqrt(shots) / 2


def test_probabilities_circuit_replaces_measurements(engine: AerEngine) -> None:
    circuit = mixed()
    final = final_measurements(circuit)
    assert final is not None
    qc = engine.to_qiskit(circuit, final)
    names = [instruction.name for instruction in qc.data]
    assert "measure" not in names
    assert names[-1] == "save_probabilities"
    assert engine.to_qiskit(circuit, final) is qc  # remembered, as the plain conversion
    assert "measure" in [instruction.name for instruction in engine.to_qiskit(circuit).data]


def test_twice_measured_and_overwritten_clbits_read_as_in_a_run(engine: AerEngine) -> None:
    circuit = _circuit(
        3,
        4,
        {"op": "h", "qubits": [1]},
        {"op": "x", "qubits": [0]},
        _measure(1, 0),
        _measure(1, 2),
        _measure(0, 1),
        _measure(2, 1),  # overwrites clbit 1 with qubit 2's 0
    )
    (readout,) = engine.run(circuit, shots=SHOTS, seed=3)
    bits = readout.arrays()["c"]
    assert (bits[:, 0] == bits[:, 2]).all()
    assert not bits[:, 1].any()
    assert not bits[:, 3].any()  # never measured
    assert abs(bits[:, 0].mean() - 0.5) < 4 * math.sqrt(0.25 / SHOTS)


def test_mid_circuit_measurement_takes_the_shots(engine: AerEngine) -> None:
    circuit = _circuit(
        1, 2, {"op": "x", "qubits": [0]}, _measure(0, 0), {"op": "x", "qubits": [0]}, _measure(0, 1)
    )
    (readout,) = engine.run(circuit, shots=100)
    assert readout.counts() == {"01": 100}


def test_drawn_shots_match_a_shot_by_shot_run(engine: AerEngine) -> None:
    """The same circuit through the draw and through Aer's shots (forced by a trailing
    reset after every measurement, which changes nothing measured) agree in distribution."""
    circuit = mixed()
    shots_only = circuit.model_copy(
        update={
            "instructions": [*circuit.instructions, {"op": "reset", "qubits": [0]}],
        }
    )
    assert final_measurements(shots_only) is None
    (drawn,) = engine.run(circuit, shots=SHOTS, seed=1)
    (recorded,) = engine.run(shots_only, shots=SHOTS, seed=2)
    assert total_variation(drawn.counts(), recorded.counts()) < tv_bound(8, SHOTS)


def test_a_sweep_without_symbols_draws_each_row(engine: AerEngine) -> None:
    readouts = engine.run(ghz(2), shots=500, bindings=Bindings(names=[], values=[[]] * 3), seed=4)
    assert [r.successful_shots for r in readouts] == [500, 500, 500]
    for readout in readouts:
        counts = readout.counts()
        assert set(counts) == {"00", "11"}
    assert len({tuple(r.arrays()["c"][:, 0]) for r in readouts}) == 3  # independent rows


def test_a_swept_rotation_draws_each_rows_distribution(engine: AerEngine) -> None:
    angles = np.linspace(0, math.pi, 9)
    readouts = engine.run(
        rotation(), shots=SHOTS, bindings=Bindings(names=["t"], values=[[a] for a in angles])
    )
    for angle, readout in zip(angles, readouts, strict=True):
        expected = math.sin(angle / 2) ** 2
        assert abs(readout.arrays()["m"].mean() - expected) < 4 * math.sqrt(0.25 / SHOTS) + 1e-9


def test_shots_from_outcomes_keep_each_rows_counts() -> None:
    drawn = np.array([[3, 0, 0, 1], [0, 4, 0, 0]])
    values = np.array([0b00, 0b01, 0b10, 0b11], dtype=np.uint64)
    bits = shots_from_outcomes(2, drawn, values, 4, np.random.default_rng(0)).bits()
    assert bits.shape == (2, 4, 2)
    first = sorted(tuple(shot) for shot in bits[0].tolist())
    assert first == [(0, 0), (0, 0), (0, 0), (1, 1)]
    assert bits[1].tolist() == [[1, 0]] * 4


def _basis(suffix: list[dict[str, Any]]) -> Circuit:
    """One swept circuit (three qubits, entangled) measured after ``suffix``: qubits 2 and
    0 into clbits 0 and 1, qubit 1 unmeasured, as a basis of an estimator's PUB is."""
    return Circuit(
        num_qubits=3,
        registers=[{"name": "c", "size": 2}],
        parameters=["a", "f"],
        instructions=[
            {"op": "ry", "qubits": [0], "params": ["a"]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "rx", "qubits": [1], "params": [0.7]},
            {"op": "cx", "qubits": [1, 2]},
            {"op": "rz", "qubits": [0], "params": [0.4]},
            *suffix,
            _measure(2, 0),
            _measure(0, 1),
        ],
    )


def test_bases_of_one_circuit_share_its_state_and_keep_their_distribution() -> None:
    """Circuits that differ only in their last single-qubit gates (measurement bases, with
    a flip bound per row) evolve their common prefix once: the second basis costs no Aer
    run, and each basis's probabilities (its prefix's state, its suffix applied) are those
    Aer gives for the whole circuit."""
    from qiskit_aer import AerSimulator

    from qrelay_qiskit import prefix

    engine = AerEngine()
    table = Bindings(names=["a", "f"], values=[[0.3, 0.0], [1.1, np.pi], [2.0, 0.0]])
    flip = {"op": "rx", "qubits": [2], "params": ["f"]}
    bases = [
        _basis([{"op": "h", "qubits": [2]}, flip]),
        _basis([{"op": "sdg", "qubits": [0]}, {"op": "h", "qubits": [0]}, flip]),
        _basis([flip]),
    ]
    runs = []
    for circuit in bases:
        readouts = engine.run(circuit, shots=SHOTS, bindings=table, seed=5)
        runs.append(engine.aer_runs)
        assert [r.successful_shots for r in readouts] == [SHOTS] * 3
        final = final_measurements(circuit)
        assert final is not None
        qc = engine.to_qiskit(circuit)
        binds = [
            {p: [row[table.names.index(p.name)] for row in table.values] for p in qc.parameters}
        ]
        cut = prefix.split(qc)
        assert len(cut.suffix) >= 2  # the flip, the basis change, rz(0.4) on qubit 0
        saving = cut.prefix()
        saving.save_statevector()
        own = [{p: binds[0][p] for p in cut.parameters}]
        result = AerSimulator(method="statevector").run(saving, parameter_binds=own).result()
        states = np.stack([np.asarray(result.data(i)["statevector"]) for i in range(3)])
        # two rows a chunk: the chunks join up in row order
        ours = prefix.probabilities(
            states, np.arange(3), cut.suffix, binds, final.qubits, max_amplitudes=2 * len(states[0])
        )
        whole = engine.to_qiskit(circuit, final)
        aer = AerSimulator(method="statevector").run(whole, parameter_binds=binds).result()
        expected = [np.asarray(aer.data(i)["probabilities"]) for i in range(3)]
        np.testing.assert_allclose(ours, expected, atol=1e-12)
    assert runs == [runs[0]] * 3  # one Aer run of the prefix served the three bases


def test_the_suffix_takes_only_single_qubit_gates_with_a_matrix() -> None:
    """A gate after the last multi-qubit gate of its qubit joins the suffix when it has a
    matrix of its own; a composite gate, or a gate before a later two-qubit gate on its
    qubit, stays in the prefix."""
    from qiskit import QuantumCircuit

    from qrelay_qiskit import prefix

    inner = QuantumCircuit(1)
    inner.h(0)
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.x(2)
    qc.cx(1, 2)
    qc.sdg(1)
    qc.append(inner.to_gate(label="composite"), [2])
    qc.rz(0.3, 0)
    qc.measure(range(3), range(3))
    cut = prefix.split(qc)
    assert [(gate.name, q) for gate, q in cut.suffix] == [("sdg", 1), ("rz", 0)]
    kept = [i.operation for i in cut.prefix().data]
    assert [op.name for op in kept[:4]] == ["h", "cx", "x", "cx"]
    assert len(kept) == 5
    assert kept[4].label == "composite"


def test_rows_of_several_bases_share_the_distinct_prefix_states() -> None:
    """A table that repeats each parameter row once per basis (the basis picked by bound
    angles of the suffix) needs one prefix state per distinct parameter row; on seven
    qubits the suffix is applied five qubits at a time, in chunks of rows, and each row's
    probabilities are those Aer gives for the whole circuit."""
    from qiskit import ClassicalRegister, QuantumCircuit
    from qiskit.circuit import Parameter
    from qiskit_aer import AerSimulator

    from qrelay_qiskit import prefix

    n = 7
    a = Parameter("a")
    turns = [Parameter(f"t{q}") for q in range(n)]
    body = QuantumCircuit(n)
    body.ry(a, 0)
    for q in range(n - 1):
        body.cx(q, q + 1)
    body.rz(0.3, 3)
    for q, t in enumerate(turns):
        body.ry(t, q)
        body.rx(0.5 * t + 0.1, q)  # an expression of the row's angle
    measured = (6, 0, 2, 5)
    qc = body.copy()
    qc.add_register(ClassicalRegister(len(measured)))
    for j, q in enumerate(measured):
        qc.measure(q, j)
    rng = np.random.default_rng(4)
    bases = rng.uniform(-np.pi, np.pi, size=(3, n))
    columns = {a: [0.4] * 3 + [1.3] * 3}  # two parameter rows, three bases each
    columns.update({t: np.tile(bases[:, q], 2).tolist() for q, t in enumerate(turns)})
    binds = [columns]
    cut = prefix.split(qc)
    assert cut.parameters == [a]
    assert len(cut.suffix) == 2 * n + 1  # rz(0.3) follows qubit 3's last cx
    own, inverse, _key = prefix.distinct_rows(cut.parameters, binds, 6)
    assert own is not None
    assert own[0][a] == [0.4, 1.3]
    saving = cut.prefix()
    saving.save_statevector()
    result = AerSimulator(method="statevector").run(saving, parameter_binds=own).result()
    states = np.stack([np.asarray(result.data(i)["statevector"]) for i in range(2)])
    ours = prefix.probabilities(states, inverse, cut.suffix, binds, measured, max_amplitudes=4 << n)
    whole = body.copy()
    whole.save_probabilities(list(measured))
    aer = AerSimulator(method="statevector").run(whole, parameter_binds=binds).result()
    expected = [np.asarray(aer.data(i)["probabilities"]) for i in range(6)]
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_a_large_draw_is_the_same_on_any_number_of_threads() -> None:
    """A draw past one block is split into blocks of rows with generators of their own:
    the counts depend on the seed and the shape, not on how many threads drew them."""
    probabilities = np.random.default_rng(5).dirichlet(np.ones(4), size=40_000)
    draws = [
        draw(probabilities, 2000, np.random.default_rng(11), max_threads=threads)
        for threads in (1, 2, 3)
    ]
    for other in draws[1:]:
        np.testing.assert_array_equal(draws[0], other)
    assert draws[0].shape == (40_000, 4)
    assert (draws[0].sum(axis=1) == 2000).all()
    # each row is drawn from its own distribution (a few standard deviations: 4 x 22
    # shots per outcome at most), not from another row's
    assert np.abs(draws[0] - probabilities * 2000).max() < 150


def test_a_large_draw_follows_its_probabilities() -> None:
    """Pooled over the rows, the counts of a split draw have the rows' distribution."""
    row = np.array([0.5, 0.25, 0.125, 0.125])
    probabilities = np.tile(row, (40_000, 1))
    counts = draw(probabilities, 10, np.random.default_rng(3), max_threads=2)
    pooled = counts.sum(axis=0) / counts.sum()
    assert total_variation(dict(enumerate(pooled)), dict(enumerate(row))) < 0.005
