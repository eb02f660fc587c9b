"""Expectation values for ``QRelaySampler``: qubit-wise commuting bases, one job per call.

Cirq's generic ``Sampler.sample_expectation_values`` measures each group of observables
through ``measure_observables``. Here the Pauli strings of every observable are grouped
into qubit-wise commuting bases, each basis becomes one circuit (the program, its basis
rotations, one measurement key), and every basis circuit with the whole sweep goes to
the service as ONE job. Values come from the measurement arrays with numpy.

``readout_mitigation=True`` runs TREX: an ``X**s`` with a bound exponent ``s`` (0 or 1 at
random) before each measurement, the flips undone on the bits, and a calibration circuit
(all qubits in ``|0>``, the same twirled measurements) in the same job, whose per-string
factor divides each value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import cirq
import numpy as np
import numpy.typing as npt
import sympy

from qrelay.errors import ValidationError

if TYPE_CHECKING:
    from qrelay_cirq.sampler import QRelaySampler

#: The measurement key of a basis circuit.
KEY: Final = "qrelay_basis"
#: Prefix of the exponents that flip measurements for readout mitigation.
TWIRL_PREFIX: Final = "qrelay_meas_twirl_"
#: Random flip patterns per basis circuit under ``readout_mitigation``.
RANDOMIZATIONS: Final = 16


def _bases(
    strings: list[cirq.PauliString[Any]],
) -> list[tuple[dict[cirq.Qid, cirq.Pauli], list[int]]]:
    """Greedy qubit-wise commuting groups: each basis (qubit -> Pauli) and its strings."""
    bases: list[tuple[dict[cirq.Qid, cirq.Pauli], list[int]]] = []
    for index, string in enumerate(strings):
        for basis, members in bases:
            if all(basis.get(q, p) == p for q, p in string.items()):
                basis.update(dict(string.items()))
                members.append(index)
                break
        else:
            bases.append((dict(string.items()), [index]))
    return bases


def _basis_circuit(
    program: cirq.AbstractCircuit, basis: dict[cirq.Qid, cirq.Pauli], twirl: bool
) -> tuple[cirq.Circuit, list[cirq.Qid]]:
    qubits = sorted(basis)
    ops: list[cirq.Operation] = []
    for j, qubit in enumerate(qubits):
        pauli = basis[qubit]
        if pauli == cirq.X:
            ops.append(cirq.H(qubit))
        elif pauli == cirq.Y:
            ops.append((cirq.S**-1)(qubit))
            ops.append(cirq.H(qubit))
        if twirl:
            ops.append((cirq.X ** sympy.Symbol(f"{TWIRL_PREFIX}{j}"))(qubit))
    circuit = program.unfreeze(copy=True)
    circuit.append(ops)
    circuit.append(cirq.measure(*qubits, key=KEY))
    return circuit, qubits


def sample_expectation_values(
    sampler: QRelaySampler,
    program: cirq.AbstractCircuit,
    observables: cirq.PauliSumLike | list[cirq.PauliSumLike],
    *,
    num_samples: int,
    params: cirq.Sweepable = None,
    permit_terminal_measurements: bool = False,
    readout_mitigation: bool = False,
    seed: int | None = None,
) -> Sequence[Sequence[float]]:
    """Per sweep point, the value of each observable, from one job on ``sampler``'s target."""
    from qrelay_cirq.sampler import sweep_points

    if num_samples < 1:
        raise ValidationError(f"num_samples: {num_samples} is not a positive count")
    if not permit_terminal_measurements and program.are_any_measurements_terminal():
        raise ValidationError(
            "program: it has terminal measurements, which skew expectation values; "
            "pass permit_terminal_measurements=True if that is intended"
        )
    sums = [
        cirq.PauliSum.wrap(o)
        for o in (observables if isinstance(observables, list) else [observables])
    ]
    if not sums:
        raise ValidationError("observables: none given")
    _resolvers, points = sweep_points(params)
    if not points:
        raise ValidationError("params: the sweep has no points")
    strings: list[cirq.PauliString[Any]] = []
    owner: list[tuple[int, complex]] = []
    constants = np.zeros(len(sums))
    for s, psum in enumerate(sums):
        for string in psum:
            if not string.items():
                constants[s] += float(np.real(string.coefficient))
                continue
            strings.append(string.with_coefficient(1))
            owner.append((s, complex(string.coefficient)))
    bases = _bases(strings)
    rng = np.random.default_rng(seed)
    count = RANDOMIZATIONS if readout_mitigation else 1
    shots = max(1, -(-num_samples // count))
    width = max((len(b) for b, _ in bases), default=0)
    masks = rng.integers(0, 2, size=(count, width)) if readout_mitigation else None
    programs: list[cirq.AbstractCircuit] = []
    sweeps: list[Any] = []
    layouts: list[list[cirq.Qid]] = []
    for basis, _members in bases:
        circuit, qubits = _basis_circuit(program, basis, readout_mitigation)
        programs.append(circuit)
        layouts.append(qubits)
        sweeps.append(_with_flips(points, masks, len(qubits)))
    calibrations: dict[tuple[cirq.Qid, ...], int] = {}
    if readout_mitigation:
        for qubits in layouts:
            key = tuple(qubits)
            if key not in calibrations:
                calibrations[key] = len(programs)
                empty, _ = _basis_circuit(cirq.Circuit(), dict.fromkeys(qubits, cirq.Z), True)
                programs.append(empty)
                sweeps.append(_with_flips([{}], masks, len(qubits)))
    job = sampler.submit_batch(programs, sweeps, shots)
    results = job.results()
    values = np.tile(constants, (len(points), 1))
    for b, (_basis, members) in enumerate(bases):
        qubits = layouts[b]
        bits = _bits(results[b], len(points), count, masks, len(qubits))
        scale = np.ones(len(members))
        if readout_mitigation:
            calibration = _bits(results[calibrations[tuple(qubits)]], 1, count, masks, len(qubits))
        for m, index in enumerate(members):
            cols = [qubits.index(q) for q, _ in strings[index].items()]
            signs = 1.0 - 2.0 * (bits[..., cols].sum(axis=-1) % 2)
            if readout_mitigation:
                factor = float(np.mean(1.0 - 2.0 * (calibration[..., cols].sum(axis=-1) % 2)))
                scale[m] = factor if abs(factor) > 1e-3 else 1e-3
            s, coefficient = owner[index]
            values[:, s] += float(np.real(coefficient)) * signs.mean(axis=1) / scale[m]
    return values.tolist()  # type: ignore[no-any-return]


def _with_flips(
    points: list[dict[str, float]], masks: npt.NDArray[np.int64] | None, width: int
) -> list[dict[str, float]]:
    """Each sweep point once per flip pattern (point-major), the exponents added."""
    if masks is None:
        return [dict(p) for p in points]
    return [
        {**point, **{f"{TWIRL_PREFIX}{j}": float(mask[j]) for j in range(width)}}
        for point in points
        for mask in masks
    ]


def _bits(
    results: Sequence[cirq.Result],
    points: int,
    count: int,
    masks: npt.NDArray[np.int64] | None,
    width: int,
) -> npt.NDArray[np.int64]:
    """``(points, count * shots, width)`` measured bits, flips undone."""
    arrays = np.stack([np.asarray(r.measurements[KEY], dtype=np.int64) for r in results])
    shots = arrays.shape[1]
    arrays = arrays.reshape(points, count, shots, width)
    if masks is not None:
        arrays = arrays ^ masks[None, :, None, :width]
    return arrays.reshape(points, count * shots, width)
