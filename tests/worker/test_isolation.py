"""Which simulations run in the worker's thread, and the environment of the child."""

from __future__ import annotations

from qrelay.payload import Circuit, JobType, NewJob, SimMethod
from qrelay.payload.workload import (
    SMALL_MAX_QUBITS,
    SMALL_MAX_ROWS,
    small_simulation,
    small_simulation_job,
)
from qrelay.worker.isolation import child_environment


def _ghz(n: int, *, measure_midway: bool = False) -> Circuit:
    instructions: list[dict[str, object]] = [{"op": "h", "qubits": [0]}]
    if measure_midway:
        instructions.append({"op": "measure", "qubits": [0], "clbits": [0]})
    instructions += [{"op": "cx", "qubits": [q, q + 1]} for q in range(n - 1)]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(n)]
    return Circuit.model_validate(
        {"num_qubits": n, "registers": [{"name": "c", "size": n}], "instructions": instructions}
    )


def test_a_small_noiseless_circuit_measured_last_runs_inline_and_nothing_else_does() -> None:
    bell = _ghz(2)
    assert small_simulation(bell, shots=1000, rows=1, sim_method=None)
    assert not small_simulation(bell, shots=1000, rows=1, sim_method=SimMethod.NOISE_SIM)
    assert not small_simulation(_ghz(2, measure_midway=True), shots=10, rows=1, sim_method=None)
    assert not small_simulation(_ghz(SMALL_MAX_QUBITS + 1), shots=1, rows=1, sim_method=None)
    # the work bound counts every binding row
    assert not small_simulation(bell, shots=1000, rows=2_000, sim_method=None)
    # a long sweep of a tiny circuit: each row has a setup cost the work estimate misses
    one = Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "c", "size": 1}],
            "instructions": [{"op": "measure", "qubits": [0], "clbits": [0]}],
        }
    )
    assert small_simulation(one, shots=1, rows=SMALL_MAX_ROWS, sim_method=None)
    assert not small_simulation(one, shots=1, rows=3000, sim_method=None)


def test_a_job_of_small_simulations_is_a_run_of_nothing_but_small_circuits() -> None:
    bell, wide = _ghz(2), _ghz(SMALL_MAX_QUBITS + 1)
    assert small_simulation_job(NewJob(target="t", circuits=[bell, bell], shots=100))
    assert small_simulation_job(NewJob(target="t", circuits=[bell], job_type=JobType.SIMULATE))
    assert not small_simulation_job(NewJob(target="t", circuits=[bell, wide], shots=100))
    assert not small_simulation_job(NewJob(target="t", circuits=[bell], dry_run=True))
    assert not small_simulation_job(NewJob(target="t", circuits=[bell], job_type=JobType.COMPILE))


def test_the_child_spins_briefly_and_keeps_what_the_user_set() -> None:
    env = child_environment({"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert env["GOMP_SPINCOUNT"] == "30000"
    assert env["KMP_BLOCKTIME"] == "0"
    assert "OMP_WAIT_POLICY" not in env  # passive waits slowed sweeps by about a quarter
    mine = child_environment({"GOMP_SPINCOUNT": "5", "OMP_WAIT_POLICY": "PASSIVE"})
    assert mine["GOMP_SPINCOUNT"] == "5"
    assert mine["OMP_WAIT_POLICY"] == "PASSIVE"
