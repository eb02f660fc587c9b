"""The ``aer`` simulation engine: payload circuits on Qiskit Aer, one run per sweep.

A bindings table becomes Aer's ``parameter_binds``, so a sweep of a thousand points is
one Aer run over one converted circuit, not a thousand conversions and runs. Readout is
built from Aer's counts (computed in C++) rather than per-shot memory strings: each
distinct outcome is expanded to its bits and packed once, and the shots are its index
repeated by its count, shuffled within each row (see :mod:`qrelay_qiskit.shots`). That
gives per-shot readout with exactly Aer's joint distribution (shot order in a simulator
carries no information) without one Python string per shot.

An ideal sweep that measures last is drawn from probabilities, and rows (and circuits)
that differ only in their last single-qubit gates (an estimator's measurement bases) share
the state of their common prefix, simulated once (see :mod:`qrelay_qiskit.prefix`). With the
histogram option a readout holds each row's distinct outcomes and their counts instead of
every shot (see :mod:`qrelay.payload.readout`).

The engine keeps one ``AerSimulator``, a small cache of converted circuits and of prefix
states, and noise models are cached per calibration (see :mod:`qrelay_qiskit.noise`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from qrelay.errors import DeviceError, PayloadError
from qrelay.payload import Bindings, Circuit, Readout, RegisterReadout, TargetInfo
from qrelay.payload.lowering import lower, needs_lowering
from qrelay.payload.targets import TargetLimits
from qrelay_qiskit.prefix import Split, distinct_rows, split
from qrelay_qiskit.prefix import probabilities as prefix_probabilities
from qrelay_qiskit.sampling import FinalMeasurements, draw, final_measurements
from qrelay_qiskit.shots import Shots, shots_from_counts, shots_from_outcomes, to_readouts

log = logging.getLogger(__name__)

#: How many converted circuits the engine remembers (keyed by their JSON): every circuit
#: of a job of 512 small ones, or both forms (as given, and saving probabilities) of 256.
_CONVERTED_CACHE: Final = 512
#: Up to this many qubits an ideal run takes Aer's ``statevector`` method rather than
#: what ``automatic`` picks. For a Clifford circuit ``automatic`` picks ``stabilizer``,
#: which simulates every shot; the state vector is sampled once. With 1,000 shots the
#: state vector is ahead up to about 14 qubits and ``stabilizer`` from 16 (figures:
#: "Design measurements" in ``docs/performance.md``).
_SMALL: Final = 12
#: Most amplitudes (rows x 2**qubits) of prefix states one run saves (4 MiB), and most
#: amplitudes of prefix states the engine remembers (32 MiB): the bases of a few circuits
#: measured in turn, or the circuits of a job of many small ones.
_MAX_STATES: Final = 1 << 18
_STATES_KEPT: Final = 8 << 18
#: Past :data:`_SMALL`, an ideal circuit of at most this many qubits (a state vector of
#: 64 MiB) is still sampled from its state vector when it has many shots for its
#: measured outcomes (:meth:`qrelay_qiskit.sampling.FinalMeasurements.fits`): a million
#: shots of 20 random bits take a fraction of a second instead of Aer's shot-by-shot run.
_SAMPLED: Final = 22
#: The row index of a run without bindings: its one row reads the prefix's one state.
_ONE_ROW: Final = np.zeros(1, dtype=np.intp)


class AerEngine:
    """Runs payload circuits on Aer (implements ``qrelay.plugins.SimulationEngine``)."""

    def __init__(self, *, method: str = "automatic", **options: Any) -> None:
        from qiskit_aer import AerSimulator

        self._method = method
        self._simulator = AerSimulator(method=method, **options)
        self._lock = threading.Lock()
        self._converted: OrderedDict[str, Any] = OrderedDict()
        self._states: OrderedDict[str, npt.NDArray[np.complex128]] = OrderedDict()
        self._kept_amplitudes = 0
        self._splits: OrderedDict[int, Split] = OrderedDict()
        self._supported_names: set[str] | None = None
        self._rng = np.random.default_rng()
        #: How many Aer runs the engine has made (a list of circuits run together is one).
        self.aer_runs = 0

    # ------------------------------------------------------------------ conversion
    def to_qiskit(
        self,
        circuit: Circuit,
        final: FinalMeasurements | None = None,
        *,
        device: TargetInfo | None = None,
    ) -> Any:
        """The Qiskit circuit of ``circuit``, remembered by its content.

        Each task brings its circuit freshly parsed, so the same circuit submitted again
        is a new object; its JSON, cheaper to make than a conversion (figures: "Design
        measurements" in ``docs/performance.md``), finds it again. With ``final`` (the
        circuit's measurements, all last) the measurements give way to Aer's
        ``save_probabilities`` of the measured qubits, for :mod:`qrelay_qiskit.sampling`.
        With ``device`` (a calibrated target whose noise the run takes) the circuit is
        scheduled on it, its idle time made delays (see
        :func:`qrelay_qiskit.noise.with_idle_delays`).
        """
        if device is not None:
            from qrelay_qiskit.noise import with_idle_delays

            if device.calibration_id is None:
                return with_idle_delays(self.to_qiskit(circuit), device)
        key = circuit.model_dump_json()
        if final is not None:
            key += "\x00probabilities"
        if device is not None:
            key += "\x00idle:" + device.name + ":" + str(device.calibration_id)
        with self._lock:
            found = self._converted.get(key)
            if found is not None:
                self._converted.move_to_end(key)
                return found
        if device is not None:
            qc = with_idle_delays(self.to_qiskit(circuit), device)
        elif final is not None:
            qc = _probabilities_circuit(self.to_qiskit(circuit), final)
        else:
            qc = self._convert(circuit)
        with self._lock:
            self._converted[key] = qc
            while len(self._converted) > _CONVERTED_CACHE:
                self._converted.popitem(last=False)
        return qc

    def _convert(self, circuit: Circuit) -> Any:
        from qrelay_qiskit.convert import to_qiskit

        qc = to_qiskit(circuit)
        unsupported = set(qc.count_ops()) - self._supported()
        if unsupported:
            # gates Aer does not simulate natively (iswap, fsim, ch, ...): decompose once
            from qiskit import transpile

            log.debug("decomposing %s for Aer", sorted(unsupported))
            qc = transpile(qc, self._simulator, optimization_level=0)
        return qc

    def _supported(self) -> set[str]:
        """Instruction names Aer runs as they are (control flow and the standard gates)."""
        if self._supported_names is None:
            names = set(self._simulator.configuration().basis_gates)
            names |= {"measure", "reset", "barrier", "delay", "if_else", "unitary"}
            self._supported_names = names
        return self._supported_names

    def _shuffler(self, seed: int | None) -> np.random.Generator:
        """The generator that orders the shots: the seed's own, else the engine's (making
        one from fresh entropy costs a sixth of a Bell pair's readout)."""
        return self._rng if seed is None else np.random.default_rng(seed)

    # ------------------------------------------------------------------ running
    def run(
        self,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None = None,
        noise: TargetInfo | None = None,
        seed: int | None = None,
        noise_model: Any = None,
        max_threads: int | None = None,
        max_loop_iterations: int | None = None,
        histogram: bool = False,
    ) -> list[Readout]:
        """Simulate ``circuit`` for each row of ``bindings``; one readout per row.

        ``histogram`` gives the readouts in histogram form (see
        :mod:`qrelay.payload.readout`), except for a circuit with loops to lower, whose
        readout is rebuilt shot by shot.

        ``noise`` is a target whose calibration gives the noise; ``noise_model`` an Aer
        noise model given directly (a user's noise spec). Neither: ideal. ``max_threads``
        bounds Aer's OpenMP threads (see ``qrelay.plugins.TaskContext.max_threads``).
        ``max_loop_iterations`` bounds each ``while`` loop's turns per shot (when ``None``:
        ``noise``'s ``limits.max_loop_iterations``, else their default): a shot that reaches it
        fails the run with a ``DeviceError`` naming the loop (see
        :mod:`qrelay.payload.lowering`).
        """
        if shots < 1:
            raise PayloadError(f"shots: {shots} is not a positive number")
        options: dict[str, Any] = {
            "shots": shots,
            "bindings": bindings,
            "noise": noise,
            "seed": seed,
            "noise_model": noise_model,
            "max_threads": max_threads,
        }
        if needs_lowering(circuit):
            limits = noise.limits if noise is not None else TargetLimits()
            lowered = lower(circuit, max_loop_iterations or limits.max_loop_iterations)
            return lowered.restore(self._run(lowered.circuit, **options, histogram=False))
        return self._run(circuit, **options, histogram=histogram)

    def _run(
        self,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None,
        noise: TargetInfo | None,
        seed: int | None,
        noise_model: Any,
        max_threads: int | None,
        histogram: bool,
    ) -> list[Readout]:
        """:meth:`run` of a circuit that needs no lowering."""
        if noise is not None and noise_model is None:
            from qrelay_qiskit.noise import noise_model_from_target

            noise_model = noise_model_from_target(noise)
        qc = self.to_qiskit(circuit, device=noise)
        run_options: dict[str, Any] = {}
        if noise_model is not None:
            run_options["noise_model"] = noise_model
        if seed is not None:
            run_options["seed_simulator"] = seed
        if max_threads is not None:
            run_options["max_parallel_threads"] = max_threads
        rows = 1 if bindings is None else len(bindings)
        if rows == 0:
            return []
        params = list(qc.parameters)
        final = None if noise_model is not None else final_measurements(circuit)
        if final is not None and not final.fits(rows if params else 1, shots):
            final = None
        # A small ideal circuit, or one whose measured outcomes are few for its shots and
        # whose state vector is small, is sampled from its state vector.
        sampled = final is not None and qc.num_qubits <= _SAMPLED
        if (
            noise_model is None
            and self._method == "automatic"
            and (qc.num_qubits <= _SMALL or sampled)
        ):
            run_options["method"] = "statevector"
        if run_options.get("method", self._method) != "statevector":
            final = None
        binds = _parameter_binds(params, bindings) if params else None
        rng = self._shuffler(seed)
        if final is not None:
            bits = self._draw(
                circuit, qc, final, shots, rows, binds=binds, options=run_options, rng=rng
            )
            return to_readouts(circuit, bits, histogram=histogram)
        if binds is None:
            # No symbols: one run of all rows' shots, split afterwards.
            counts = self._execute(qc, shots * rows, None, run_options)
            whole = shots_from_counts(circuit.num_clbits, counts, shots * rows, rng)
            split = whole if rows == 1 else whole.reshaped(rows)
            return to_readouts(circuit, split, histogram=histogram)
        if noise_model is not None and self._method == "automatic":
            # Aer 0.18's density-matrix method (which "automatic" picks for small noisy
            # circuits) can crash on relaxation+depolarizing noise with parameter_binds
            run_options["method"] = "statevector"
        counts = self._execute(qc, shots, binds, run_options)
        if len(counts) != rows:
            raise DeviceError(f"Aer returned {len(counts)} results for {rows} binding rows")
        bits = shots_from_counts(circuit.num_clbits, counts, shots, rng)
        return to_readouts(circuit, bits, histogram=histogram)

    def expectation_values(
        self,
        circuit: Circuit,
        *,
        bindings: Bindings | None = None,
        max_threads: int | None = None,
    ) -> list[Readout]:
        """The exact, ideal expectation values of ``circuit``'s observables per row of
        ``bindings``: one Aer run that saves them (see :mod:`qrelay_qiskit.exact`), one
        readout of no shots per row."""
        from qrelay_qiskit.exact import expectation_circuit, saved_values

        observables = circuit.observables
        if observables is None:
            raise PayloadError("observables: the circuit has none to compute")
        qc = expectation_circuit(self.to_qiskit(circuit), observables)
        options: dict[str, Any] = {}
        if max_threads is not None:
            options["max_parallel_threads"] = max_threads
        if self._method == "automatic" and qc.num_qubits <= _SMALL:
            options["method"] = "statevector"
        rows = 1 if bindings is None else len(bindings)
        params = list(qc.parameters)
        binds = _parameter_binds(params, bindings) if params else None
        experiments = self._experiments(qc, 1, binds, options)
        values = [saved_values(e["data"], len(observables)) for e in experiments]
        if binds is None:
            values = values * rows
        if len(values) != rows:
            raise DeviceError(f"Aer returned {len(values)} results for {rows} binding rows")
        empty = [RegisterReadout(name=r.name, width=r.size, bits=b"") for r in circuit.registers]
        return [
            Readout(successful_shots=0, registers=empty, expectation_values=row) for row in values
        ]

    def _draw(
        self,
        circuit: Circuit,
        qc: Any,
        final: FinalMeasurements,
        shots: int,
        rows: int,
        *,
        binds: list[dict[Any, list[float]]] | None,
        options: dict[str, Any],
        rng: np.random.Generator,
    ) -> Shots:
        """An ideal run that measures last (``qc``: ``circuit`` converted): each row's
        distribution of the measured qubits, and the shots drawn from it (see
        :mod:`qrelay_qiskit.sampling`).

        The distribution comes from the state of the circuit's prefix (see
        :mod:`qrelay_qiskit.prefix`), saved by Aer once per prefix and bindings and
        remembered, with the circuit's last single-qubit gates applied here; so the
        measurement bases of one circuit evolve its state once. A state too large to keep
        gives way to Aer's probabilities of the whole circuit. The draw is seeded by
        ``rng``, so Aer's own seed has nothing left to decide."""
        options = {k: v for k, v in options.items() if k != "seed_simulator"}
        count = rows if binds else 1
        cut = self._split(qc)
        own, inverse, key = distinct_rows(cut.parameters, binds, count)
        distinct = len(own[0][cut.parameters[0]]) if own else 1
        if _keepable(distinct, qc.num_qubits):
            (states,) = self._prefix_states([(cut, own, key)], options)
            probabilities = prefix_probabilities(
                states, inverse, cut.suffix, binds, final.qubits, max_amplitudes=_MAX_STATES
            )
        else:
            experiments = self._experiments(self.to_qiskit(circuit, final), 1, binds, options)
            probabilities = np.stack([e["data"]["probabilities"] for e in experiments])
        if len(probabilities) != count:
            raise DeviceError(f"Aer returned {len(probabilities)} results for {rows} rows")
        return _sample(
            circuit.num_clbits,
            final,
            probabilities=probabilities,
            shots=shots,
            rows=rows,
            rng=rng,
            max_threads=options.get("max_parallel_threads"),
        )

    def _split(self, qc: Any) -> Split:
        """``qc`` split (see :mod:`qrelay_qiskit.prefix`), remembered with the converted
        circuit it belongs to."""
        with self._lock:
            found = self._splits.get(id(qc))
        if found is not None and found.circuit is qc:
            return found
        cut = split(qc)
        with self._lock:
            self._splits[id(qc)] = cut
            while len(self._splits) > _CONVERTED_CACHE:
                self._splits.popitem(last=False)
        return cut

    def _prefix_states(
        self,
        wanted: Sequence[tuple[Split, list[dict[Any, list[float]]] | None, str]],
        options: dict[str, Any],
    ) -> list[npt.NDArray[np.complex128]]:
        """Per ``(cut, own, rows_key)``: the prefix's state vector per distinct binding row
        ``own`` of its symbols (one row when it has none), remembered by the prefix's
        content and those rows. The prefixes not remembered are saved by one Aer run of
        their list (of at most :data:`_MAX_STATES` amplitudes); one with bindings runs
        alone (Aer binds a list row by row)."""
        keys = [cut.key + ":" + rows_key for cut, _own, rows_key in wanted]
        found: dict[str, npt.NDArray[np.complex128]] = {}
        with self._lock:
            for key in keys:
                state = self._states.get(key)
                if state is not None:
                    self._states.move_to_end(key)
                    found[key] = state
        missing = {key: item for key, item in zip(keys, wanted, strict=True) if key not in found}
        free = [(key, cut) for key, (cut, own, _) in missing.items() if own is None]
        runs: list[tuple[list[str], list[Any], list[dict[Any, list[float]]] | None]] = []
        amplitudes = 0  # of the last run: the free prefixes in runs of at most _MAX_STATES
        for key, cut in free:
            size = 1 << cut.circuit.num_qubits
            if not runs or amplitudes + size > _MAX_STATES:
                runs.append(([], [], None))
                amplitudes = 0
            runs[-1][0].append(key)
            runs[-1][1].append(cut.prefix())
            amplitudes += size
        runs += [
            ([key], [cut.prefix()], own)
            for key, (cut, own, _) in missing.items()
            if own is not None
        ]
        for run_keys, prefixes, own in runs:
            for prefix in prefixes:
                prefix.save_statevector()
            experiments = self._experiments(
                prefixes if len(prefixes) > 1 else prefixes[0], 1, own, options
            )
            saved = [np.asarray(e["data"]["statevector"]) for e in experiments]
            # free: one experiment (one row) per prefix; else one prefix, one per row
            states = [state[None] for state in saved] if own is None else [np.stack(saved)]
            if len(states) != len(run_keys):
                raise DeviceError(f"Aer returned {len(states)} states for {len(run_keys)} prefixes")
            saved_states = dict(zip(run_keys, states, strict=True))
            found.update(saved_states)
            self._keep(saved_states)
        return [found[key] for key in keys]

    def _keep(self, states: dict[str, npt.NDArray[np.complex128]]) -> None:
        """Remember ``states``, forgetting the least recently used past
        :data:`_STATES_KEPT` amplitudes (a run saves at most :data:`_MAX_STATES`)."""
        with self._lock:
            for key, state in states.items():
                previous = self._states.pop(key, None)
                if previous is not None:
                    self._kept_amplitudes -= previous.size
                self._states[key] = state
                self._kept_amplitudes += state.size
            while self._kept_amplitudes > _STATES_KEPT:
                _, dropped = self._states.popitem(last=False)
                self._kept_amplitudes -= dropped.size

    def run_many(
        self, samples: Sequence[Sample], *, max_threads: int | None = None
    ) -> list[list[Readout]]:
        """Ideal runs of several circuits (no bindings), one readout each.

        The circuits that :meth:`run` would sample from their probabilities (ideal, on
        the state vector, measuring last, with a state small enough to keep) take the
        states of their prefixes as :meth:`run` does, those not remembered saved by one
        Aer run of the list; each is then drawn with its own seed, so its readout equals
        the one :meth:`run` gives it alone. Any other circuit is a :meth:`run` of its own.
        """
        out: list[list[Readout]] = [[] for _ in samples]
        drawn: list[tuple[int, FinalMeasurements]] = []
        for i, sample in enumerate(samples):
            final = self._sampled(sample.circuit)
            if final is None or not _keepable(1, sample.circuit.num_qubits):
                # measured mid-way, noisy, or a state too large to keep (see _draw)
                out[i] = self.run(
                    sample.circuit,
                    shots=sample.shots,
                    seed=sample.seed,
                    max_threads=max_threads,
                    histogram=sample.histogram,
                )
            else:
                drawn.append((i, final))
        if not drawn:
            return out
        options: dict[str, Any] = {"method": "statevector"}
        if max_threads is not None:
            options["max_parallel_threads"] = max_threads
        cuts = [self._split(self.to_qiskit(samples[i].circuit)) for i, _ in drawn]
        states = self._prefix_states([(cut, None, "") for cut in cuts], options)
        for (i, final), cut, state in zip(drawn, cuts, states, strict=True):
            sample = samples[i]
            if sample.shots < 1:
                raise PayloadError(f"shots: {sample.shots} is not a positive number")
            probabilities = prefix_probabilities(
                state, _ONE_ROW, cut.suffix, None, final.qubits, max_amplitudes=_MAX_STATES
            )
            bits = _sample(
                sample.circuit.num_clbits,
                final,
                probabilities=probabilities,
                shots=sample.shots,
                rows=1,
                rng=self._shuffler(sample.seed),
            )
            out[i] = to_readouts(sample.circuit, bits, histogram=sample.histogram)
        return out

    def _sampled(self, circuit: Circuit) -> FinalMeasurements | None:
        """The final measurements of ``circuit`` when an ideal :meth:`run` of it without
        bindings samples them from its probabilities (see :meth:`_draw`), else ``None``."""
        if needs_lowering(circuit):
            return None
        small = self._method == "automatic" and circuit.num_qubits <= _SMALL
        if not (small or self._method == "statevector"):
            return None
        final = final_measurements(circuit)
        if final is None or not final.fits(1) or self.to_qiskit(circuit).parameters:
            return None
        return final

    def _execute(
        self,
        qc: Any,
        shots: int,
        parameter_binds: list[dict[Any, list[float]]] | None,
        options: dict[str, Any],
    ) -> list[dict[str, int]]:
        """One Aer run; the counts (hex keys) of each experiment."""
        experiments = self._experiments(qc, shots, parameter_binds, options)
        return [dict(e.get("data", {}).get("counts") or {}) for e in experiments]

    def _experiments(
        self,
        qc: Any,
        shots: int,
        parameter_binds: list[dict[Any, list[float]]] | None,
        options: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """One Aer run of ``qc`` (a circuit, or a list of them); the output of each
        experiment (one per circuit and parameter point)."""
        with self._lock:
            self.aer_runs += 1
        try:
            output = run_public(self._simulator, qc, shots, parameter_binds, options)
        except Exception as exc:  # Aer raises its own errors and plain ones alike
            what = f"{len(qc)} circuits" if isinstance(qc, list) else f"circuit {qc.name!r}"
            raise DeviceError(f"Aer could not run {what}: {exc}") from exc
        if not output.get("success"):
            raise DeviceError(f"Aer failed: {output.get('status')}")
        experiments: list[dict[str, Any]] = output["results"]
        for experiment in experiments:
            if not experiment.get("success"):
                raise DeviceError(f"Aer failed: {experiment.get('status')}")
        return experiments


@dataclass(frozen=True)
class Sample:
    """One circuit of :meth:`AerEngine.run_many`: sampled ``shots`` times, seeded by ``seed``,
    its readout in histogram form when ``histogram``."""

    circuit: Circuit
    shots: int
    seed: int | None = None
    histogram: bool = False


def _sample(
    width: int,
    final: FinalMeasurements,
    *,
    probabilities: npt.NDArray[np.float64],
    shots: int,
    rows: int,
    rng: np.random.Generator,
    max_threads: int | None = None,
) -> Shots:
    """``rows x shots`` shots drawn from the measured qubits' ``probabilities`` (one row of
    them, or one per row), normalised first (see :func:`qrelay_qiskit.sampling.draw`)."""
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    drawn = draw(
        np.broadcast_to(probabilities, (rows, len(probabilities[0]))),
        shots,
        rng,
        max_threads=max_threads,
    )
    return shots_from_outcomes(width, drawn, final.outcome_values(), shots, rng)


def _keepable(rows: int, qubits: int) -> bool:
    """Whether ``rows`` prefix states of ``qubits`` qubits are small enough to save and
    keep (at most :data:`_MAX_STATES` amplitudes); larger ones take Aer's probabilities."""
    return rows << qubits <= _MAX_STATES


def _parameter_binds(params: list[Any], bindings: Bindings | None) -> list[dict[Any, list[float]]]:
    """Aer's ``parameter_binds`` for the circuit's ``params``: one column each."""
    if bindings is None:
        names = sorted(p.name for p in params)
        raise PayloadError(
            f"circuit has parameters {names} but no bindings were given; "
            "give a bindings table with a column per parameter"
        )
    columns = {name: j for j, name in enumerate(bindings.names)}
    missing = sorted(p.name for p in params if p.name not in columns)
    if missing:
        raise PayloadError(f"bindings: no column for parameter(s) {missing}")
    table = np.asarray(bindings.values, dtype=float).reshape(len(bindings), len(bindings.names))
    return [{p: table[:, columns[p.name]].tolist() for p in params}]


def _probabilities_circuit(qc: Any, final: FinalMeasurements) -> Any:
    """``qc`` without its measurements, saving the probabilities of the measured qubits."""
    from qiskit_aer.library import SaveProbabilities

    out = qc.copy_empty_like()
    for instruction in qc.data:
        if instruction.name != "measure":
            out.append(instruction)
    out.append(SaveProbabilities(len(final.qubits)), [out.qubits[q] for q in final.qubits])
    return out


def run_public(
    simulator: Any,
    qc: Any,
    shots: int,
    parameter_binds: list[dict[Any, list[float]]] | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """One run through ``AerSimulator.run``: per experiment its success, status and data
    (counts with hex keys, and whatever the circuit saved, such as probabilities)."""
    result = simulator.run(qc, shots=shots, parameter_binds=parameter_binds, **options).result()
    return {
        "success": result.success,
        "status": result.status,
        "results": [
            {"success": e.success, "status": e.status, "data": e.data.to_dict()}
            for e in result.results
        ],
    }
