"""QRelayEstimatorV2: expectation values as one job, against Qiskit's reference estimator.

The simulator checks compare with ``StatevectorEstimator`` within five reported standard
errors; the mitigation checks run, seeded, on the noisy ``heavyhex_qpu`` emulator and
assert the gap to the ideal value that each level closes, as the issue states it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives import BaseEstimatorV2, PrimitiveResult, PubResult, StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qrelay.errors import ValidationError
from qrelay.payload import TargetLimits
from qrelay_qiskit import QRelayEstimatorV2
from qrelay_qiskit.backend import QRelayBackend

#: The H2 molecule at 0.735 A in two qubits (parity mapping), with its ground energy.
H2 = SparsePauliOp.from_list(
    [
        ("II", -1.052373245772859),
        ("IZ", 0.39793742484318045),
        ("ZI", -0.39793742484318045),
        ("ZZ", -0.01128010425623538),
        ("XX", 0.18093119978423156),
    ]
)
H2_GROUND = -1.8572750302023795


@pytest.fixture(scope="module")
def aer(qiskit_provider):  # type: ignore[no-untyped-def]
    return qiskit_provider.get_backend("aer_simulator")


@pytest.fixture(scope="module")
def heavyhex(qiskit_provider):  # type: ignore[no-untyped-def]
    return qiskit_provider.get_backend("heavyhex_qpu")


def _ansatz() -> tuple[QuantumCircuit, Parameter]:
    a = Parameter("a")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.cx(0, 1)
    qc.rx(0.4, 1)
    qc.rz(0.3, 0)
    return qc, a


def _ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc


def _within(result: PubResult, reference: PubResult, sigmas: float = 5.0) -> None:
    evs, stds = result.data.evs, result.data.stds
    assert evs.shape == reference.data.evs.shape
    assert np.all(stds > 0)
    assert np.all(np.abs(evs - reference.data.evs) <= sigmas * stds + 1e-9), (
        evs,
        reference.data.evs,
        stds,
    )


def _broadcast_pubs() -> list[tuple[Any, ...]]:
    """Two PUBs of the ansatz: observables (3, 1) against 7 parameter rows, and (7,)."""
    qc, _a = _ansatz()
    observables = [
        [SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("YY", -0.3), ("II", 0.2)])],
        ["XX"],
        [SparsePauliOp.from_list([("ZI", 0.7), ("IY", 0.4)])],
    ]
    values = np.linspace(-2.0, 2.5, 7).reshape(7, 1)
    return [(qc, observables, values), (qc, "ZX", values)]


@pytest.mark.parametrize("level", [0, 1])
def test_broadcast_shapes_match_the_statevector_estimator(aer, level: int) -> None:  # type: ignore[no-untyped-def]
    pubs = _broadcast_pubs()
    estimator = QRelayEstimatorV2(aer, seed=11, options={"resilience_level": level})
    assert isinstance(estimator, BaseEstimatorV2)
    job = estimator.run(pubs, precision=0.05)
    assert "," not in job.job_id()  # one service job for both PUBs and every basis
    result = job.result()
    reference = StatevectorEstimator().run(pubs).result()
    assert isinstance(result, PrimitiveResult)
    assert result[0].data.evs.shape == (3, 7)
    assert result[1].data.evs.shape == (7,)
    for got, want in zip(result, reference, strict=True):
        _within(got, want)
    meta = result[0].metadata
    assert meta["num_bases"] == 3  # {ZZ, ZI}, {XX, XI}, {YY, IY}: qubit-wise commuting
    assert meta["resilience_level"] == level
    assert meta["shots"] >= 400  # ceil(1 / 0.05**2)
    assert ("measure_mitigation (TREX)" in meta["techniques"]) is (level == 1)


def test_a_pub_of_several_bases_is_one_task(aer, qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    """Every basis of a PUB is a block of rows of one circuit's table, so the job holds
    one circuit (one worker task) for the PUB; over the target's row limit the rows are
    cut into entries and read back in order."""
    pubs = _broadcast_pubs()[:1]
    reference = StatevectorEstimator().run(pubs).result()
    estimator = QRelayEstimatorV2(aer, seed=3, options={"resilience_level": 0})
    job = estimator.run(pubs, precision=0.05)
    (handle,) = job.handles
    assert handle.data().num_circuits == 1  # three bases, one circuit
    result = job.result()
    assert result[0].metadata["num_bases"] == 3
    _within(result[0], reference[0])
    # 7 parameter rows x 3 bases = 21 rows; at 8 rows a circuit they travel as 3 entries
    limits = TargetLimits(max_circuits=2, max_bindings=8)
    small = QRelayBackend(qiskit_provider, aer.info.model_copy(update={"limits": limits}))
    split = QRelayEstimatorV2(small, seed=3, options={"resilience_level": 0})
    split_job = split.run(pubs, precision=0.05)
    assert [h.data().num_circuits for h in split_job.handles] == [2, 1]
    _within(split_job.result()[0], reference[0])


def test_gate_twirls_and_zne_agree_with_the_statevector_estimator(aer) -> None:  # type: ignore[no-untyped-def]
    """Level 2 on the ideal simulator (TREX, gate twirls as one circuit per randomization,
    folds at two noise factors) changes nothing but the spread: the values still agree."""
    pubs = _broadcast_pubs()
    options = {
        "resilience_level": 2,
        "twirling.num_randomizations": 4,
        "resilience.zne.noise_factors": (1, 3),
        "resilience.zne.extrapolator": "linear",
    }
    job = QRelayEstimatorV2(aer, seed=9, options=options).run(pubs, precision=0.05)
    assert "," not in job.job_id()  # every randomization and noise factor: one job
    result = job.result()
    reference = StatevectorEstimator().run(pubs).result()
    for got, want in zip(result, reference, strict=True):
        _within(got, want)
    meta = result[0].metadata
    assert {"twirling.gates", "zne (gate folding)", "measure_mitigation (TREX)"} <= set(
        meta["techniques"]
    )
    assert meta["num_randomizations"] == 4
    assert meta["zne"]["noise_factors"] == [1, 3]


def test_dynamical_decoupling_through_the_estimator(heavyhex) -> None:  # type: ignore[no-untyped-def]
    estimator = QRelayEstimatorV2(
        heavyhex, seed=2, options={"resilience_level": 0, "dynamical_decoupling.enable": True}
    )
    result = estimator.run([(_ghz(2), "ZZ")], precision=0.05).result()[0]
    assert "dynamical_decoupling (XX)" in result.metadata["techniques"]
    assert float(result.data.evs) > 0.8, result.data


def test_broadcast_shapes_on_the_cirq_simulator(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    pubs = _broadcast_pubs()
    backend = qiskit_provider.get_backend("cirq_simulator")
    estimator = QRelayEstimatorV2(backend, seed=5, options={"resilience_level": 0})
    job = estimator.run(pubs, precision=0.05)
    assert "," not in job.job_id()
    result = job.result()
    reference = StatevectorEstimator().run(pubs).result()
    assert result[0].data.evs.shape == (3, 7)
    assert result[1].data.evs.shape == (7,)
    for got, want in zip(result, reference, strict=True):
        _within(got, want)


def test_exact_values_in_one_job_with_no_spread(aer) -> None:  # type: ignore[no-untyped-def]
    pubs = _broadcast_pubs()
    reference = StatevectorEstimator().run(pubs).result()
    for estimator, precision in (
        (QRelayEstimatorV2(aer, options={"exact": True}), None),
        (QRelayEstimatorV2(aer), 0.0),
    ):
        job = estimator.run(pubs, precision=precision)
        assert "," not in job.job_id()  # both PUBs, every observable: one service job
        result = job.result()
        for got, want in zip(result, reference, strict=True):
            assert got.data.evs.shape == want.data.evs.shape
            np.testing.assert_allclose(got.data.evs, want.data.evs, atol=1e-9)
            assert np.all(got.data.stds == 0)
            assert got.metadata["exact"] is True
            assert got.metadata["shots"] == 0
    # measurements at the end are dropped, as on the shot path; PUB precision 0 alike
    bell = _ghz(2)
    bell.measure_all()
    (single,) = QRelayEstimatorV2(aer).run([(bell, ["ZZ", "XX", "ZI"], None, 0.0)]).result()
    np.testing.assert_allclose(single.data.evs, [1.0, 1.0, 0.0], atol=1e-9)


def test_exact_path_refusals(aer, heavyhex) -> None:  # type: ignore[no-untyped-def]
    qc = _ghz(2)
    with pytest.raises(ValidationError, match=r"'heavyhex_qpu'.*expectation_values is false"):
        QRelayEstimatorV2(heavyhex, options={"exact": True}).run([(qc, "ZZ")])
    with pytest.raises(ValidationError, match="'heavyhex_qpu'"):
        QRelayEstimatorV2(heavyhex).run([(qc, "ZZ")], precision=0)
    with pytest.raises(ValidationError, match="pub 1: precision 0 asks for exact values"):
        QRelayEstimatorV2(aer).run([(qc, "ZZ", None, 0.1), (qc, "ZZ", None, 0.0)])
    with pytest.raises(ValidationError, match="precision"):
        QRelayEstimatorV2(aer).run([(qc, "ZZ")], precision=-0.1)
    with pytest.raises(ValidationError, match="exact"):
        QRelayEstimatorV2(aer, options={"exact": "sometimes"})
    mid = QuantumCircuit(2, 1)
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    with pytest.raises(ValidationError, match=r"pub 0: .*'measure' instruction"):
        QRelayEstimatorV2(aer, options={"exact": True}).run([(mid, "ZZ")])


def test_a_seeded_run_draws_the_same_shots_again(aer) -> None:  # type: ignore[no-untyped-def]
    pubs = _broadcast_pubs()
    options = {"resilience_level": 1, "twirling.num_randomizations": 4}
    first, again = (
        QRelayEstimatorV2(aer, seed=21, options=options).run(pubs, precision=0.1).result()
        for _ in range(2)
    )
    other = QRelayEstimatorV2(aer, seed=22, options=options).run(pubs, precision=0.1).result()
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a.data.evs, b.data.evs)
        np.testing.assert_array_equal(a.data.stds, b.data.stds)
        assert not np.array_equal(a.data.evs, c.data.evs)


def test_precision_sets_shots_and_stds(aer) -> None:  # type: ignore[no-untyped-def]
    estimator = QRelayEstimatorV2(aer, seed=4, options={"resilience_level": 0})
    qc = QuantumCircuit(1)
    qc.h(0)
    coarse, fine = estimator.run([(qc, "Z", None, 0.1), (qc, "Z", None, 0.02)]).result()
    # one job takes one shot count: the finest precision asked for serves both PUBs
    assert coarse.metadata["shots"] == fine.metadata["shots"] == 2500
    assert coarse.metadata["target_precision"] == 0.1
    assert 0.015 < float(fine.data.stds) < 0.025
    estimator.options.default_shots = 100
    single = estimator.run([(qc, "Z")]).result()[0]
    assert single.metadata["shots"] == 100


def test_options_by_ibm_names_and_refusals(aer) -> None:  # type: ignore[no-untyped-def]
    estimator = QRelayEstimatorV2(
        aer,
        options={
            "resilience_level": 2,
            "resilience.zne.noise_factors": (1, 3),
            "resilience": {"zne": {"extrapolator": "linear"}},
            "twirling": {"num_randomizations": 4},
            "dynamical_decoupling.sequence_type": "XY4",
        },
    )
    options = estimator.options
    assert options.resilience.zne.noise_factors == (1, 3)
    assert options.resilience.zne.extrapolator == "linear"
    assert options.zne_mitigation
    assert options.measure_mitigation
    assert options.twirl_gates
    options.resilience_level = 0
    options.twirling.enable_measure = True
    assert not options.zne_mitigation
    assert not options.measure_mitigation
    assert options.twirl_measure
    refusals = [
        ({"resilience_level": 3}, "resilience_level"),
        ({"resilience.zne.noise_factors": (1, 2)}, "noise_factors"),
        ({"resilience.zne.extrapolator": "cubic"}, "extrapolator"),
        ({"dynamical_decoupling": {"sequence_type": "XZ"}}, "sequence_type"),
        ({"twirling.num_randomizations": 0}, "num_randomizations"),
        ({"resilience.trex": True}, "trex"),
        ({"shots": 10}, "shots"),
    ]
    for given, name in refusals:
        with pytest.raises(ValidationError, match=name):
            QRelayEstimatorV2(aer, options=given)
    with pytest.raises(ValidationError, match="resilience_level"):
        options.resilience_level = 5
    with pytest.raises(ValidationError, match="extrapolator"):
        options.resilience.zne.extrapolator = "quadratic"
    with pytest.raises(ValidationError, match="zne_mitigaton"):
        options.resilience.zne_mitigaton = True
    assert options.resilience_level == 0  # a refused assignment changes nothing


def test_bad_pubs_are_refused_by_index(aer, heavyhex) -> None:  # type: ignore[no-untyped-def]
    estimator = QRelayEstimatorV2(aer)
    qc = _ghz(2)
    with pytest.raises(ValidationError, match="pub 1: observables act on 3 qubits"):
        estimator.run([(qc, "ZZ"), (qc, "ZZZ")])
    with pytest.raises(ValidationError, match="precision"):
        estimator.run([(qc, "ZZ")], precision=1.5)
    with pytest.raises(ValidationError, match="pub 0"):
        estimator.run([(qc,)])
    isa = generate_preset_pass_manager(optimization_level=1, target=heavyhex.target).run(qc)
    with pytest.raises(ValidationError, match="pub 0"):
        QRelayEstimatorV2(heavyhex).run([(isa, "ZZZ")])


def test_isa_circuit_layout_is_applied_to_observables(heavyhex) -> None:  # type: ignore[no-untyped-def]
    qc = QuantumCircuit(2)
    qc.x(0)  # |q1 q0> = |01>: <ZI> = +1, <IZ> = -1 on the logical qubits
    isa = generate_preset_pass_manager(optimization_level=1, target=heavyhex.target).run(qc)
    assert isa.num_qubits == heavyhex.num_qubits
    estimator = QRelayEstimatorV2(heavyhex, options={"resilience_level": 1})
    result = estimator.run([(isa, ["ZI", "IZ"])], precision=0.05).result()[0]
    evs = result.data.evs
    assert evs[0] > 0.8, evs
    assert evs[1] < -0.8, evs
    assert result.metadata["calibration_id"] == heavyhex.info.calibration_id


def test_trex_undoes_a_known_readout_error(aer) -> None:  # type: ignore[no-untyped-def]
    """On Aer with a symmetric readout flip of 0.1 and no gate noise, each measured qubit
    scales a Pauli's value by 0.8: level 0 sees exactly that, and TREX (level 1) brings
    every value back to the ideal one."""
    noisy = QRelayBackend(aer.provider, aer.info)
    noisy.set_options(sim_method="noise-sim", noise={"readout_error": 0.1})
    qc = QuantumCircuit(2)
    qc.x(0)
    observables = ["ZZ", "IZ", "ZI"]  # ideal -1, -1 (qubit 0 is |1>), +1
    ideal = np.array([-1.0, -1.0, 1.0])
    attenuated = ideal * np.array([0.8**2, 0.8, 0.8])
    for level, expected in ((0, attenuated), (1, ideal)):
        estimator = QRelayEstimatorV2(noisy, seed=13, options={"resilience_level": level})
        result = estimator.run([(qc, observables)], precision=0.01).result()[0]
        evs, stds = result.data.evs, result.data.stds
        assert np.all(np.abs(evs - expected) <= 5 * stds), (level, evs, stds)
    assert "measure_mitigation (TREX)" in result.metadata["techniques"]


def test_mitigation_closes_the_gap_on_a_noisy_qpu(heavyhex) -> None:  # type: ignore[no-untyped-def]
    """The issue's acceptance on ``heavyhex_qpu``, seeded: the job's seed reaches the
    emulated QPU (circuit ``i`` draws with ``seed + i``) and fixes the twirls and the
    compiler, so every value below is the same on every run and the criteria are asserted
    as written, with no allowance for shot noise."""
    bell, ghz, zero = (_ghz(2), "ZZ"), (_ghz(4), "ZZZZ"), (QuantumCircuit(1), "Z")
    runs = {}
    for level, pubs in ((0, [bell, ghz, zero]), (1, [bell, ghz, zero]), (2, [ghz])):
        # gate twirling (on at level 2) is checked on the simulator: each randomization is
        # a circuit, which the emulator runs one by one
        estimator = QRelayEstimatorV2(
            heavyhex,
            seed=3,
            options={"resilience_level": level, "twirling.enable_gates": False},
        )
        runs[level] = estimator.run(pubs, precision=0.015).result()
    ideal = 1.0
    gaps = {}
    for index in (0, 1):  # the Bell pair's <ZZ>, the GHZ's <ZZZZ>
        raw = float(runs[0][index].data.evs)
        mitigated = float(runs[1][index].data.evs)
        assert raw < ideal - 0.03, raw  # the emulator is noisy enough to tell
        closed = (mitigated - raw) / (ideal - raw)
        # resilience_level 1 closes at least 60% of the gap between raw and ideal
        assert closed >= 0.6, (index, raw, mitigated)
        gaps[index] = abs(ideal - mitigated)
    # |0>'s <Z> suffers readout error only: TREX brings it back to 1 within its error
    raw_zero, cal = float(runs[0][2].data.evs), runs[1][2]
    assert raw_zero < ideal - 3 * float(runs[0][2].data.stds), raw_zero
    assert abs(float(cal.data.evs) - ideal) <= float(cal.data.stds), cal.data
    # ZNE on the GHZ: the folded circuits are noisier, and the extrapolation does better
    ghz2 = runs[2][0]
    by_factor = ghz2.metadata["zne"]["evs_noise_factors"]
    assert by_factor[0] > by_factor[1] > by_factor[2], by_factor
    # resilience_level 2 closes more of the GHZ's gap than level 1, beyond its reported
    # standard error, and meets the ideal within that error
    value, std = float(ghz2.data.evs), float(ghz2.data.stds)
    assert abs(ideal - value) + std < gaps[1], (value, std, gaps[1])
    assert abs(ideal - value) <= std, (value, std)
    assert "zne (gate folding)" in ghz2.metadata["techniques"]
    assert ghz2.metadata["num_randomizations"] == 32


def test_vqe_finds_the_h2_ground_energy(aer) -> None:  # type: ignore[no-untyped-def]
    from scipy.optimize import minimize

    theta = Parameter("theta")
    ansatz = QuantumCircuit(2)
    ansatz.x(0)
    ansatz.ry(theta, 1)
    ansatz.cx(1, 0)
    estimator = QRelayEstimatorV2(aer, seed=7, options={"resilience_level": 0})

    def energy(x: np.ndarray) -> float:
        result = estimator.run([(ansatz, H2, [x])], precision=0.004).result()[0]
        return float(result.data.evs[0])

    found = minimize(energy, x0=[0.6], method="COBYLA", options={"maxiter": 25, "rhobeg": 0.4})
    final = estimator.run([(ansatz, H2, [found.x])], precision=0.001).result()[0]
    assert abs(float(final.data.evs[0]) - H2_GROUND) < 0.005, (found.x, final.data.evs)
