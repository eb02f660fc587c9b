"""The ``aer`` device driver: a target whose device is Qiskit Aer.

``sim`` (and a plain ``submit``) is ideal. ``noise-sim`` takes the noise the user gives in
the task's options (a :class:`~qrelay.payload.run_options.NoiseSpec`); on a target with a
calibration (a device target simulated here) it falls back to that calibration, and on a
bare simulator it refuses the job, since there is no noise to apply.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from qrelay.errors import PayloadError
from qrelay.payload import Circuit, Readout, SimMethod, TargetInfo, WorkerTask
from qrelay.payload.run_options import RunOptions
from qrelay.plugins import TaskContext

log = logging.getLogger(__name__)


@functools.cache
def shared_engine() -> Any:
    """One Aer engine per process: its simulator and caches serve every driver."""
    from qrelay_qiskit.engine import AerEngine

    return AerEngine()


def warm_up() -> None:
    """Import Aer and build the shared engine (a worker's child calls this at start)."""
    shared_engine()


def simulate(
    task: WorkerTask,
    circuit: Circuit,
    info: TargetInfo,
    engine: Any,
    max_threads: int | None = None,
) -> list[Readout]:
    """Run a task on Aer, ideal or with the noise its sim method asks for; a circuit
    with observables gets their exact, ideal expectation values instead of shots."""
    if circuit.observables is not None:
        if task.sim_method == SimMethod.NOISE_SIM:
            raise PayloadError(
                "observables: exact expectation values are ideal; sim_method 'noise-sim' "
                "takes shots (sample the circuit instead)"
            )
        return list(
            engine.expectation_values(circuit, bindings=task.bindings, max_threads=max_threads)
        )
    run = RunOptions.of(task)
    if run.meas_level != 2:
        raise PayloadError(
            f"meas_level {run.meas_level}: IQ readout comes from a QPU target; simulations "
            "give integer readout only (meas_level 2)"
        )
    noise: TargetInfo | None = None
    noise_model: Any = None
    if task.sim_method == SimMethod.NOISE_SIM:
        if run.noise is not None:
            from qrelay_qiskit.noise import noise_model_from_spec

            noise_model = noise_model_from_spec(run.noise)
        elif info.gates or any(q.readout_error for q in info.qubits):
            noise = info
        else:
            raise PayloadError(
                f"sim_method 'noise-sim' on {info.name!r} needs a noise model: give "
                'options {"noise": {"depolarizing_1q": p1, "depolarizing_2q": p2, '
                '"readout_error": pr}}, or simulate on a QPU target to use its calibration'
            )
    return list(
        engine.run(
            circuit,
            shots=run.shots,
            bindings=task.bindings,
            noise=noise,
            seed=task.seed(),
            noise_model=noise_model,
            max_threads=max_threads,
            max_loop_iterations=info.limits.max_loop_iterations,
        )
    )


class AerDriver:
    """Runs tasks on Aer (implements ``qrelay.plugins.DeviceDriver``)."""

    def __init__(self, target_info: TargetInfo, **config: Any) -> None:
        self.info = target_info
        self.config = config

    def capabilities(self) -> TargetInfo:
        return self.info

    def execute(self, task: WorkerTask, circuit: Circuit, ctx: TaskContext) -> list[Readout]:
        """Simulate every binding row in one Aer run (see :mod:`qrelay_qiskit.engine`)."""
        if ctx.check_cancelled():
            return []
        if circuit.num_qubits > self.info.num_qubits:
            raise PayloadError(
                f"circuit has {circuit.num_qubits} qubits; {self.info.name!r} simulates at "
                f"most {self.info.num_qubits}"
            )
        return simulate(task, circuit, self.info, shared_engine(), ctx.max_threads)
