"""Qiskit front end through the whole path: golden bit order, options, IQ, target, splits.

Every test runs on the embedded default (the real service, workers and fleet in this
process). Golden circuits are classical (X gates and measurements), so Aer gives one
outcome and our keys must equal Aer's exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit, Parameter, Qubit
from qiskit.providers import JobStatus
from qiskit.result import Result
from qiskit_aer import AerSimulator

from qrelay.errors import JobCancelledError, JobFailedError, ValidationError
from qrelay.payload import TargetLimits
from qrelay.runtime.splitting import plan_segments
from qrelay_qiskit import QRelayBackend, QRelayJob

from .conftest import total_variation, tv_bound


def _aer(circuits, **options):  # type: ignore[no-untyped-def]
    return AerSimulator().run(circuits, **options).result()


def multi_register() -> QuantumCircuit:
    """Two registers, a mid-circuit measurement, and unused clbits (a[0], b[1])."""
    q = QuantumRegister(3, "q")
    a = ClassicalRegister(2, "a")
    b = ClassicalRegister(3, "b")
    qc = QuantumCircuit(q, a, b, name="multi")
    qc.x(0)
    qc.measure(0, a[1])  # mid-circuit: q0 is flipped back and measured again
    qc.x(0)
    qc.measure(0, b[2])
    qc.x(2)
    qc.measure(2, b[0])
    return qc


def loose_clbits() -> QuantumCircuit:
    """A register between loose clbits: Qiskit keys show only the register."""
    qc = QuantumCircuit([Qubit(), Qubit()], [Clbit()], ClassicalRegister(2, "c"), [Clbit()])
    qc.name = "loose"
    qc.x(1)
    qc.measure(0, 0)
    qc.measure(1, 1)
    qc.measure(1, 3)
    return qc


def reordered_registers() -> QuantumCircuit:
    """The later-declared register holds the lower clbits: it is still written leftmost."""
    first = ClassicalRegister(2, "first")
    second = ClassicalRegister(1, "second")
    qc = QuantumCircuit(QuantumRegister(3, "q"), second, first, name="reordered")
    qc.x([0, 2])
    qc.measure(0, first[0])
    qc.measure(1, first[1])
    qc.measure(2, second[0])
    return qc


def out_of_order_register() -> QuantumCircuit:
    """A register over loose bits in reverse order: the adapter records the real layout."""
    bits = [Clbit() for _ in range(3)]
    qc = QuantumCircuit(QuantumRegister(3, "q"), bits, name="out_of_order")
    qc.add_register(ClassicalRegister(name="r", bits=[bits[2], bits[0]]))
    qc.x([0, 1])
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


GOLDEN = {
    "multi": {"001 10": 64},
    "loose": {"10": 64},
    "reordered": {"01 1": 64},
    "out_of_order": {"01": 64},  # Qiskit's own formatting of a non-tiling register
}


@pytest.fixture(scope="module")
def aer_backend(qiskit_provider) -> QRelayBackend:  # type: ignore[no-untyped-def]
    return qiskit_provider.get_backend("aer_simulator")


@pytest.mark.parametrize(
    "make", [multi_register, loose_clbits, reordered_registers, out_of_order_register]
)
def test_golden_counts_and_memory_match_aer(aer_backend: QRelayBackend, make) -> None:  # type: ignore[no-untyped-def]
    qc = make()
    job = aer_backend.run(qc, shots=64, memory=True)
    assert isinstance(job, QRelayJob)
    result = job.result()
    assert isinstance(result, Result)
    reference = _aer(qc, shots=64, memory=True)
    assert result.get_counts() == reference.get_counts() == GOLDEN[qc.name]
    assert result.get_memory() == reference.get_memory()
    ours, theirs = result.results[0].header, reference.results[0].header
    for field in ("creg_sizes", "memory_slots", "name", "qreg_sizes", "global_phase"):
        assert ours[field] == theirs[field]
    assert result.data(0)["memory"] == reference.data(0)["memory"]  # hex per shot
    assert job.status() is JobStatus.DONE


def test_a_list_runs_as_one_job_with_parameter_binds(aer_backend: QRelayBackend) -> None:
    theta = Parameter("theta")
    rot = QuantumCircuit(1, 1, name="rot")
    rot.rx(theta, 0)
    rot.measure(0, 0)
    binds = [{theta: [0.0, np.pi, 0.0]}, {}]
    job = aer_backend.run([rot, multi_register()], shots=50, parameter_binds=binds)
    assert "," not in job.job_id()  # one service job
    counts = job.result().get_counts()
    assert counts == [{"0": 50}, {"1": 50}, {"0": 50}, {"001 10": 50}]


def test_a_circuit_given_twice_runs_in_each_place(aer_backend: QRelayBackend) -> None:
    """The same circuit object twice in one list (converted once) is still two circuits of
    the one job, each with its own bindings and results."""
    theta = Parameter("theta")
    rot = QuantumCircuit(1, 1, name="rot")
    rot.rx(theta, 0)
    rot.measure(0, 0)
    binds = [{theta: [np.pi]}, {}, {theta: [0.0, np.pi]}]
    job = aer_backend.run([rot, multi_register(), rot], shots=20, parameter_binds=binds)
    assert "," not in job.job_id()  # one service job
    result = job.result()
    assert result.get_counts() == [{"1": 20}, {"001 10": 20}, {"0": 20}, {"1": 20}]
    assert [r.header["name"] for r in result.results] == ["rot", "multi", "rot", "rot"]


def test_split_by_target_limits_is_still_one_qiskit_job(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    info = qiskit_provider.get_backend("aer_simulator").info
    small = QRelayBackend(
        qiskit_provider,
        info.model_copy(update={"limits": TargetLimits(max_circuits=2, max_bindings=3)}),
    )
    theta = Parameter("theta")
    rot = QuantumCircuit(1, 1, name="rot")
    rot.rx(theta, 0)
    rot.measure(0, 0)
    values = [0.0, np.pi, 0.0, np.pi, np.pi]
    job = small.run([rot, rot], shots=20, parameter_binds=[{theta: values}, {theta: [np.pi]}])
    assert job.job_id().count(",") == 1  # 5 rows cut 3 + 2, then 1: three entries, two jobs
    expected = [{"1" if v else "0": 20} for v in values] + [{"1": 20}]
    assert job.result().get_counts() == expected
    again = qiskit_provider.retrieve_job(job.job_id())
    assert again.result().get_counts() == expected


def test_plan_segments_respects_both_limits() -> None:
    plan = plan_segments([5, 1, 2], max_circuits=2, max_rows=3)
    assert plan == [[(0, 0, 3), (0, 3, 5)], [(1, 0, 1), (2, 0, 2)]]
    assert all(len(job) <= 2 for job in plan)
    assert all(b - a <= 3 for job in plan for _, a, b in job)
    assert plan_segments([2, 2], max_circuits=10, max_rows=10) == [[(0, 0, 2), (1, 0, 2)]]


def test_bad_options_are_refused_by_name(aer_backend: QRelayBackend) -> None:
    qc = multi_register()
    with pytest.raises(ValidationError, match=r"unknown run option\(s\) \['shot'\]"):
        aer_backend.run(qc, shot=10)
    theta = Parameter("theta")
    rot = QuantumCircuit(1, 1)
    rot.rx(theta, 0)
    with pytest.raises(ValidationError, match="unbound parameters"):
        aer_backend.run(rot)
    with pytest.raises(ValidationError, match="2 entries for 1 circuit"):
        aer_backend.run(rot, parameter_binds=[{theta: [1.0]}, {theta: [2.0]}])
    with pytest.raises(ValidationError, match="meas_return"):
        aer_backend.run(qc, meas_return="sometimes")


def test_distribution_matches_aer(aer_backend: QRelayBackend) -> None:
    qc = QuantumCircuit(3, 3, name="dist")
    qc.h(0)
    qc.ry(1.1, 1)
    qc.cx(0, 2)
    qc.rx(0.7, 2)
    qc.cx(1, 0)
    qc.measure([0, 1, 2], [0, 1, 2])
    shots = 4000
    ours = aer_backend.run(qc, shots=shots).result().get_counts()
    reference = _aer(qc, shots=shots).get_counts()
    assert sum(ours.values()) == shots
    assert total_variation(ours, reference) < tv_bound(8, shots)


def test_target_drives_transpile_and_aer_noise(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    from qiskit_aer.noise import NoiseModel

    backend = qiskit_provider.get_backend("heavyhex_qpu")
    assert backend.num_qubits == 27
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    compiled = transpile(qc, backend, optimization_level=1, seed_transpiler=3)
    native = set(backend.operation_names)
    assert set(compiled.count_ops()) <= native
    coupling = set(backend.coupling_map.get_edges())
    for inst in compiled.data:
        if inst.operation.num_qubits == 2:
            pair = tuple(compiled.find_bit(q).index for q in inst.qubits)
            assert pair in coupling
    noise = NoiseModel.from_backend(backend)
    assert noise.noise_instructions
    simulator = AerSimulator.from_backend(backend)
    counts = simulator.run(compiled, shots=200).result().get_counts()
    assert sum(counts.values()) == 200


def test_meas_level_1_gives_iq_in_qiskit_shapes(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("square_qpu")
    qc = QuantumCircuit(2, 3)
    qc.x(0)
    qc.measure(0, 0)
    qc.measure(1, 2)
    single = backend.run(qc, shots=40, meas_level=1, meas_return="single").result()
    memory = single.get_memory(0)
    assert memory.shape == (40, 3)
    assert np.iscomplexobj(memory)
    avg = backend.run(qc, shots=40, meas_level=1, meas_return="avg").result()
    assert avg.get_memory(0).shape == (3,)
    # |1> and |0> sit around different centroids
    assert abs(memory[:, 0].mean() - memory[:, 2].mean()) > 0
    aer = qiskit_provider.get_backend("aer_simulator")
    if not aer.info.capabilities.iq_readout:
        with pytest.raises(ValidationError, match="meas_level=1"):
            aer.run(qc, meas_level=1)


def test_plot_histogram_takes_our_counts(aer_backend: QRelayBackend) -> None:
    import matplotlib as mpl

    mpl.use("Agg")
    from qiskit.visualization import plot_histogram

    figure = plot_histogram(aer_backend.run(multi_register(), shots=10).result().get_counts())
    assert figure.axes


def test_cancel_and_status(aer_backend: QRelayBackend) -> None:
    job = aer_backend.run(multi_register(), shots=10)
    assert job.cancel() is True
    assert job.status() in (JobStatus.CANCELLED, JobStatus.DONE)
    job.wait_for_final_state(timeout=30)
    assert job.in_final_state()


def _needs_reset() -> QuantumCircuit:
    bad = QuantumCircuit(1, 1, name="needs_reset")
    bad.x(0)
    bad.reset(0)
    bad.measure(0, 0)
    return bad


def test_a_failed_job_raises_with_the_reason_in_one_line(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("ion_qpu")  # no reset on this device
    job = backend.run(_needs_reset(), shots=10)
    with pytest.raises(JobFailedError) as caught:
        job.result(timeout=120)
    message = str(caught.value)
    assert "\n" not in message
    assert "circuit 0 (needs_reset): FAILED: " in message
    assert "reset" in message
    assert caught.value.job_id == job.job_id()
    assert job.status() is JobStatus.ERROR


def test_partial_results_give_an_unsuccessful_experiment(qiskit_provider) -> None:  # type: ignore[no-untyped-def]
    backend = qiskit_provider.get_backend("ion_qpu")
    good = QuantumCircuit(1, 1, name="fine")
    good.x(0)
    good.measure(0, 0)
    job = backend.run([good, _needs_reset()], shots=10)
    result = job.result(timeout=120, partial=True)
    assert result.success is False
    assert result.results[0].success is True
    assert sum(result.get_counts(0).values()) == 10
    assert result.results[1].success is False
    assert result.results[1].status.startswith("FAILED: ")
    assert "reset" in result.results[1].status
    with pytest.raises(JobFailedError, match=r"circuit 1 \(needs_reset\)"):
        job.result()


def test_a_cancellation_is_job_cancelled_and_a_failure_wins() -> None:
    from qrelay_qiskit.job import outcome_error

    cancelled = outcome_error("j1", {0: "CANCELLED: cancelled by the user"}, [None])
    assert isinstance(cancelled, JobCancelledError)
    assert str(cancelled).startswith("job j1 was cancelled: circuit 0: CANCELLED: ")
    both = outcome_error("j2", {0: "CANCELLED: x", 1: "FAILED: no\nreset"}, [None, None])
    assert isinstance(both, JobFailedError)
    assert "circuit 1: FAILED: no reset" in str(both)
    assert "circuit 0" not in str(both)


def test_out_of_range_run_options_raise_our_validation_error(
    aer_backend: QRelayBackend,
) -> None:
    with pytest.raises(ValidationError, match=r"priority: .*\(allowed: 0 to 10\)"):
        aer_backend.run(multi_register(), shots=10, priority=11)
    with pytest.raises(ValidationError, match=r"shots: 1000000000 .*1000000"):
        aer_backend.run(multi_register(), shots=10**9)


def test_provider_jobs_lists_recent_jobs(qiskit_provider, aer_backend: QRelayBackend) -> None:  # type: ignore[no-untyped-def]
    job = aer_backend.run(multi_register(), shots=10)
    job.result(progress=False)
    listed = qiskit_provider.jobs(limit=50, backend_name=aer_backend.name, status="completed")
    assert job.job_id() in [j.job_id() for j in listed]
    assert all(isinstance(j, QRelayJob) for j in listed)
    again = next(j for j in listed if j.job_id() == job.job_id())
    assert again.result().get_counts() == job.result().get_counts()
    with pytest.raises(ValidationError, match="status"):
        qiskit_provider.jobs(status="bogus")


def test_result_with_progress_on_still_gives_the_result(aer_backend: QRelayBackend) -> None:
    job = aer_backend.run(multi_register(), shots=10)
    assert sum(job.result(progress=True).get_counts().values()) == 10


def test_noise_sim_with_a_user_noise_spec(aer_backend: QRelayBackend) -> None:
    qc = QuantumCircuit(2, 2, name="zeros")
    qc.measure([0, 1], [0, 1])
    ideal = aer_backend.run(qc, shots=400, sim_method="sim").result().get_counts()
    assert ideal == {"00": 400}
    noisy = aer_backend.run(
        qc, shots=400, sim_method="noise-sim", noise={"readout_error": 0.3}
    ).result()
    counts = noisy.get_counts()
    assert sum(counts.values()) == 400
    assert counts.get("00", 0) < 400  # readout flips show up
