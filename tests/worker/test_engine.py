"""The Aer engine against Aer run directly, sweeps, register splitting and noise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit_aer import AerSimulator

from qrelay.errors import DeviceError, PayloadError
from qrelay.payload import Bindings, Circuit, NoiseSpec, RunOptions
from qrelay.payload.calibration import calibration_hash
from qrelay.qpu.fleet import fleet_device
from qrelay.qpu.native import reduce_to_touched
from qrelay_qiskit.compiler import TranspileCompiler
from qrelay_qiskit.convert import to_qiskit
from qrelay_qiskit.engine import AerEngine, run_public
from qrelay_qiskit.noise import noise_model_from_spec, noise_model_from_target
from qrelay_qiskit.shots import shots_from_counts

from ._circuits import ghz, mixed, rotation, task_for, total_variation, tv_bound

SHOTS = 4000


@pytest.fixture(scope="module")
def engine() -> AerEngine:
    return AerEngine()


def _aer_counts(circuit: Circuit, shots: int, seed: int) -> dict[str, int]:
    """Counts from Aer run directly on the converted circuit, in the payload's key format."""
    result = AerSimulator().run(to_qiskit(circuit), shots=shots, seed_simulator=seed).result()
    # Qiskit writes the last register first; the payload the first register first
    return {
        " ".join(reversed(key.split())): int(value) for key, value in result.get_counts().items()
    }


def test_ideal_matches_aer_directly(engine: AerEngine) -> None:
    circuit = mixed()
    (readout,) = engine.run(circuit, shots=SHOTS, seed=11)
    ours = readout.counts()
    direct = _aer_counts(circuit, SHOTS, seed=12)
    assert readout.successful_shots == SHOTS
    assert sum(ours.values()) == SHOTS
    assert set(ours) <= {f"{a} {b1}{b0}" for a in "01" for b1 in "01" for b0 in "01"}
    assert total_variation(ours, direct) < tv_bound(8, SHOTS)


@pytest.mark.parametrize("width", [2, 12, 13])
def test_clifford_circuits_small_and_large_match_aer_directly(
    engine: AerEngine, width: int
) -> None:
    """Up to 12 qubits an ideal run takes the state vector, beyond Aer's own choice (the
    stabilizer for a Clifford circuit): either way only the two GHZ outcomes, evenly."""
    (readout,) = engine.run(ghz(width), shots=SHOTS, seed=3)
    ours = readout.counts()
    assert set(ours) == {"0" * width, "1" * width}
    assert total_variation(ours, _aer_counts(ghz(width), SHOTS, seed=4)) < tv_bound(2, SHOTS)


def test_registers_are_split_by_declaration_order(engine: AerEngine) -> None:
    circuit = Circuit(
        num_qubits=3,
        registers=[{"name": "first", "size": 2}, {"name": "second", "size": 1}],
        instructions=[
            {"op": "x", "qubits": [0]},
            {"op": "x", "qubits": [2]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
            {"op": "measure", "qubits": [2], "clbits": [2]},
        ],
    )
    (readout,) = engine.run(circuit, shots=50)
    arrays = readout.arrays()
    assert arrays["first"].shape == (50, 2)
    assert (arrays["first"][:, 0] == 1).all()
    assert (arrays["first"][:, 1] == 0).all()
    assert (arrays["second"][:, 0] == 1).all()
    assert readout.counts() == {"01 1": 50}


@pytest.mark.parametrize("rows", [1, 3])
def test_clbits_never_measured_read_zero(engine: AerEngine, rows: int) -> None:
    """Aer gives no counts for a circuit that measures nothing; its clbits read 0."""
    circuit = Circuit(
        num_qubits=2,
        registers=[{"name": "c", "size": 2}],
        parameters=["t"],
        instructions=[{"op": "rx", "qubits": [0], "params": ["t"]}, {"op": "cx", "qubits": [0, 1]}],
    )
    bindings = Bindings(names=["t"], values=[[0.1 * r] for r in range(rows)])
    readouts = engine.run(circuit, shots=20, bindings=bindings, seed=1)
    assert [r.counts() for r in readouts] == [{"00": 20}] * rows


def test_sweep_gives_one_readout_per_row(engine: AerEngine) -> None:
    angles = [0.0, math.pi / 2, math.pi, 3 * math.pi / 2]
    readouts = engine.run(
        rotation(),
        shots=SHOTS,
        bindings=Bindings(names=["t"], values=[[a] for a in angles]),
        seed=5,
    )
    assert len(readouts) == len(angles)
    for angle, readout in zip(angles, readouts, strict=True):
        p1 = readout.arrays()["m"].mean()
        expected = math.sin(angle / 2) ** 2
        assert abs(p1 - expected) < 4 * math.sqrt(0.25 / SHOTS) + 1e-9


def test_sweep_with_unused_column_and_missing_column(engine: AerEngine) -> None:
    table = Bindings(names=["t", "unused"], values=[[math.pi, 1.0]])
    (readout,) = engine.run(rotation(), shots=20, bindings=table)
    assert readout.counts() == {"1": 20}
    with pytest.raises(PayloadError, match="no column for parameter"):
        engine.run(rotation(), shots=20, bindings=Bindings(names=["x"], values=[[1.0]]))
    with pytest.raises(PayloadError, match="no bindings"):
        engine.run(rotation(), shots=20)


def test_no_parameters_with_many_rows_splits_one_run(engine: AerEngine) -> None:
    table = Bindings(names=[], values=[[], [], []])
    readouts = engine.run(ghz(2), shots=100, bindings=table, seed=3)
    assert [r.successful_shots for r in readouts] == [100, 100, 100]
    for readout in readouts:
        assert set(readout.counts()) <= {"00", "11"}


def test_circuit_without_registers(engine: AerEngine) -> None:
    circuit = Circuit(num_qubits=1, instructions=[{"op": "h", "qubits": [0]}])
    (readout,) = engine.run(circuit, shots=10)
    assert readout.successful_shots == 10
    assert readout.registers == []


def test_seed_makes_runs_reproducible(engine: AerEngine) -> None:
    first = engine.run(mixed(), shots=200, seed=99)[0]
    second = engine.run(mixed(), shots=200, seed=99)[0]
    assert np.array_equal(first.arrays()["b"], second.arrays()["b"])


def test_engine_runs_through_aer_public_run() -> None:
    """The engine reads Aer only through ``AerSimulator.run``: seeded, the counts are
    Aer's own, and saved data (the probabilities the ideal draw reads) comes along."""
    simulator = AerSimulator()
    qc = to_qiskit(mixed())
    output = run_public(simulator, qc, 300, None, {"seed_simulator": 7})
    direct = simulator.run(qc, shots=300, seed_simulator=7).result().get_counts()
    assert output["success"]
    counts = output["results"][0]["data"]["counts"]
    assert sum(counts.values()) == 300
    assert len(counts) == len(direct)


def test_aer_failure_names_the_circuit(engine: AerEngine) -> None:
    qc = to_qiskit(mixed())
    with pytest.raises(DeviceError, match=r"could not run circuit .*Invalid simulation method"):
        engine._execute(qc, 10, None, {"method": "no_such_method"})


@pytest.mark.parametrize("name", ["square_qpu", "heavyhex_qpu", "ion_qpu"])
def test_noisy_bell_and_ghz_fidelity_in_calibrated_range(engine: AerEngine, name: str) -> None:
    """Noise from the calibration lowers fidelity by about the calibrated error budget."""
    target = fleet_device(name)
    compiler = TranspileCompiler()
    for size in (2, 3):
        compiled = compiler.compile(ghz(size), target).circuit
        # as the worker and the emulator do: simulate only the touched qubits
        reduced = reduce_to_touched(compiled, target)
        noise = reduced.target.model_copy(
            update={"calibration_id": "slice-" + calibration_hash(reduced.target)}
        )
        (readout,) = engine.run(reduced.circuit, shots=SHOTS, noise=noise, seed=17)
        counts = readout.counts()
        fidelity = (counts.get("0" * size, 0) + counts.get("1" * size, 0)) / SHOTS
        table = {(g.op, tuple(g.qubits)): g.error or 0.0 for g in target.gates}
        budget = sum(
            table.get((inst["op"], tuple(inst["qubits"])), 0.0)
            for inst in compiled.instructions
            if inst["op"] != "measure"
        )
        measured = [inst["qubits"][0] for inst in compiled.instructions if inst["op"] == "measure"]
        budget += sum(target.qubits[q].readout_error or 0.0 for q in measured)
        slack = 4 * math.sqrt(0.25 / SHOTS)
        assert 1.0 - 1.6 * budget - slack <= fidelity <= 1.0 - 0.3 * budget + slack, (
            name,
            size,
            fidelity,
            budget,
        )


def test_noise_models_are_cached_per_calibration() -> None:
    target = fleet_device("square_qpu")
    assert noise_model_from_target(target) is noise_model_from_target(target)
    model = noise_model_from_target(target)
    assert "cz" in model.noise_instructions
    assert "measure" in model.noise_instructions


def _noise(spec: object) -> NoiseSpec:
    """The noise spec of a task whose options hold ``spec``, read as every driver reads it."""
    task = task_for(ghz(1), sim_method="noise-sim", options={"noise": spec})
    noise = RunOptions.of(task).noise
    assert noise is not None
    return noise


def test_user_noise_spec_is_checked() -> None:
    assert _noise({"readout_error": 0.1}) == NoiseSpec(readout_error=0.1)
    with pytest.raises(PayloadError, match=r"options\.noise\.readout_error"):
        _noise({"readout_error": 1.5})
    with pytest.raises(PayloadError, match="unknown key"):
        _noise({"amplitude": 0.1})
    with pytest.raises(PayloadError, match="expected an object"):
        _noise(0.1)
    model = noise_model_from_spec(_noise({"depolarizing_2q": 0.05}))
    assert "cx" in model.noise_instructions


def test_readout_error_spec_flips_bits_at_its_rate(engine: AerEngine) -> None:
    model = noise_model_from_spec(NoiseSpec(readout_error=0.2))
    circuit = ghz(1)
    (readout,) = engine.run(circuit, shots=SHOTS, noise_model=model, seed=4)
    ones = readout.arrays()["c"].mean()
    # H then measure: 0.5 either way; check with X instead for the flip rate
    assert abs(ones - 0.5) < 0.05
    flipped = Circuit(
        num_qubits=1,
        registers=[{"name": "c", "size": 1}],
        instructions=[{"op": "measure", "qubits": [0], "clbits": [0]}],
    )
    (readout,) = engine.run(flipped, shots=SHOTS, noise_model=model, seed=4)
    assert abs(readout.arrays()["c"].mean() - 0.2) < 4 * math.sqrt(0.16 / SHOTS)


def test_transpiled_reference_agrees(engine: AerEngine) -> None:
    """Compiled for a device and simulated ideally, a GHZ keeps its distribution."""
    compiled = TranspileCompiler().compile(ghz(3), fleet_device("heavyhex_qpu")).circuit
    (readout,) = engine.run(compiled, shots=SHOTS, seed=8)
    qc = transpile(to_qiskit(ghz(3)), AerSimulator())
    direct = AerSimulator().run(qc, shots=SHOTS, seed_simulator=9).result().get_counts()
    assert total_variation(readout.counts(), dict(direct)) < tv_bound(2, SHOTS)


def test_gates_aer_lacks_are_decomposed(engine: AerEngine) -> None:
    """iswap, fsim and ch are not Aer instructions; the engine still simulates them."""
    circuit = Circuit(
        num_qubits=2,
        registers=[{"name": "c", "size": 2}],
        instructions=[
            {"op": "x", "qubits": [0]},
            {"op": "iswap", "qubits": [0, 1]},  # |01> -> i|10>: qubit 1 set
            {"op": "fsim", "qubits": [0, 1], "params": [0.0, 0.3]},
            {"op": "ch", "qubits": [0, 1]},  # control 0 is |0>: nothing
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    )
    (readout,) = engine.run(circuit, shots=100)
    assert readout.counts() == {"10": 100}


@pytest.mark.parametrize("rows", [1, 3])
def test_readout_bits_keep_each_rows_counts_in_shuffled_order(rows: int) -> None:
    """Counts become per-shot bits: each row keeps exactly its counts, each shot its own
    outcome (bits of one outcome stay together), and the shots are not left grouped."""
    counts = [{"0x0": 500, "0x3": 500}, {"0x1": 100, "0x2": 900}, {"0x3": 1000}][:rows]
    bits = shots_from_counts(2, counts, 1000, np.random.default_rng(5)).bits()
    assert bits.shape == (rows, 1000, 2)
    for row, expected in zip(bits, counts, strict=True):
        values = row[:, 0].astype(int) + 2 * row[:, 1].astype(int)
        distinct, repeats = np.unique(values, return_counts=True)
        assert {hex(v): int(n) for v, n in zip(distinct, repeats, strict=True)} == expected
    first = bits[0, :, 0]
    assert np.count_nonzero(first[1:] != first[:-1]) > 100  # not 500 zeros then 500 ones
    again = shots_from_counts(2, counts, 1000, np.random.default_rng(5)).bits()
    assert np.array_equal(bits, again)


@pytest.mark.parametrize(
    ("case", "noisy"), [("swept", False), ("swept", True), ("rows", False), ("rows", True)]
)
def test_histogram_readouts_hold_the_same_shots_as_per_shot_ones(
    engine: AerEngine, case: str, noisy: bool
) -> None:
    """Asked for the histogram form, a seeded run gives each row's distinct outcomes once
    with their counts: exactly the counts of the same seeded run read shot by shot (the
    draw is the same; only the shots' order is not kept). Checked on a sweep (drawn from
    the probabilities, or from Aer's counts when noisy) and on a circuit without symbols
    run for several rows (one run, split into rows)."""
    noise = noise_model_from_spec(NoiseSpec(depolarizing_1q=0.05, readout_error=0.05))
    options: dict[str, Any] = {"shots": 500, "seed": 17}
    if noisy:
        options["noise_model"] = noise
    if case == "swept":
        options["bindings"] = Bindings(names=["t"], values=[[0.3], [1.4], [2.9]])
        circuit = rotation()
    else:
        options["bindings"] = Bindings(names=["u"], values=[[0.0], [1.0], [2.0]])
        circuit = mixed()
    per_shot = engine.run(circuit, **options)
    histogram = engine.run(circuit, **options, histogram=True)
    assert len(histogram) == len(per_shot) == 3
    for one, other in zip(histogram, per_shot, strict=True):
        assert one.outcome_counts is not None
        assert other.outcome_counts is None
        assert one.successful_shots == other.successful_shots == 500
        assert one.counts() == other.counts()
        assert len(one.weights()) == len(one.counts())  # each outcome once


def test_converted_circuits_are_found_again_by_content_and_left_unchanged() -> None:
    """The same circuit parsed anew (as each task's is) is converted once; running it
    leaves the remembered Qiskit circuit as it was."""
    engine = AerEngine()
    first = engine.to_qiskit(mixed())
    before = [(i.operation.name, tuple(first.find_bit(q).index for q in i.qubits)) for i in first]
    for _ in range(2):
        engine.run(Circuit.model_validate_json(mixed().model_dump_json()), shots=10)
    again = engine.to_qiskit(Circuit.model_validate_json(mixed().model_dump_json()))
    assert again is first
    assert [
        (i.operation.name, tuple(again.find_bit(q).index for q in i.qubits)) for i in again
    ] == (before)
    assert engine.to_qiskit(ghz(3)) is not first


def test_exact_values_of_observables_per_binding_row(engine: AerEngine) -> None:
    from qrelay.payload import parse

    circuit = parse(
        Circuit,
        {
            "num_qubits": 2,
            "parameters": ["t"],
            "instructions": [
                {"op": "ry", "qubits": [0], "params": ["t"]},
                {"op": "cx", "qubits": [0, 1]},
            ],
            "observables": [
                {"terms": [{"pauli": "ZZ", "qubits": [0, 1], "coefficient": 1.0}]},
                {
                    "terms": [
                        {"pauli": "Z", "qubits": [1], "coefficient": 0.5},
                        {"pauli": "X", "qubits": [0], "coefficient": 2.0},
                        {"pauli": "", "qubits": [], "coefficient": -1.0},
                    ]
                },
            ],
        },
    )
    angles = [0.0, 0.7, math.pi]
    readouts = engine.expectation_values(
        circuit, bindings=Bindings(names=["t"], values=[[a] for a in angles])
    )
    assert [r.successful_shots for r in readouts] == [0, 0, 0]
    for angle, readout in zip(angles, readouts, strict=True):
        # cos(t/2)|00> + sin(t/2)|11>: <ZZ> = 1, <Z_1> = cos t, <X_0> = 0
        expected = [1.0, 0.5 * math.cos(angle) - 1.0]
        assert readout.expectation_values == pytest.approx(expected, abs=1e-9)


def test_exact_values_are_ideal_only() -> None:
    from datetime import UTC, datetime

    from qrelay.payload import JobType, SimMethod, WorkerTask
    from qrelay_qiskit.driver import simulate
    from qrelay_qiskit.engine import AerEngine

    circuit = Circuit.model_validate(
        {
            "num_qubits": 1,
            "observables": [{"terms": [{"pauli": "Z", "qubits": [0], "coefficient": 1.0}]}],
        }
    )
    task = WorkerTask(
        task_id="t",
        job_id="j",
        circuit_index=0,
        target="aer_simulator",
        job_type=JobType.SIMULATE,
        sim_method=SimMethod.NOISE_SIM,
        shots=1,
        circuit=circuit,
        options={"noise": {"readout_error": 0.1}},
        lease_id="l",
        lease_expires_at=datetime.now(UTC),
        attempt=1,
    )
    info = fleet_device("heavyhex_qpu")
    with pytest.raises(PayloadError, match="observables: exact expectation values are ideal"):
        simulate(task, circuit, info, AerEngine())


def _small(i: int) -> Circuit:
    """Circuit ``i`` of a job of small ones: rotations that differ from circuit to circuit."""
    return Circuit(
        num_qubits=3,
        registers=[{"name": "a", "size": 1}, {"name": "b", "size": 2}],
        instructions=[
            {"op": "ry", "qubits": [0], "params": [0.1 + 0.05 * i]},
            {"op": "h", "qubits": [1]},
            {"op": "cx", "qubits": [1, 2]},
            {"op": "rx", "qubits": [2], "params": [0.3 * i]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
            {"op": "measure", "qubits": [2], "clbits": [2]},
        ],
    )


def test_many_circuits_are_one_aer_run_and_read_as_one_by_one() -> None:
    """``run_many`` sends the circuits that sample their final measurements to Aer in one
    run; seeded, each readout is the one a run of that circuit alone gives. A circuit
    that measures mid-way (shot by shot in Aer) is a run of its own."""
    from qrelay_qiskit.engine import Sample

    engine = AerEngine()
    midway = Circuit(
        num_qubits=2,
        registers=[{"name": "m", "size": 2}],
        instructions=[
            {"op": "h", "qubits": [0]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    )
    samples = [Sample(_small(i), 200, 1234 + i) for i in range(20)]
    samples.insert(7, Sample(midway, 100, 99))
    before = engine.aer_runs
    together = engine.run_many(samples, max_threads=1)
    assert engine.aer_runs == before + 2  # the twenty together, the mid-way one alone
    alone = [engine.run(s.circuit, shots=s.shots, seed=s.seed, max_threads=1) for s in samples]
    assert together == alone
    assert len(together) == 21
    midway_counts = together[7][0].counts()
    assert set(midway_counts) <= {"00", "11"}
    assert sum(midway_counts.values()) == 100
    assert all(len(readouts) == 1 for readouts in together)


def test_a_list_run_again_reads_remembered_prefix_states_and_draws_afresh() -> None:
    """The prefix states of a list's circuits are remembered as a single circuit's are:
    the same list again makes no Aer run, a list with some new circuits one run of the
    new ones; seeded, each readout is still the one a run of that circuit alone gives,
    and unseeded, the shots are drawn afresh."""
    from qrelay_qiskit.engine import Sample

    def entangled(i: int) -> Circuit:  # the rotation before the CX: a prefix of its own
        return Circuit(
            num_qubits=3,
            registers=[{"name": "c", "size": 3}],
            instructions=[
                {"op": "ry", "qubits": [0], "params": [0.1 + 0.05 * i]},
                {"op": "cx", "qubits": [0, 1]},
                {"op": "cx", "qubits": [1, 2]},
                *({"op": "measure", "qubits": [q], "clbits": [q]} for q in range(3)),
            ],
        )

    engine = AerEngine()
    seeded = [Sample(entangled(i), 300, 50 + i) for i in range(30)]
    first = engine.run_many(seeded, max_threads=1)
    before = engine.aer_runs
    again = engine.run_many(seeded, max_threads=1)
    assert engine.aer_runs == before  # thirty states remembered, none simulated again
    assert again == first
    mixed = seeded[:10] + [Sample(entangled(100 + i), 300, 7 + i) for i in range(5)]
    together = engine.run_many(mixed, max_threads=1)
    assert engine.aer_runs == before + 1  # the five new prefixes, together
    alone = [engine.run(s.circuit, shots=s.shots, seed=s.seed, max_threads=1) for s in mixed]
    assert together == alone
    fresh = [Sample(s.circuit, 2000, None) for s in seeded[:5]]
    draws = [engine.run_many(fresh, max_threads=1) for _ in range(2)]
    assert draws[0] != draws[1]  # same states, shots drawn afresh


def test_a_list_keeps_no_state_too_large_to_keep() -> None:
    """In a list, a circuit whose state is past what the engine keeps (2**18 amplitudes)
    runs as it would alone (Aer's probabilities of its measured qubits), not as a saved
    state: the small circuits are one Aer run, the large one another."""
    from qrelay_qiskit.engine import Sample

    engine = AerEngine(method="statevector")
    width = 19
    large = Circuit(
        num_qubits=width,
        registers=[{"name": "c", "size": 2}],
        instructions=[
            *({"op": "h", "qubits": [q]} for q in range(width)),
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [width - 1], "clbits": [1]},
        ],
    )
    samples = [Sample(_small(i), 50, i) for i in range(3)] + [Sample(large, 400, 5)]
    before = engine.aer_runs
    readouts = engine.run_many(samples, max_threads=1)
    assert engine.aer_runs == before + 2
    assert readouts[3] == engine.run(large, shots=400, seed=5, max_threads=1)
    assert sum(readouts[3][0].counts().values()) == 400
