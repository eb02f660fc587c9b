"""The emulated QPU fleet: three devices in the shape of real machine classes.

Each device is a :class:`~qrelay.payload.TargetInfo` with calibration of realistic
magnitude, drawn from a seeded generator so the fleet is the same in every process:

- ``square_qpu``: a 4x4 square lattice of transmons (CZ, RX, RZ), in the style of
  tunable-coupler superconducting chips.
- ``heavyhex_qpu``: the 27-qubit heavy-hex lattice of IBM's Falcon processors, with a
  directed ECR, SX, X and virtual RZ, and a 0.222 ns ``dt``; it runs feed-forward (control
  flow on mid-circuit measurements) as IBM's dynamic circuits do.
- ``ion_qpu``: an 11-ion chain, all-to-all, with a Mølmer-Sørensen (RXX) gate, R and RZ;
  very long T1/T2 but slow gates and readout.

``epoch`` stands for a recalibration: another epoch draws another calibration, and the
``calibration_id`` (a hash of everything calibrated) changes with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from qrelay.errors import NotFoundError
from qrelay.payload import (
    GateProperties,
    QubitProperties,
    TargetCapabilities,
    TargetInfo,
    TargetLimits,
    TargetStatus,
)
from qrelay.payload.calibration import calibration_hash

#: The driver plugin that serves the fleet's targets.
DRIVER: Final = "qpu-grpc"

#: Ops every fleet device accepts besides its native gates: they cost no pulse.
SCHEDULING_OPS: Final = frozenset({"barrier", "delay"})
#: How long a measured value takes to reach heavyhex_qpu's control flow (ns), of the
#: order IBM states for its dynamic circuits.
FEED_FORWARD_LATENCY_NS: Final = 700.0

#: The 27-qubit Falcon heavy-hex coupling (undirected edges).
FALCON_EDGES: Final = (
    (0, 1), (1, 2), (1, 4), (2, 3), (3, 5), (4, 7), (5, 8), (6, 7), (7, 10), (8, 9),
    (8, 11), (10, 12), (11, 14), (12, 13), (12, 15), (13, 14), (14, 16), (15, 18),
    (16, 19), (17, 18), (18, 21), (19, 20), (19, 22), (21, 23), (22, 25), (23, 24),
    (24, 25), (25, 26),
)  # fmt: skip


@dataclass(frozen=True)
class _Profile:
    """Typical magnitudes of one machine class; the generator scatters around them."""

    t1_us: float
    t2_ratio: float
    freq_ghz: float
    freq_spread: float
    readout_error: float
    readout_ns: float
    reset_ns: float | None
    oneq_error: float
    oneq_ns: float
    twoq_error: float
    twoq_ns: float
    rep_delay_us: float


def _lognormal(rng: np.random.Generator, mean: float, spread: float = 0.25) -> float:
    return float(mean * np.exp(rng.normal(0.0, spread)))


def _qubits(rng: np.random.Generator, n: int, p: _Profile) -> list[QubitProperties]:
    out = []
    for _ in range(n):
        t1 = _lognormal(rng, p.t1_us, 0.2)
        # T2 <= 2 T1 physically; real devices sit well below.
        t2 = min(2.0 * t1, t1 * p.t2_ratio * float(np.exp(rng.normal(0.0, 0.2))))
        out.append(
            QubitProperties(
                t1_us=round(t1, 3),
                t2_us=round(t2, 3),
                frequency_ghz=round(p.freq_ghz + rng.normal(0.0, p.freq_spread), 5),
                readout_error=round(min(0.2, _lognormal(rng, p.readout_error, 0.3)), 5),
                readout_duration_ns=p.readout_ns,
            )
        )
    return out


def _snap(ns: float, dt_ns: float | None) -> float:
    """Durations on a ``dt`` device are whole numbers of ``dt``."""
    if dt_ns is None:
        return ns
    return round(round(ns / dt_ns) * dt_ns, 6)


def _single_qubit_gates(
    rng: np.random.Generator,
    qubits: list[QubitProperties],
    ops: tuple[str, ...],
    p: _Profile,
    dt_ns: float | None,
) -> list[GateProperties]:
    gates = []
    for q, props in enumerate(qubits):
        err = round(_lognormal(rng, p.oneq_error, 0.3), 7)
        for op in ops:
            if op == "rz":  # virtual: a frame change, free and perfect
                gates.append(GateProperties(op=op, qubits=[q], error=0.0, duration_ns=0.0))
            else:
                gates.append(
                    GateProperties(
                        op=op, qubits=[q], error=err, duration_ns=_snap(p.oneq_ns, dt_ns)
                    )
                )
        gates.append(
            GateProperties(
                op="measure",
                qubits=[q],
                error=props.readout_error,
                duration_ns=_snap(p.readout_ns, dt_ns),
            )
        )
        if p.reset_ns is not None:
            gates.append(
                GateProperties(
                    op="reset", qubits=[q], error=None, duration_ns=_snap(p.reset_ns, dt_ns)
                )
            )
    return gates


def _two_qubit_gates(
    rng: np.random.Generator,
    op: str,
    pairs: list[tuple[int, int]],
    p: _Profile,
    dt_ns: float | None,
) -> list[GateProperties]:
    gates = []
    for a, b in pairs:
        err = round(min(0.2, _lognormal(rng, p.twoq_error, 0.35)), 6)
        ns = _snap(_lognormal(rng, p.twoq_ns, 0.1), dt_ns)
        gates.append(GateProperties(op=op, qubits=[a, b], error=err, duration_ns=ns))
    return gates


def _finish(info: TargetInfo) -> TargetInfo:
    return info.model_copy(update={"calibration_id": calibration_hash(info)})


_SQUARE = _Profile(
    t1_us=90.0, t2_ratio=0.9, freq_ghz=5.1, freq_spread=0.15, readout_error=0.02,
    readout_ns=800.0, reset_ns=1200.0, oneq_error=8e-4, oneq_ns=40.0, twoq_error=8e-3,
    twoq_ns=60.0, rep_delay_us=200.0,
)  # fmt: skip
_HEAVYHEX = _Profile(
    t1_us=110.0, t2_ratio=0.85, freq_ghz=4.95, freq_spread=0.12, readout_error=0.025,
    readout_ns=4000.0, reset_ns=4200.0, oneq_error=3e-4, oneq_ns=35.55, twoq_error=9e-3,
    twoq_ns=450.0, rep_delay_us=250.0,
)  # fmt: skip
_ION = _Profile(
    t1_us=1.0e7, t2_ratio=0.02, freq_ghz=12.6428, freq_spread=0.0, readout_error=0.005,
    readout_ns=150_000.0, reset_ns=None, oneq_error=6e-4, oneq_ns=10_000.0, twoq_error=2.5e-2,
    twoq_ns=210_000.0, rep_delay_us=500.0,
)  # fmt: skip


def _grid_edges(rows: int, cols: int) -> list[tuple[int, int]]:
    edges = []
    for r in range(rows):
        for c in range(cols):
            q = r * cols + c
            if c + 1 < cols:
                edges.append((q, q + 1))
            if r + 1 < rows:
                edges.append((q, q + cols))
    return edges


def _both_ways(edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted({*edges, *((b, a) for a, b in edges)})


def _square_qpu(epoch: int) -> TargetInfo:
    rng = np.random.default_rng([0x5051, 1, epoch])
    n = 16
    qubits = _qubits(rng, n, _SQUARE)
    coupling = _both_ways(_grid_edges(4, 4))
    gates = _single_qubit_gates(rng, qubits, ("rx", "rz"), _SQUARE, None)
    # CZ is symmetric: one calibration per edge, listed in both directions.
    undirected = _two_qubit_gates(rng, "cz", _grid_edges(4, 4), _SQUARE, None)
    for g in undirected:
        gates.append(g)
        gates.append(g.model_copy(update={"qubits": list(reversed(g.qubits))}))
    return _finish(
        TargetInfo(
            name="square_qpu",
            description=(
                "Emulated 16-qubit superconducting QPU on a 4x4 square lattice (CZ, RX, RZ)."
            ),
            driver=DRIVER,
            num_qubits=n,
            native_ops=["cz", "rx", "rz", "measure", "reset"],
            coupling_map=coupling,
            qubits=qubits,
            gates=gates,
            limits=TargetLimits(max_shots=100_000, max_qubits=n, max_bindings=10_000),
            capabilities=TargetCapabilities(parameter_batch=True, iq_readout=True),
            price_per_shot=0.0003,
            status=TargetStatus.AVAILABLE,
            options={"rep_delay_us": _SQUARE.rep_delay_us, "technology": "superconducting"},
        )
    )


def _heavyhex_qpu(epoch: int) -> TargetInfo:
    rng = np.random.default_rng([0x5051, 2, epoch])
    n = 27
    dt_ns = 2.0 / 9.0  # 0.222 ns, as on IBM backends
    qubits = _qubits(rng, n, _HEAVYHEX)
    gates = _single_qubit_gates(rng, qubits, ("sx", "x", "rz"), _HEAVYHEX, dt_ns)
    # ECR is directed: the cross-resonance drive runs one way per edge.
    directed = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in FALCON_EDGES]
    gates += _two_qubit_gates(rng, "ecr", directed, _HEAVYHEX, dt_ns)
    return _finish(
        TargetInfo(
            name="heavyhex_qpu",
            description=(
                "Emulated 27-qubit superconducting QPU on a heavy-hex lattice (ECR, SX, X, RZ)."
            ),
            driver=DRIVER,
            num_qubits=n,
            native_ops=["ecr", "sx", "x", "rz", "measure", "reset"],
            coupling_map=sorted(directed),
            qubits=qubits,
            gates=gates,
            dt_ns=dt_ns,
            limits=TargetLimits(max_shots=100_000, max_qubits=n, max_bindings=10_000),
            # feed-forward as on Eagle-class devices: mid-circuit measurement and reset,
            # and control flow on the measured values once they reach the controller
            capabilities=TargetCapabilities(
                parameter_batch=True, iq_readout=True, feed_forward=True
            ),
            price_per_shot=0.0002,
            status=TargetStatus.AVAILABLE,
            options={
                "rep_delay_us": _HEAVYHEX.rep_delay_us,
                "technology": "superconducting",
                "feed_forward_latency_ns": FEED_FORWARD_LATENCY_NS,
            },
        )
    )


def _ion_qpu(epoch: int) -> TargetInfo:
    rng = np.random.default_rng([0x5051, 3, epoch])
    n = 11
    qubits = _qubits(rng, n, _ION)
    pairs = [(a, b) for a in range(n) for b in range(n) if a < b]
    gates = _single_qubit_gates(rng, qubits, ("r", "rz"), _ION, None)
    for g in _two_qubit_gates(rng, "rxx", pairs, _ION, None):
        gates.append(g)
        gates.append(g.model_copy(update={"qubits": list(reversed(g.qubits))}))
    return _finish(
        TargetInfo(
            name="ion_qpu",
            description="Emulated 11-ion trapped-ion QPU, all-to-all (MS/RXX, R, RZ).",
            driver=DRIVER,
            num_qubits=n,
            native_ops=["rxx", "r", "rz", "measure"],
            coupling_map=_both_ways(pairs),
            qubits=qubits,
            gates=gates,
            limits=TargetLimits(max_shots=10_000, max_qubits=n, max_bindings=10_000),
            capabilities=TargetCapabilities(
                parameter_batch=True, iq_readout=True, reset=False, mid_circuit_measurement=False
            ),
            price_per_shot=0.003,
            status=TargetStatus.AVAILABLE,
            options={"rep_delay_us": _ION.rep_delay_us, "technology": "trapped-ion"},
        )
    )


_BUILDERS: Final[dict[str, Callable[[int], TargetInfo]]] = {
    "square_qpu": _square_qpu,
    "heavyhex_qpu": _heavyhex_qpu,
    "ion_qpu": _ion_qpu,
}

#: The names of the fleet's devices, in catalog order.
FLEET_NAMES: Final = tuple(_BUILDERS)


@functools.cache
def fleet_device(name: str, epoch: int = 0) -> TargetInfo:
    """The device ``name`` with the calibration of ``epoch`` (0: the current one)."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise NotFoundError(
            f"no fleet device named {name!r}; the fleet has {', '.join(FLEET_NAMES)}",
            status=404,
            code="not_found",
        ) from None
    return builder(epoch)


def fleet_targets() -> list[TargetInfo]:
    """Every device of the fleet, with its current calibration."""
    return [fleet_device(name) for name in FLEET_NAMES]


def _walk(rng: np.random.Generator, value: float | None, sigma: float) -> float | None:
    """One multiplicative step of a random walk (a value stays positive, ``None`` stays)."""
    if value is None or value == 0.0:
        return value
    return float(value * np.exp(rng.normal(0.0, sigma)))


def drifted(info: TargetInfo, rng: np.random.Generator, sigma: float) -> TargetInfo:
    """``info`` after one step of drift: T1, T2 and every error walk by a factor
    ``exp(N(0, sigma))``, so a device recalibrated on a schedule has a real history.

    Durations, frequencies and the coupling stay; T2 stays at most 2 T1 and errors at most
    0.5. The new calibration has its own id.
    """
    qubits = []
    for q in info.qubits:
        t1 = _walk(rng, q.t1_us, sigma)
        t2 = _walk(rng, q.t2_us, sigma)
        if t1 is not None and t2 is not None:
            t2 = min(t2, 2.0 * t1)
        readout = _walk(rng, q.readout_error, sigma)
        qubits.append(
            q.model_copy(
                update={
                    "t1_us": None if t1 is None else round(t1, 3),
                    "t2_us": None if t2 is None else round(t2, 3),
                    "readout_error": None if readout is None else round(min(0.5, readout), 6),
                }
            )
        )
    by_qubit = {q: props.readout_error for q, props in enumerate(qubits)}
    errors: dict[tuple[str, frozenset[int]], float | None] = {}
    gates = []
    for g in info.gates:
        if g.op == "measure":
            error = by_qubit[g.qubits[0]]
        else:
            # a symmetric gate listed both ways is one calibration: it walks once
            key = (g.op, frozenset(g.qubits))
            if key not in errors:
                step = _walk(rng, g.error, sigma)
                errors[key] = None if step is None else round(min(0.5, step), 7)
            error = errors[key]
        gates.append(g.model_copy(update={"error": error}))
    return _finish(info.model_copy(update={"qubits": qubits, "gates": gates}))
