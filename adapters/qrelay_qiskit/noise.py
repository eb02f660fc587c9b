"""Aer noise models from a target's calibration, or from a small user-given noise spec.

A device's noise is built the way Aer's ``NoiseModel.from_backend`` builds it from the
Qiskit target of its ``TargetInfo`` (the same public channels, combined in the same
order, memoised per gate so a new slice of a device costs little), per qubit and gate:

* thermal relaxation over each gate's duration, from the qubits' T1 and T2;
* a depolarizing part on top, sized so the gate's total average infidelity matches the
  calibrated gate error (relaxation already accounts for some of it);
* thermal relaxation over every ``delay``, and over idle time, which
  :func:`with_idle_delays` makes delays;
* readout assignment error from each qubit's ``measure`` error, nothing more.

So the advertised calibration is the whole truth: ``AerSimulator.from_backend`` of the
same target predicts what the emulated device returns.

Models are cached per ``(target name, calibration_id)``, since building one walks every
gate of the device and a sweep reuses it for every run.

The user's spec (``noise-sim`` on a simulator target) is a
:class:`~qrelay.payload.run_options.NoiseSpec`, read from the task by
:class:`~qrelay.payload.run_options.RunOptions` like every other run option.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections import OrderedDict
from typing import Any, Final

from qrelay.errors import ConfigurationError
from qrelay.payload import OPS, OpKind, TargetInfo
from qrelay.payload.run_options import NoiseSpec

log = logging.getLogger(__name__)

_CACHE_SIZE: Final = 32

_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str | None], Any] = OrderedDict()


def noise_model_from_target(info: TargetInfo) -> Any:
    """The ``qiskit_aer.noise.NoiseModel`` of ``info``'s calibration (cached)."""
    key = (info.name, info.calibration_id)
    if info.calibration_id is not None:
        with _lock:
            found = _cache.get(key)
            if found is not None:
                _cache.move_to_end(key)
                return found
    model = _build_from_target(info)
    if info.calibration_id is not None:
        with _lock:
            _cache[key] = model
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return model


_SECONDS: Final = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


def _coherence(info: TargetInfo, qubit: int) -> tuple[float, float]:
    """``(T1, T2)`` of a qubit in seconds, T2 cut to ``2 T1``; ``inf`` where unknown."""
    if qubit >= len(info.qubits):
        return math.inf, math.inf
    props = info.qubits[qubit]
    t1 = math.inf if props.t1_us is None else props.t1_us * 1e-6
    t2 = 2 * t1 if props.t2_us is None else min(props.t2_us * 1e-6, 2 * t1)
    return t1, t2


def _average_fidelity(coherence: tuple[tuple[float, float], ...], duration_s: float) -> float:
    """Average gate fidelity of thermal relaxation over ``duration_s`` on these qubits.

    One qubit's Pauli transfer matrix has diagonal ``(1, e^-t/T2, e^-t/T2, e^-t/T1)``,
    so its process fidelity is ``(1 + 2 e^-t/T2 + e^-t/T1) / 4``; a tensor product
    multiplies them, and ``F_avg = (d F_pro + 1) / (d + 1)``.
    """
    process = math.prod(
        (1.0 + 2.0 * math.exp(-duration_s / t2) + math.exp(-duration_s / t1)) / 4.0
        for t1, t2 in coherence
    )
    dim: int = 2 ** len(coherence)
    return float((dim * process + 1.0) / (dim + 1.0))


@functools.lru_cache(maxsize=4096)
def _relaxation(coherence: tuple[tuple[float, float], ...], duration_s: float) -> Any:
    """Thermal relaxation of each qubit over ``duration_s`` (first qubit lowest), or None."""
    from qiskit_aer.noise import thermal_relaxation_error

    if duration_s <= 0 or all(math.isinf(t1) for t1, _ in coherence):
        return None
    error = None
    for t1, t2 in coherence:
        single = thermal_relaxation_error(t1, t2, duration_s)
        error = single if error is None else error.expand(single)
    return error


@functools.lru_cache(maxsize=4096)
def _gate_channel(
    coherence: tuple[tuple[float, float], ...], duration_s: float, error: float, is_gate: bool
) -> Any:
    """A calibrated op's noise, as Aer's device model makes it, or None if it has none.

    Relaxation over the duration, and for a gate a depolarizing channel before it whose
    size makes the average infidelity of both together the calibrated ``error`` (capped
    at the largest physical value). Memoised on the numbers, since a device repeats them.
    """
    from qiskit_aer.noise import depolarizing_error

    relax = _relaxation(coherence, duration_s)
    depol = None
    fidelity = 1.0 if relax is None else _average_fidelity(coherence, duration_s)
    if is_gate and error > 1.0 - fidelity:
        n = len(coherence)
        dim = 2**n
        error = min(error, dim / (dim + 1))
        param = dim * (error - (1.0 - fidelity)) / (dim * fidelity - 1)
        depol = depolarizing_error(min(param, 4**n / (4**n - 1)), n)
    if depol is not None and relax is not None:
        return depol.compose(relax)
    return depol if depol is not None else relax


def _check_channel(error: Any, op: str, qubits: list[int]) -> None:
    """Refuse a channel Aer could not run: empty, or probabilities that are not a
    distribution (each of Aer's channel circuits is itself trace preserving)."""
    probabilities = [float(p) for p in error.probabilities]
    if error.size == 0 or not probabilities:
        raise ConfigurationError(f"noise of {op} on qubits {qubits} is an empty channel")
    if min(probabilities) < 0 or not math.isclose(sum(probabilities), 1.0, abs_tol=1e-9):
        raise ConfigurationError(
            f"noise of {op} on qubits {qubits} is not trace preserving "
            f"(probabilities {probabilities})"
        )


def _build_from_target(info: TargetInfo) -> Any:
    """The device model Aer's ``NoiseModel.from_backend`` makes of ``info``'s target.

    Each calibrated gate gets thermal relaxation over its duration composed with the
    depolarizing part that brings its average infidelity to the calibrated error; reset
    gets relaxation alone; readout gets a symmetric assignment error from ``measure``'s
    error (the qubit's readout error where ``measure`` has none), and no relaxation on
    top, so the advertised readout error is the whole readout error. ``delay`` and idle
    time are relaxed by :func:`with_idle_delays`, as Aer's relaxation pass does. Built
    the same way, a model of the same backend predicts the device.
    """
    from qiskit_aer.noise import NoiseModel, ReadoutError

    model = NoiseModel()
    readout: dict[int, float] = {
        q: props.readout_error for q, props in enumerate(info.qubits) if props.readout_error
    }
    for gate in info.gates:
        if gate.op in ("delay", "barrier"):
            continue
        if gate.op == "measure":
            if gate.error is not None:
                readout[gate.qubits[0]] = gate.error
            continue
        coherence = tuple(_coherence(info, q) for q in gate.qubits)
        channel = _gate_channel(
            coherence, (gate.duration_ns or 0.0) * 1e-9, gate.error or 0.0, gate.op != "reset"
        )
        if channel is not None:
            _check_channel(channel, gate.op, gate.qubits)
            model.add_quantum_error(channel, gate.op, gate.qubits)
    for q, e in sorted(readout.items()):
        if e > 0:
            model.add_readout_error(ReadoutError([[1 - e, e], [e, 1 - e]]), [q])
    return model


def noise_model_from_spec(spec: NoiseSpec) -> Any:
    """An Aer noise model from a user's noise spec."""
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

    model = NoiseModel()
    one = [n for n, s in OPS.items() if s.kind is OpKind.GATE and s.num_qubits == 1 and n != "id"]
    two = [n for n, s in OPS.items() if s.kind is OpKind.GATE and s.num_qubits == 2]
    if spec.depolarizing_1q > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(spec.depolarizing_1q, 1), one)
    if spec.depolarizing_2q > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(spec.depolarizing_2q, 2), two)
    e = spec.readout_error
    if e > 0:
        model.add_all_qubit_readout_error(ReadoutError([[1 - e, e], [e, 1 - e]]))
    return model


def with_idle_delays(qc: Any, info: TargetInfo) -> Any:
    """``qc`` as the device runs it: scheduled, and relaxing through delays and idle time.

    Hardware keeps every qubit's clock running, so a qubit waiting for others relaxes and
    dephases. The circuit is scheduled as late as possible with ``info``'s durations, its
    idle stretches padded with delays, and every delay becomes the qubit's thermal
    relaxation over its length (a Kraus instruction Aer runs natively). A circuit the
    target cannot time (an op without a duration, control flow) keeps its own delays.
    """
    from qiskit.exceptions import QiskitError
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay

    from qrelay_qiskit.target import build_target

    if not any(q.t1_us for q in info.qubits):
        return qc
    target = build_target(info)
    passes = PassManager([ALAPScheduleAnalysis(target=target), PadDelay(target=target)])
    try:
        scheduled = passes.run(qc)
    except (QiskitError, TypeError, ValueError) as exc:
        log.debug("circuit %r runs without idle noise: %s", qc.name, exc)
        scheduled = qc
    return _relax_delays(scheduled, info)


def _relax_delays(qc: Any, info: TargetInfo) -> Any:
    """``qc`` with each timed ``delay`` replaced by the qubit's relaxation over it."""
    if not any(inst.operation.name == "delay" for inst in qc.data):
        return qc
    out = qc.copy_empty_like()
    for inst in qc.data:
        kraus = None
        if inst.operation.name == "delay":
            seconds = _delay_seconds(inst.operation, info)
            if seconds is not None:
                qubit = qc.find_bit(inst.qubits[0]).index
                kraus = _relaxation_kraus(_coherence(info, qubit), seconds)
        if kraus is None:
            out.append(inst, copy=False)
        else:
            out.append(kraus, inst.qubits, copy=False)
    return out


def _delay_seconds(delay: Any, info: TargetInfo) -> float | None:
    """A delay's length in seconds, or None if it is symbolic or in an unknown unit."""
    duration = delay.duration
    if not isinstance(duration, int | float):
        return None
    if delay.unit == "dt":
        return None if info.dt_ns is None else float(duration) * info.dt_ns * 1e-9
    scale = _SECONDS.get(delay.unit)
    return None if scale is None else float(duration) * scale


@functools.lru_cache(maxsize=4096)
def _relaxation_kraus(coherence: tuple[float, float], duration_s: float) -> Any:
    """Thermal relaxation over ``duration_s`` as a Kraus instruction, or None if none."""
    from qiskit.quantum_info import Kraus

    relax = _relaxation((coherence,), duration_s)
    return None if relax is None else Kraus(relax.to_quantumchannel())
