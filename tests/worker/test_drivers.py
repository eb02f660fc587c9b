"""Device drivers on their own: Aer, Cirq and the QPU driver's local simulate path."""

from __future__ import annotations

import math

import pytest

from qrelay import registry
from qrelay.errors import PayloadError
from qrelay.payload import Bindings, TargetInfo
from qrelay.plugins import DeviceDriver, TaskContext
from qrelay.qpu.fleet import fleet_device
from qrelay.worker.qpu_driver import QpuGrpcDriver, idempotency_key, patch_values
from qrelay_qiskit.compiler import TranspileCompiler

from ._circuits import ghz, mixed, rotation, task_for, total_variation, tv_bound

AER = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=24)
CIRQ = TargetInfo(name="cirq_simulator", driver="cirq", simulator=True, num_qubits=20)
SHOTS = 4000
NOISE = {"depolarizing_1q": 0.01, "depolarizing_2q": 0.05, "readout_error": 0.03}


def _driver(info: TargetInfo) -> DeviceDriver:
    driver = registry.load(registry.DRIVERS, info.driver)(info)
    assert isinstance(driver, DeviceDriver)
    return driver


def test_drivers_are_registered() -> None:
    assert {"aer", "cirq", "qpu-grpc"} <= set(registry.names(registry.DRIVERS))
    assert "qiskit-transpile" in registry.names(registry.COMPILERS)
    assert "aer" in registry.names(registry.ENGINES)


def test_cirq_matches_aer_ideal() -> None:
    task = task_for(mixed(), shots=SHOTS, options={"seed": 3})
    aer = _driver(AER).execute(task, task.circuit, TaskContext(task=task))
    cirq = _driver(CIRQ).execute(task, task.circuit, TaskContext(task=task))
    assert len(aer) == len(cirq) == 1
    assert total_variation(aer[0].counts(), cirq[0].counts()) < tv_bound(8, SHOTS)


def test_cirq_and_aer_sweeps_agree() -> None:
    table = Bindings(names=["t"], values=[[0.0], [math.pi / 3], [math.pi]])
    task = task_for(rotation(), shots=SHOTS, bindings=table)
    for info in (AER, CIRQ):
        readouts = _driver(info).execute(task, task.circuit, TaskContext(task=task))
        assert len(readouts) == 3
        means = [r.arrays()["m"].mean() for r in readouts]
        for (angle,), mean in zip(table.values, means, strict=True):
            assert abs(mean - math.sin(angle / 2) ** 2) < 4 * math.sqrt(0.25 / SHOTS)


def test_noise_sim_with_user_noise_agrees_between_simulators() -> None:
    task = task_for(ghz(3), shots=SHOTS, sim_method="noise-sim", options={"noise": NOISE})
    aer = _driver(AER).execute(task, task.circuit, TaskContext(task=task))[0].counts()
    cirq = _driver(CIRQ).execute(task, task.circuit, TaskContext(task=task))[0].counts()
    ideal_share = (aer.get("000", 0) + aer.get("111", 0)) / SHOTS
    assert ideal_share < 0.97  # the noise is really applied
    assert total_variation(aer, cirq) < tv_bound(8, SHOTS)


@pytest.mark.parametrize("info", [AER, CIRQ], ids=["aer", "cirq"])
def test_noise_sim_on_a_simulator_without_noise_is_refused(info: TargetInfo) -> None:
    task = task_for(ghz(2), sim_method="noise-sim")
    with pytest.raises(PayloadError, match=r"'noise-sim' on .* needs a noise model"):
        _driver(info).execute(task, task.circuit, TaskContext(task=task))


def test_meas_level_1_on_a_simulator_is_refused() -> None:
    task = task_for(ghz(2), meas_level=1)
    with pytest.raises(PayloadError, match="meas_level 1"):
        _driver(AER).execute(task, task.circuit, TaskContext(task=task))


def test_cancelled_context_runs_nothing() -> None:
    task = task_for(ghz(2))
    ctx = TaskContext(task=task)
    ctx.cancelled.set()
    assert _driver(AER).execute(task, task.circuit, ctx) == []


def test_qpu_driver_simulates_locally_with_calibrated_noise() -> None:
    """A simulate job naming a QPU target runs on Aer here, never touching a controller."""
    target = fleet_device("square_qpu")
    compiled = TranspileCompiler().compile(ghz(2), target).circuit
    driver = QpuGrpcDriver(target, qpu_address="127.0.0.1:1")  # nothing listens there
    ideal_task = task_for(compiled, target="square_qpu", shots=SHOTS, sim_method="sim")
    ideal = driver.execute(ideal_task, compiled, TaskContext(task=ideal_task))[0].counts()
    assert set(ideal) == {"00", "11"}
    noisy_task = task_for(compiled, target="square_qpu", shots=SHOTS, sim_method="noise-sim")
    noisy = driver.execute(noisy_task, compiled, TaskContext(task=noisy_task))[0].counts()
    fidelity = (noisy.get("00", 0) + noisy.get("11", 0)) / SHOTS
    assert 0.85 < fidelity < 0.995
    driver.close()


def test_patch_values_and_idempotency_key() -> None:
    circuit = rotation()
    task = task_for(circuit, bindings=Bindings(names=["t"], values=[[0.1], [0.2]]))
    assert patch_values(circuit, task) == [{"t": [0.1]}, {"t": [0.2]}]
    # A later attempt submits under the key of the attempt that recorded it (the worker
    # reads that back from the service); another deployment never has the same key.
    again = task.model_copy(update={"lease_id": "another", "attempt": 2})
    assert idempotency_key(task) == idempotency_key(again, attempt=1)
    assert idempotency_key(task) != idempotency_key(again)
    other = task.model_copy(update={"deployment_id": "another-deployment"})
    assert idempotency_key(task) != idempotency_key(other)
    with pytest.raises(PayloadError, match="none given"):
        patch_values(circuit, task_for(circuit))


def test_a_missing_patch_value_names_its_region_on_every_path() -> None:
    """The worker's driver and the direct provider turn bindings into patch values through
    one function: a symbol without a column is an error naming it and its region (the
    direct provider used to send 0.0 for it)."""
    from qrelay.qpu.native import PatchLayout

    circuit = rotation()
    layout = PatchLayout.of(circuit)
    wrong = Bindings(names=["other"], values=[[0.5]])
    with pytest.raises(PayloadError, match=r"no column for 't' \(region t\[0\]\)"):
        layout.sets(wrong)
    with pytest.raises(PayloadError, match=r"no column for 't' \(region t\[0\]\)"):
        patch_values(circuit, task_for(circuit, bindings=wrong))
    assert layout.sets(Bindings(names=["t"], values=[[0.25]])) == [{"t": [0.25]}]


def _seeded_runs(seed: object) -> dict[str, object]:
    """What each simulating path makes of ``options.seed``: the readout, or the error."""
    target = fleet_device("square_qpu")
    compiled = TranspileCompiler().compile(mixed(), target).circuit
    qpu = QpuGrpcDriver(target, qpu_address="127.0.0.1:1")  # simulates here, no controller
    runs = {
        "aer": (_driver(AER), task_for(mixed(), shots=200, options={"seed": seed})),
        "cirq": (_driver(CIRQ), task_for(mixed(), shots=200, options={"seed": seed})),
        "qpu": (
            qpu,
            task_for(
                compiled, target="square_qpu", shots=200, sim_method="sim", options={"seed": seed}
            ),
        ),
    }
    out: dict[str, object] = {}
    try:
        for name, (driver, task) in runs.items():
            try:
                out[name] = driver.execute(task, task.circuit, TaskContext(task=task))[0]
            except PayloadError as exc:
                out[name] = str(exc)
    finally:
        qpu.close()
    return out


@pytest.mark.parametrize("seed", [True, -3, 2.0, "7"], ids=["bool", "negative", "float", "text"])
def test_every_simulating_path_refuses_the_same_bad_seed(seed: object) -> None:
    """The Aer driver refused these while Cirq and a QPU target's simulation ran unseeded."""
    outcomes = _seeded_runs(seed)
    for name, outcome in outcomes.items():
        assert isinstance(outcome, str), f"{name} ran with seed {seed!r}"
        assert "options.seed" in outcome, (name, outcome)


def test_every_simulating_path_repeats_itself_under_one_seed() -> None:
    first, again = _seeded_runs(11), _seeded_runs(11)
    for name in first:
        assert first[name] == again[name], name


@pytest.mark.parametrize("info", [AER, CIRQ], ids=["aer", "cirq"])
def test_both_simulators_read_the_noise_spec_alike(info: TargetInfo) -> None:
    """Both simulators read the noise spec through one model, with one error."""
    task = task_for(ghz(2), sim_method="noise-sim", options={"noise": {"readout_error": True}})
    with pytest.raises(PayloadError, match=r"options\.noise\.readout_error"):
        _driver(info).execute(task, task.circuit, TaskContext(task=task))


def test_tasks_simulated_together_read_as_alone_and_a_refused_batch_runs_none() -> None:
    """The Aer driver takes a job's tasks in one call (``BatchDriver``); each task's
    readouts are what it gets alone, seeded alike. A batch with a task the driver refuses
    (too wide for the target) prepares nothing: every task then runs and reports alone."""
    from qrelay.plugins import BatchDriver
    from qrelay.worker.batch import simulate_together

    small = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=4)
    driver = _driver(small)
    assert isinstance(driver, BatchDriver)
    tasks = [
        task_for(c, shots=300, options={"seed": 11}, task_id=f"t{i}", circuit_index=i)
        for i, c in enumerate([mixed(), ghz(3), ghz(4), mixed()])
    ]
    ran = simulate_together(tasks, lambda _name: small, lambda _info: driver)
    assert sorted(ran) == ["t0", "t1", "t2", "t3"]
    for task in tasks:
        assert ran[task.task_id] == driver.execute(task, task.circuit, TaskContext(task=task))
    wide = task_for(ghz(6), shots=300, task_id="t4", circuit_index=4)
    assert simulate_together([*tasks, wide], lambda _name: small, lambda _info: driver) == {}
    with pytest.raises(PayloadError, match="6 qubits"):
        driver.execute(wide, wide.circuit, TaskContext(task=wide))
