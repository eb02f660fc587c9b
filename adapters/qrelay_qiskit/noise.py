"""Aer noise models from a target's calibration, or from a small user-given noise spec.

A device's noise is what Aer's ``NoiseModel.from_backend`` builds from the Qiskit target
of its ``TargetInfo``, per qubit and per gate tuple:

* thermal relaxation over each gate's duration, from the qubits' T1 and T2;
* a depolarizing part on top, sized so the gate's total average infidelity matches the
  calibrated gate error (relaxation already accounts for some of it);
* thermal relaxation over every ``delay`` (the engine turns idle time into delays);
* readout assignment error from each qubit's ``measure`` error, nothing more.

So the advertised calibration is the whole truth: ``AerSimulator.from_backend`` of the
same target predicts what the emulated device returns.

Models are cached per ``(target name, calibration_id)``, since building one walks every
gate of the device and a sweep reuses it for every run.

The user spec (``noise-sim`` on a simulator target, ``task.options["noise"]``) is
``{"depolarizing_1q": p1, "depolarizing_2q": p2, "readout_error": pr}``: depolarizing
probabilities on every one- and two-qubit gate, and a symmetric readout flip probability.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from qrelay.errors import ConfigurationError, PayloadError
from qrelay.payload import OPS, OpKind, TargetInfo

log = logging.getLogger(__name__)

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


@functools.cache
def _backend_class() -> type[Any]:
    """A minimal ``BackendV2`` that only carries a target (Qiskit loaded on first use)."""
    from qiskit.providers import BackendV2, Options

    class CalibrationBackend(BackendV2):  # type: ignore[misc]
        """The Qiskit backend view of a calibration, for ``NoiseModel.from_backend``."""

        def __init__(self, target: Any, name: str) -> None:
            super().__init__(name=name)
            self._calibrated = target

        @property
        def target(self) -> Any:
            return self._calibrated

        @property
        def max_circuits(self) -> None:
            return None

        @classmethod
        def _default_options(cls) -> Any:
            return Options()

        def run(self, run_input: Any, **options: Any) -> Any:
            raise NotImplementedError("a calibration view does not run circuits")

    return CalibrationBackend


def _build_from_target(info: TargetInfo) -> Any:
    """Aer's own device model of ``info``: what ``NoiseModel.from_backend`` builds.

    Each calibrated gate gets thermal relaxation over its duration composed with the
    depolarizing part that brings its average infidelity to the calibrated error;
    ``delay`` gets thermal relaxation over its length (Aer's relaxation pass); readout
    gets a symmetric assignment error from ``measure``'s error, and no relaxation on top,
    so the advertised readout error is the whole readout error. Building it exactly as
    ``AerSimulator.from_backend`` does makes a model of the same backend predict the
    device. Every channel is checked (non-empty, CPTP) before the model is used.
    """
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.noise.device import basic_device_gate_errors

    from qrelay_qiskit.target import build_target

    target = build_target(info)
    for name, qubits, error in basic_device_gate_errors(target=target):
        _check_channel(error, name, qubits)
    readout = any(g.op == "measure" and g.error for g in info.gates) or any(
        q.readout_error for q in info.qubits
    )
    backend = _backend_class()(target, info.name)
    with warnings.catch_warnings():
        # a target without T1/T2 warns that it has no relaxation: that is what it means
        warnings.simplefilter("ignore", UserWarning)
        return NoiseModel.from_backend(backend, readout_error=readout)


def _check_channel(error: Any, name: str, qubits: Any) -> None:
    """Refuse a channel Aer could not run: empty, or not trace preserving and positive."""
    if error.size == 0:
        raise ConfigurationError(f"noise of {name} on qubits {list(qubits)} is an empty channel")
    channel = error.to_quantumchannel()
    if not channel.is_cptp():
        raise ConfigurationError(f"noise of {name} on qubits {list(qubits)} is not CPTP")


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


def with_idle_delays(qc: Any, info: TargetInfo) -> Any:
    """``qc`` scheduled as late as possible with ``info``'s durations, idle time as delays.

    Hardware keeps every qubit's clock running: a qubit waiting for others relaxes and
    dephases. Aer's device model gives each ``delay`` its thermal relaxation, so padding
    the idle stretches with delays is what makes idling noisy. A circuit the target cannot
    time (an op without a duration, a parametrised delay, control flow) runs unscheduled.
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
        return passes.run(qc)
    except (QiskitError, TypeError, ValueError) as exc:
        log.debug("circuit %r runs without idle noise: %s", qc.name, exc)
        return qc
