"""Circuit-level mitigation of the qrelay primitives: folding, twirling, decoupling, fits.

Everything here rewrites Qiskit circuits before they become payload circuits, so the
mitigated run is still one service job:

* **Gate folding** (zero-noise extrapolation): every two-qubit gate ``G`` becomes
  ``G (G^-1 G)^k`` for a noise factor ``1 + 2k``. On a device the circuit is compiled
  first and each fold is the same native gate and its native inverse, sent verbatim, so
  no optimiser cancels the pairs and the two-qubit noise scales as intended.
* **Pauli twirling** of two-qubit Clifford gates: a random Pauli before each gate and
  the Pauli that undoes it after, so coherent errors average into Pauli noise.
* **Measurement bases and twirling** (for TREX): a bound ``ry``/``rx`` pair before each
  measurement picks the basis, and pi more on the ``rx`` flips it; bases and flips travel
  as rows of one bindings table.
* **Dynamical decoupling**: Qiskit's ``PadDynamicalDecoupling`` with the target's
  durations.
* **Extrapolation** to zero noise: linear, or exponential, by weighted least squares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from qiskit.circuit import ClassicalRegister, Parameter, QuantumCircuit
from qiskit.quantum_info import Clifford, Pauli

from qrelay.errors import ValidationError

#: Prefix of the bound angles that flip measurements (refused as user parameter names).
TWIRL_PREFIX: Final = "qrelay_meas_twirl_"
#: Prefix of the bound angles that pick a measurement basis (refused as user names too).
BASIS_PREFIX: Final = "qrelay_meas_basis_"
#: What both prefixes start with: a user parameter named so is refused.
RESERVED_PREFIX: Final = "qrelay_meas_"
#: Seed of the local compiler when the primitive has none (compiling is deterministic).
COMPILE_SEED: Final = 1234
#: The register a basis circuit measures into.
MEAS_REGISTER: Final = "qrelay_meas"

_PAULI_LABELS: Final = ("I", "X", "Y", "Z")


def basis_circuit(
    circuit: QuantumCircuit, qubits: Sequence[int], placement: Sequence[int]
) -> QuantumCircuit:
    """``circuit`` measured on the logical ``qubits`` in any basis a binding row picks.

    ``placement[q]`` is the qubit of ``circuit`` that holds logical qubit ``q`` at the end
    (the identity for a circuit that is not compiled). Register bit ``j`` measures
    ``qubits[j]`` after ``ry(BASIS_PREFIX + "y{j}")`` then ``rx(BASIS_PREFIX + "x{j}")``:
    the angles of :func:`basis_angles` select Z, X or Y per row, and adding pi to the
    ``rx`` angle flips the measurement (a measurement twirl). So every basis of a PUB, and
    every twirl, is a row of one circuit's table, and the rotations are the circuit's
    trailing single-qubit gates, after which a simulator's prefix state is shared.
    """
    out = circuit.remove_final_measurements(inplace=False) if circuit.num_clbits else circuit
    out = out.copy()
    register = ClassicalRegister(len(qubits), MEAS_REGISTER)
    out.add_register(register)
    for j, q in enumerate(qubits):
        out.ry(Parameter(f"{BASIS_PREFIX}y{j}"), placement[q])
        out.rx(Parameter(f"{BASIS_PREFIX}x{j}"), placement[q])
    for j, q in enumerate(qubits):
        out.measure(placement[q], register[j])
    return out


def basis_names(width: int) -> list[str]:
    """The angle columns of a :func:`basis_circuit` measuring ``width`` qubits."""
    return [f"{BASIS_PREFIX}y{j}" for j in range(width)] + [
        f"{BASIS_PREFIX}x{j}" for j in range(width)
    ]


def basis_angles(
    basis: Pauli, qubits: Sequence[int], flips: npt.NDArray[np.uint8]
) -> npt.NDArray[np.float64]:
    """``(len(flips), 2 * len(qubits))`` angles (columns as :func:`basis_names`) that
    measure ``basis`` on ``qubits`` (``I`` as Z), one row per flip mask of ``flips``.

    X is ``ry(-pi/2)`` and Y is ``rx(pi/2)``, each taking the Pauli's +1 eigenstate to
    ``|0>``; a flip adds pi to the ``rx`` angle.
    """
    x = np.array([bool(basis.x[q]) for q in qubits])
    z = np.array([bool(basis.z[q]) for q in qubits])
    ry = np.where(x & ~z, -math.pi / 2, 0.0)
    rx = np.where(x & z, math.pi / 2, 0.0)
    count = flips.shape[0]
    angles = np.empty((count, 2 * len(qubits)))
    angles[:, : len(qubits)] = ry
    angles[:, len(qubits) :] = rx + flips[:, : len(qubits)].astype(float) * math.pi
    return angles


def calibration_circuit(num_qubits: int, qubits: Sequence[int]) -> QuantumCircuit:
    """The TREX calibration: ``|0...0>`` measured on ``qubits`` with twirled measurements."""
    out = QuantumCircuit(num_qubits)
    register = ClassicalRegister(len(qubits), MEAS_REGISTER)
    out.add_register(register)
    for j, q in enumerate(qubits):
        out.rx(Parameter(f"{TWIRL_PREFIX}{j}"), q)
    for j, q in enumerate(qubits):
        out.measure(q, register[j])
    return out


def fold_gates(circuit: QuantumCircuit, factor: int) -> QuantumCircuit:
    """Each two-qubit gate ``G`` as ``G (G^-1 G)^k`` with ``factor = 1 + 2k``.

    ``G^-1`` is the gate's own inverse (``ecr``, ``cx`` and ``cz`` are their own), so the
    folded circuit is exactly the same unitary with ``factor`` times the two-qubit gates.
    """
    if factor == 1:
        return circuit
    repeats = (factor - 1) // 2
    out = circuit.copy_empty_like()
    for inst in circuit.data:
        out.append(inst)
        operation = inst.operation
        if operation.num_qubits == 2 and operation.name not in ("barrier", "measure"):
            inverse = operation.inverse()
            for _ in range(repeats):
                out.append(inverse, inst.qubits, inst.clbits)
                out.append(operation, inst.qubits, inst.clbits)
    return out


def _clifford_of(operation: Any) -> Clifford | None:
    try:
        return Clifford(operation)
    except Exception:  # not a Clifford (or has unbound parameters): left untwirled
        return None


def _append_pauli(
    out: QuantumCircuit, pauli: Pauli, qubits: Sequence[Any], native: set[str]
) -> None:
    """``pauli`` (up to phase) as gates; ``x`` and ``rz(pi)`` on devices that lack y/z."""
    for j, qubit in enumerate(qubits):
        x, z = bool(pauli.x[j]), bool(pauli.z[j])
        if not x and not z:
            continue
        if z:
            if "z" in native or not native:
                out.z(qubit)
            else:
                out.rz(math.pi, qubit)
        if x:
            out.x(qubit)


def twirl_gates(
    circuit: QuantumCircuit, rng: np.random.Generator, native: set[str]
) -> QuantumCircuit:
    """``circuit`` with each two-qubit Clifford gate between a random Pauli and its undoing.

    For gate ``G`` and Pauli ``P`` before it, the Pauli after is ``G P G^-1`` (a Pauli,
    since ``G`` is Clifford), so the twirled circuit is the same unitary up to a phase.
    """
    out = circuit.copy_empty_like()
    cliffords: dict[str, Clifford | None] = {}
    for inst in circuit.data:
        operation = inst.operation
        if operation.num_qubits != 2 or operation.name in ("barrier", "measure"):
            out.append(inst)
            continue
        key = operation.name
        if key not in cliffords:
            cliffords[key] = _clifford_of(operation)
        clifford = cliffords[key]
        if clifford is None:
            out.append(inst)
            continue
        label = "".join(_PAULI_LABELS[i] for i in rng.integers(0, 4, size=2))
        before = Pauli(label)
        after = before.evolve(clifford, frame="s")
        _append_pauli(out, before, inst.qubits, native)
        out.append(inst)
        _append_pauli(out, after, inst.qubits, native)
    return out


def compiles_locally(backend: Any) -> bool:
    """Whether a primitive compiles for ``backend`` itself (a device: native ops or couplings).

    Folds, twirls and decoupling are written on the compiled circuit, which then travels
    verbatim, so the service's optimiser cannot undo them.
    """
    info = backend.info
    return bool(info.native_ops or info.coupling_map is not None)


def device_pass_manager(backend: Any, seed: int, *, trivial_layout: bool = False) -> Any:
    """A preset pass manager for ``backend``'s target (level 1; level 0 on a fixed layout)."""
    from qiskit.transpiler import generate_preset_pass_manager

    if trivial_layout:
        return generate_preset_pass_manager(
            optimization_level=0,
            target=backend.target,
            initial_layout=list(range(backend.num_qubits)),
        )
    return generate_preset_pass_manager(
        optimization_level=1, target=backend.target, seed_transpiler=seed
    )


def decouple(circuit: QuantumCircuit, target: Any, sequence_type: str) -> QuantumCircuit:
    """Idle windows of a compiled ``circuit`` filled with the ``sequence_type`` pulses."""
    from qiskit.circuit.library import RXGate, XGate, YGate
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDynamicalDecoupling

    sequences: dict[str, list[Any]] = {
        "XX": [XGate(), XGate()],
        "XpXm": [RXGate(math.pi), RXGate(-math.pi)],
        "XY4": [XGate(), YGate(), XGate(), YGate()],
    }
    sequence = sequences[sequence_type]
    names = set(target.operation_names) if target is not None else set()
    missing = sorted({g.name for g in sequence} - names)
    if missing:
        raise ValidationError(
            f"dynamical_decoupling.sequence_type: {sequence_type!r} needs gate(s) {missing}, "
            "which the target does not have natively; use 'XX'"
        )
    manager = PassManager(
        [
            ALAPScheduleAnalysis(target=target),
            PadDynamicalDecoupling(target=target, dd_sequence=sequence),
        ]
    )
    return manager.run(circuit)


def extrapolate(
    factors: Sequence[float],
    values: npt.NDArray[np.float64],
    stds: npt.NDArray[np.float64],
    kind: str,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Values at zero noise from ``values[i]`` measured at ``factors[i]`` (first axis).

    A weighted least-squares line through the values (``linear``) or through their
    logarithms (``exponential``, where every value of a point has one sign and is away
    from zero; other points fall back to the line). The standard error is propagated
    through the fit, which is linear in the values (or their logarithms).
    """
    x = np.asarray(factors, dtype=float)
    design = np.stack([np.ones_like(x), x], axis=1)

    def intercept(y: npt.NDArray[np.float64], s: npt.NDArray[np.float64]) -> Any:
        w = 1.0 / np.maximum(s, 1e-12) ** 2
        # coefficients of the intercept as a linear function of y, per point
        out_value = np.empty(y.shape[1:])
        out_std = np.empty(y.shape[1:])
        for index in np.ndindex(*y.shape[1:]):
            wi = w[(slice(None), *index)]
            normal = design.T @ (design * wi[:, None])
            row = np.linalg.solve(normal, design.T * wi)[0]
            out_value[index] = row @ y[(slice(None), *index)]
            out_std[index] = math.sqrt(float(np.sum((row * s[(slice(None), *index)]) ** 2)))
        return out_value, out_std

    linear_value, linear_std = intercept(values, stds)
    if kind == "linear":
        return linear_value, linear_std
    sign = np.sign(values[0])
    usable = np.all(np.sign(values) == sign, axis=0) & np.all(np.abs(values) > 2 * stds, axis=0)
    safe = np.where(usable, np.abs(values), 1.0)
    log_value, log_std = intercept(np.log(safe), np.where(usable, stds / safe, 1.0))
    exp_value = sign * np.exp(log_value)
    exp_std = np.abs(exp_value) * log_std
    return (
        np.where(usable, exp_value, linear_value),
        np.where(usable, exp_std, linear_std),
    )
