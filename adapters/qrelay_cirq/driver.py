"""The ``cirq`` device driver: payload circuits on qsim (when installed) or Cirq's simulator.

A noiseless circuit whose measurements are all terminal (no gate after a qubit's
measurement, no ``reset``, no ``if``) and that is small enough takes the fast path of
:mod:`qrelay_cirq.statevector`: the final states of all binding rows are evolved together
with numpy and each row's shots drawn from its ``|amplitude|^2`` -- the same distribution a
simulator's shots follow, without its per-point resolve/translate/simulate cost.
``options.seed`` seeds that draw.

Any other circuit becomes one ``run_sweep`` over a ``ListSweep``, and each result's
``records`` go back to payload registers with :func:`qrelay_cirq.convert.register_arrays`
(keys and instances as :func:`~qrelay_cirq.convert.to_cirq` made them); a register that
a ``while`` loop (Cirq's ``repeat_until``) measures keeps its last turn, and every turn
travels in the readout's ``turns`` (:func:`qrelay_cirq.convert.register_turns`), up to
8 MiB of them per readout. qsim is tried
first; a circuit it cannot run (some mid-circuit measurement patterns, classical control)
falls back to ``cirq.Simulator``. Both paths give raw measured bits (inversions are the
decoder's business).

``noise-sim`` takes the user's noise spec from the task's options (a
:class:`~qrelay.payload.run_options.NoiseSpec`, read as the Aer driver reads it) and refuses
the job without one.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from qrelay.errors import DeviceError, PayloadError
from qrelay.payload import Circuit, Readout, SimMethod, TargetInfo, WorkerTask
from qrelay.payload.run_options import NoiseSpec, RunOptions
from qrelay.plugins import TaskContext

log = logging.getLogger(__name__)

#: Noisy circuits up to this size use the density-matrix simulator (4^n memory).
_DENSITY_MATRIX_MAX_QUBITS: Final = 10
#: Shots drawn at once when sampling final states (points x shots indices in memory).
_SAMPLES_PER_CHUNK: Final = 1 << 20
#: The most bytes of loop turns one readout carries (a quarter of the service's default
#: body limit); past it, the registers keep their last turn only.
_MAX_TURN_BYTES: Final = 8 << 20


def _noise_model(spec: NoiseSpec) -> Any:
    """A Cirq noise model: depolarizing after each gate, bit flips before each measure."""
    import cirq

    p1, p2, pr = spec.depolarizing_1q, spec.depolarizing_2q, spec.readout_error

    class _SpecNoise(cirq.NoiseModel):
        def noisy_operation(self, operation: Any) -> Any:
            qubits = operation.qubits
            if cirq.is_measurement(operation):
                if pr > 0:
                    return [cirq.bit_flip(pr).on_each(*qubits), operation]
                return operation
            if len(qubits) == 1 and p1 > 0:
                return [operation, cirq.depolarize(p1).on(*qubits)]
            if len(qubits) == 2 and p2 > 0:
                return [operation, cirq.depolarize(p2, n_qubits=2).on(*qubits)]
            return operation

    return _SpecNoise()


def _readout(arrays: dict[str, Any], shots: int) -> Readout:
    return Readout.from_arrays(arrays) if arrays else Readout(successful_shots=shots)


def _sample_terminal(
    task: WorkerTask, circuit: Circuit, seed: int | None, ctx: TaskContext
) -> list[Readout]:
    """All binding rows of a noiseless terminal-measurement circuit, from final states."""
    import numpy as np

    from qrelay_cirq.statevector import probability_chunks, register_bits, sample_indices

    shots = task.shots
    points = 1 if task.bindings is None else len(task.bindings)
    if not any(inst["op"] == "measure" for inst in circuit.instructions):
        zeros = np.zeros(shots, dtype=np.int64)
        return [_readout(register_bits(circuit, zeros), shots) for _ in range(points)]
    rng = np.random.default_rng(seed)
    readouts: list[Readout] = []
    for probs in probability_chunks(circuit, task.bindings):
        chunk = max(1, _SAMPLES_PER_CHUNK // max(1, shots))
        for start in range(0, len(probs), chunk):
            if ctx.check_cancelled():
                return []
            readouts.extend(
                _readout(register_bits(circuit, indices), shots)
                for indices in sample_indices(probs[start : start + chunk], shots, rng)
            )
    return readouts


def warm_up() -> None:
    """Import Cirq and the converter (a worker's child calls this at start)."""
    import cirq  # noqa: F401

    import qrelay_cirq.convert  # noqa: F401


class CirqDriver:
    """Runs tasks on a Cirq simulator (implements ``qrelay.plugins.DeviceDriver``)."""

    def __init__(self, target_info: TargetInfo, **config: Any) -> None:
        self.info = target_info
        self.config = config
        self._qsim: Any = None
        self._qsim_checked = False

    def capabilities(self) -> TargetInfo:
        return self.info

    def _qsim_simulator(self) -> Any:
        if not self._qsim_checked:
            self._qsim_checked = True
            try:
                import qsimcirq
            except ImportError:
                log.info("qsimcirq is not installed; using cirq.Simulator")
            else:
                self._qsim = qsimcirq.QSimSimulator()
        return self._qsim

    def execute(self, task: WorkerTask, circuit: Circuit, ctx: TaskContext) -> list[Readout]:
        """Simulate every binding row with one sweep."""
        import cirq

        from qrelay_cirq.convert import loop_ends, register_arrays, register_turns, to_cirq
        from qrelay_cirq.statevector import is_terminal

        if ctx.check_cancelled():
            return []
        run = RunOptions.of(task)
        if run.meas_level != 2:
            raise PayloadError(
                f"meas_level {run.meas_level}: a simulation gives integer readout only"
            )
        if circuit.num_qubits > self.info.num_qubits:
            raise PayloadError(
                f"circuit has {circuit.num_qubits} qubits; {self.info.name!r} simulates at "
                f"most {self.info.num_qubits}"
            )
        noise = None
        if task.sim_method == SimMethod.NOISE_SIM:
            if run.noise is None:
                raise PayloadError(
                    f"sim_method 'noise-sim' on {self.info.name!r} needs a noise model: give "
                    'options {"noise": {"depolarizing_1q": p1, "depolarizing_2q": p2, '
                    '"readout_error": pr}}'
                )
            noise = _noise_model(run.noise)
        seed = task.seed()
        if noise is None and is_terminal(circuit):
            return _sample_terminal(task, circuit, seed, ctx)
        program = to_cirq(circuit)
        if task.bindings is None:
            sweep: Any = cirq.UnitSweep
        else:
            sweep = cirq.ListSweep(list(task.bindings.rows()))
        results = None
        qsim = self._qsim_simulator() if noise is None and seed is None else None
        if qsim is not None:
            try:
                results = qsim.run_sweep(program, params=sweep, repetitions=task.shots)
            except Exception as exc:  # qsim refuses some circuits; Cirq runs them all
                log.info("qsim could not run the circuit (%s); using cirq.Simulator", exc)
        if results is None:
            # a noisy circuit with terminal measurements samples its final density
            # matrix once, where the state-vector simulator would run every shot
            simulator = (
                cirq.Simulator(noise=noise, seed=seed)
                if noise is None or circuit.num_qubits > _DENSITY_MATRIX_MAX_QUBITS
                else cirq.DensityMatrixSimulator(noise=noise, seed=seed)
            )
            try:
                results = simulator.run_sweep(program, params=sweep, repetitions=task.shots)
            except ValueError as exc:
                raise DeviceError(f"Cirq could not run the circuit: {exc}") from exc
        readouts = []
        for result in results:
            ends = loop_ends(program, result.records)
            self._check_iterations(ends)
            arrays = register_arrays(circuit, result.records, task.shots, ends)
            if arrays:
                turns = register_turns(circuit, result.records, arrays, ends) if ends else None
                if turns and sum(len(t.bits) for t in turns) > _MAX_TURN_BYTES:
                    log.warning(
                        "every turn of the loop registers would take over %d bytes; the "
                        "readout keeps their last turn only",
                        _MAX_TURN_BYTES,
                    )
                    turns = None
                readouts.append(Readout.from_arrays(arrays, turns=turns))
            else:
                readouts.append(Readout(successful_shots=task.shots))
        return readouts

    def _check_iterations(self, ends: dict[str, Any]) -> None:
        """Fail the run when a shot's ``while`` (a ``repeat_until`` in Cirq, whose first
        turn is the body before the ``while``) ran more turns than the target allows."""
        bound = self.info.limits.max_loop_iterations
        for key, last in ends.items():
            turns = int(last.max()) if len(last) else 0
            if turns > bound:
                raise DeviceError(
                    f"a shot's while loop (measuring key {key!r}) ran {turns} iterations; "
                    f"{self.info.name!r} allows at most {bound} (limits.max_loop_iterations)"
                )
