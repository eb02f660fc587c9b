"""The ``aer`` device driver: a target whose device is Qiskit Aer.

``sim`` (and a plain ``submit``) is ideal. ``noise-sim`` takes the noise the user gives in
the task's options (a :class:`~qrelay.payload.run_options.NoiseSpec`); on a target with a
calibration (a device target simulated here) it falls back to that calibration, and on a
bare simulator it refuses the job, since there is no noise to apply.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from qrelay.errors import PayloadError
from qrelay.payload import Circuit, Readout, SimMethod, TargetInfo, WorkerTask
from qrelay.payload.lowering import needs_lowering
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
            histogram=run.histogram,
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

    def execute_many(
        self, tasks: Sequence[WorkerTask], circuits: Sequence[Circuit], ctx: TaskContext
    ) -> list[list[Readout]]:
        """Simulate several tasks at once: one readout list per task, as :meth:`execute`
        gives each.

        Ideal tasks without bindings go to the engine together (one Aer run of their
        circuits, see :meth:`~qrelay_qiskit.engine.AerEngine.run_many`), each with its own
        seed; any other task is an :meth:`execute` of its own.
        """
        from qrelay_qiskit.engine import Sample

        engine = shared_engine()
        out: list[list[Readout]] = [[] for _ in tasks]
        together: list[int] = []
        for i, (task, circuit) in enumerate(zip(tasks, circuits, strict=True)):
            if _plain_shots(task, circuit) and circuit.num_qubits <= self.info.num_qubits:
                together.append(i)
            else:
                out[i] = self.execute(task, circuit, ctx)
        if together and not ctx.check_cancelled():
            runs = {i: RunOptions.of(tasks[i]) for i in together}
            samples = [
                Sample(circuits[i], runs[i].shots, tasks[i].seed(), runs[i].histogram)
                for i in together
            ]
            for i, readouts in zip(
                together, engine.run_many(samples, max_threads=ctx.max_threads), strict=True
            ):
                out[i] = readouts
        return out


def _plain_shots(task: WorkerTask, circuit: Circuit) -> bool:
    """Whether ``task`` is ideal shots of ``circuit`` with no bindings, integer readout,
    and no loop to lower (whose bound is the target's)."""
    return (
        circuit.observables is None
        and not needs_lowering(circuit)
        and task.bindings is None
        and task.sim_method != SimMethod.NOISE_SIM
        and RunOptions.of(task).meas_level == 2
    )
