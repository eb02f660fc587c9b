"""Aer noise models from a target's calibration, or from a small user-given noise spec.

A device's noise is built from what its ``TargetInfo`` says, per qubit and per gate tuple:

* thermal relaxation over each gate's duration, from the qubits' T1 and T2;
* a depolarizing part on top, sized so the gate's total average infidelity matches the
  calibrated gate error (relaxation already accounts for some of it);
* readout assignment error from each qubit's readout error.

Models are cached per ``(target name, calibration_id)``, since building one walks every
gate of the device and a sweep reuses it for every run.

The user spec (``noise-sim`` on a simulator target, ``task.options["noise"]``) is
``{"depolarizing_1q": p1, "depolarizing_2q": p2, "readout_error": pr}``: depolarizing
probabilities on every one- and two-qubit gate, and a symmetric readout flip probability.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from qrelay.errors import PayloadError
from qrelay.payload import OPS, OpKind, TargetInfo

#: Keys a user noise spec may hold, and what each means.
NOISE_SPEC_KEYS: Final = {
    "depolarizing_1q": "depolarizing probability on every one-qubit gate",
    "depolarizing_2q": "depolarizing probability on every two-qubit gate",
    "readout_error": "probability that a measured bit flips",
}
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


def _relaxation(info: TargetInfo, qubit: int, duration_s: float) -> Any:
    """The thermal-relaxation error of one qubit over ``duration_s``, or None."""
    from qiskit_aer.noise import thermal_relaxation_error

    if duration_s <= 0 or qubit >= len(info.qubits):
        return None
    props = info.qubits[qubit]
    if props.t1_us is None:
        return None
    t1 = props.t1_us * 1e-6
    t2 = t1 if props.t2_us is None else min(props.t2_us * 1e-6, 2 * t1)
    return thermal_relaxation_error(t1, t2, duration_s)


def _process_fidelity(info: TargetInfo, qubit: int, duration_s: float) -> float:
    """Process fidelity of one qubit's thermal relaxation over ``duration_s``.

    Its Pauli transfer matrix has diagonal ``(1, e^-t/T2, e^-t/T2, e^-t/T1)``, so the
    process fidelity is ``(1 + 2 e^-t/T2 + e^-t/T1) / 4`` (closed form; no channel maths).
    """
    if duration_s <= 0 or qubit >= len(info.qubits) or info.qubits[qubit].t1_us is None:
        return 1.0
    props = info.qubits[qubit]
    t1 = (props.t1_us or 0.0) * 1e-6
    t2 = t1 if props.t2_us is None else min(props.t2_us * 1e-6, 2 * t1)
    return (1.0 + 2.0 * math.exp(-duration_s / t2) + math.exp(-duration_s / t1)) / 4.0


def _gate_error(info: TargetInfo, qubits: list[int], error: float, duration_ns: float) -> Any:
    """Relaxation on each qubit, then depolarizing noise making up the rest of ``error``."""
    from qiskit_aer.noise import QuantumError, depolarizing_error

    relax = None
    parts = [_relaxation(info, q, duration_ns * 1e-9) for q in qubits]
    if any(p is not None for p in parts):
        identity = QuantumError([((_identity_op(), [0]), 1.0)])
        filled = [p if p is not None else identity for p in parts]
        relax = filled[0]
        for part in filled[1:]:
            relax = part.tensor(relax)  # qubit 0 of the gate is the lowest
    dim = 2 ** len(qubits)
    process = math.prod(_process_fidelity(info, q, duration_ns * 1e-9) for q in qubits)
    relax_infidelity = 1.0 - (dim * process + 1.0) / (dim + 1.0)
    remaining = error - relax_infidelity
    total = relax
    if remaining > 0:
        param = min(remaining * dim / (dim - 1), dim * dim / (dim * dim - 1))
        depol = depolarizing_error(param, len(qubits))
        total = depol if total is None else total.compose(depol)
    return total


def _identity_op() -> Any:
    from qiskit.circuit.library import IGate

    return IGate()


def _build_from_target(info: TargetInfo) -> Any:
    from qiskit_aer.noise import NoiseModel, ReadoutError

    model = NoiseModel()
    for gate in info.gates:
        if gate.op in ("reset", "delay", "barrier"):
            continue
        error = gate.error or 0.0
        duration = gate.duration_ns or 0.0
        if gate.op == "measure":
            # readout assignment error comes below; relaxation while measuring acts before
            relax = _relaxation(info, gate.qubits[0], duration * 1e-9)
            if relax is not None:
                model.add_quantum_error(relax, "measure", gate.qubits)
            continue
        if error <= 0 and duration <= 0:
            continue
        quantum = _gate_error(info, gate.qubits, error, duration)
        if quantum is not None:
            model.add_quantum_error(quantum, gate.op, gate.qubits)
    for q, props in enumerate(info.qubits):
        e = props.readout_error
        if e:
            model.add_readout_error(ReadoutError([[1 - e, e], [e, 1 - e]]), [q])
    return model


def _probability(spec: Mapping[str, Any], key: str) -> float:
    value = spec.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"options.noise.{key}: expected a number, got {value!r}")
    p = float(value)
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise PayloadError(f"options.noise.{key}: {value!r} is not a probability in [0, 1]")
    return p


def parse_noise_spec(spec: object) -> dict[str, float]:
    """Check a user's noise spec and return its probabilities (missing keys are 0)."""
    if not isinstance(spec, Mapping) or not spec:
        raise PayloadError(
            "options.noise: expected an object with any of "
            f"{sorted(NOISE_SPEC_KEYS)}, e.g. "
            '{"depolarizing_1q": 0.001, "depolarizing_2q": 0.01, "readout_error": 0.02}'
        )
    unknown = sorted(set(spec) - set(NOISE_SPEC_KEYS))
    if unknown:
        raise PayloadError(
            f"options.noise: unknown key(s) {unknown}; known: {sorted(NOISE_SPEC_KEYS)}"
        )
    p1 = _probability(spec, "depolarizing_1q")
    p2 = _probability(spec, "depolarizing_2q")
    return {
        "depolarizing_1q": p1,
        "depolarizing_2q": p2,
        "readout_error": _probability(spec, "readout_error"),
    }


def noise_model_from_spec(spec: object) -> Any:
    """An Aer noise model from a user spec (see :data:`NOISE_SPEC_KEYS`)."""
    from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

    values = parse_noise_spec(spec)
    model = NoiseModel()
    one = [n for n, s in OPS.items() if s.kind is OpKind.GATE and s.num_qubits == 1 and n != "id"]
    two = [n for n, s in OPS.items() if s.kind is OpKind.GATE and s.num_qubits == 2]
    if values["depolarizing_1q"] > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(values["depolarizing_1q"], 1), one)
    if values["depolarizing_2q"] > 0:
        model.add_all_qubit_quantum_error(depolarizing_error(values["depolarizing_2q"], 2), two)
    e = values["readout_error"]
    if e > 0:
        model.add_all_qubit_readout_error(ReadoutError([[1 - e, e], [e, 1 - e]]))
    return model
