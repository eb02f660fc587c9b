"""The plan of a ``QRelayEstimatorV2`` run, and its values read back from the readout.

A :class:`Plan` records which payload circuit of the job holds which (PUB, basis, noise
factor, randomization), with the flips and calibrations; :func:`build_result` turns the
finished job's packed readouts into the ``PrimitiveResult``: per basis, each Pauli's sign
per shot is the parity of its measured bits (flips undone), a basis's observable value per
shot is the weighted sum (divided by the TREX factors), and its sample variance over the
shots gives the standard error; noise factors are extrapolated to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers import DataBin, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub

from qrelay.errors import JobFailedError
from qrelay_qiskit.mitigation import MEAS_REGISTER, extrapolate
from qrelay_qiskit.primitive_jobs import Submission, collect
from qrelay_qiskit.primitive_options import EstimatorOptions


@dataclass
class Basis:
    """One measurement basis of a PUB: its Paulis (indices into the PUB's list).

    Every basis of a PUB is a block of rows of the same circuits' tables (block ``b``
    holds the basis's parameter rows and twirls), so a PUB is one task per circuit.
    """

    paulis: list[int]
    #: which register bits each Pauli reads, ``(paulis, bits)``
    masks: npt.NDArray[np.bool_]
    #: the block of rows of the PUB's tables that measure this basis
    block: int
    #: per noise factor: the circuit indices in the job (one, or one per randomization)
    circuits: dict[int, list[int]] = field(default_factory=dict)
    #: the TREX calibration circuit's index in the job
    calibration: int | None = None


@dataclass
class PubPlan:
    """How a PUB's values come back: its Paulis, coefficients and bases."""

    pub: EstimatorPub
    coefficients: npt.NDArray[np.float64]  # (observables, paulis)
    constant: npt.NDArray[np.float64]  # (observables,) from identity terms
    bases: list[Basis]
    rows: int


@dataclass
class Plan:
    """The whole run: the payload circuits of the one job and how to read them."""

    options: EstimatorOptions
    randomizations: int
    shots_per_randomization: int
    factors: list[int]
    masks: npt.NDArray[np.uint8]  # (randomizations, max measured) twirl flips
    twirl_rows: bool  # measurement twirls as table rows (else one circuit per twirl)
    applied_dd: bool
    pubs: list[PubPlan] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    circuits: list[QuantumCircuit] = field(default_factory=list)
    tables: list[tuple[list[str], npt.NDArray[np.float64] | None]] = field(default_factory=list)
    calibrations: dict[tuple[int, ...], int] = field(default_factory=dict)


def _packed(masks: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """``(n, width)`` 0/1 masks packed as the readout packs a register's bits."""
    packed: npt.NDArray[np.uint8] = np.packbits(masks.astype(bool), axis=1, bitorder="little")
    return packed


def _signs(packed: npt.NDArray[np.uint8], masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """``(paulis, entries)`` values +-1 of each Pauli from ``(entries, bytes)`` packed
    outcomes: the parity of the bits a Pauli reads, counted on the packed bytes."""
    selected = packed[None, :, :] & _packed(masks)[:, None, :]
    parity = np.bitwise_count(selected).sum(axis=-1, dtype=np.int32) & 1
    signs: npt.NDArray[np.float64] = 1.0 - 2.0 * parity
    return signs


@dataclass
class Outcomes:
    """A basis's readouts as one histogram: each entry an outcome (flips undone) of one
    parameter row, with how many shots gave it; entries are grouped by row."""

    packed: npt.NDArray[np.uint8]  # (entries, bytes)
    weights: npt.NDArray[np.float64]  # (entries,)
    starts: npt.NDArray[np.intp]  # (rows,) first entry of each row
    shots: int  # per row, over every randomization


def _untwirled(
    plan: Plan,
    rows: list[Any],
    circuits: list[int],
    width: int,
    *,
    as_rows: bool,
    block: int = 0,
    blocks: int = 1,
) -> Outcomes:
    """The outcomes of each parameter row over every randomization, measurement flips undone.

    The circuits' rows come in ``blocks`` equal blocks (one per basis) and ``block`` is
    read. The randomizations are rows of one circuit's table (``as_rows``: row
    ``r * T + t`` of the block) or one circuit each. A readout may be per shot or in
    histogram form
    (:meth:`qrelay.payload.Readout.weights` reads both), so each shot counts once either
    way.
    """
    count = plan.randomizations
    flips = _packed(plan.masks[:, :width])
    size = len(rows[circuits[0]]) // blocks
    first = block * size
    if as_rows:
        readouts = rows[circuits[0]][first : first + size]
        params = size // count
        ordered = [(readouts[r * count + t], t) for r in range(params) for t in range(count)]
    else:
        params = size
        ordered = [(rows[c][first + r], t) for r in range(params) for t, c in enumerate(circuits)]
    packed_parts = []
    weight_parts = []
    for readout, t in ordered:
        packed_parts.append(readout.register(MEAS_REGISTER).packed() ^ flips[t])
        weight_parts.append(readout.weights())
    sizes = np.array([len(w) for w in weight_parts], dtype=np.intp).reshape(params, count)
    starts = np.concatenate([[0], np.cumsum(sizes.sum(axis=1))[:-1]]).astype(np.intp)
    weights = np.concatenate(weight_parts).astype(np.float64)
    totals = {
        int(sum(r.successful_shots for r, _ in ordered[i * count : (i + 1) * count]))
        for i in range(params)
    }
    if len(totals) != 1:
        raise JobFailedError(f"binding rows returned different shot counts {sorted(totals)}")
    return Outcomes(np.concatenate(packed_parts), weights, starts, totals.pop())


def _row_sums(values: npt.NDArray[np.float64], starts: npt.NDArray[np.intp]) -> Any:
    """``values`` (..., entries) summed over each row's entries: (..., rows)."""
    return np.add.reduceat(values, starts, axis=-1)


def _estimate(
    plan: Plan, pub_plan: PubPlan, rows: list[Any], factor: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """Each observable's value and standard error per parameter row, at one noise factor.

    Computed on the histogram of outcomes: a basis's value per shot is the weighted sum
    of its Paulis' signs, so its mean and sample variance over the shots are weighted
    sums over the distinct outcomes.
    """
    observables = pub_plan.coefficients.shape[0]
    evs = np.tile(pub_plan.constant[:, None], (1, pub_plan.rows))
    variance = np.zeros((observables, pub_plan.rows))
    shots = 0
    blocks = len(pub_plan.bases)
    for basis in pub_plan.bases:
        width = basis.masks.shape[1]
        found = _untwirled(
            plan,
            rows,
            basis.circuits[factor],
            width,
            as_rows=plan.twirl_rows,
            block=basis.block,
            blocks=blocks,
        )
        shots = found.shots
        signs = _signs(found.packed, basis.masks)
        weights = pub_plan.coefficients[:, basis.paulis]
        if basis.calibration is not None:
            calibration = _untwirled(plan, rows, [basis.calibration], width, as_rows=True)
            measured = _signs(calibration.packed, basis.masks)
            scale = measured @ calibration.weights / calibration.weights.sum()
            weights = weights / np.where(np.abs(scale) > 1e-3, scale, 1e-3)
        values = weights @ signs  # (observables, entries)
        weighted = values * found.weights
        mean = _row_sums(weighted, found.starts) / shots
        evs += mean
        if shots > 1:
            second = _row_sums(weighted * values, found.starts)
            sample_variance = np.maximum(second - shots * mean**2, 0.0) / (shots - 1)
            variance += sample_variance / shots
    return evs, np.sqrt(variance), shots


def build_result(
    plan: Plan,
    part: Submission,
    timeout: float | None,
    job_id: str,
    calibration_id: str | None,
    *,
    progress: bool | None = None,
) -> Any:
    rows, _layouts = collect(part, timeout, job_id, progress)
    options = plan.options
    results = []
    for pub_plan in plan.pubs:
        pub = pub_plan.pub
        per_factor = [_estimate(plan, pub_plan, rows, f) for f in plan.factors]
        shots = max((s for _, _, s in per_factor), default=0)
        if len(plan.factors) > 1:
            evs, stds = extrapolate(
                plan.factors,
                np.stack([e for e, _, _ in per_factor]),
                np.stack([s for _, s, _ in per_factor]),
                options.resilience.zne.extrapolator,
            )
        else:
            evs, stds = per_factor[0][0], per_factor[0][1]
        obs_at, row_at = _broadcast(pub, pub_plan.rows)
        metadata: dict[str, Any] = {
            "shots": shots,
            "target_precision": float(pub.precision),
            "circuit_metadata": pub.circuit.metadata,
            "resilience_level": options.resilience_level,
            "techniques": _techniques(plan),
            "num_randomizations": plan.randomizations,
            "shots_per_randomization": plan.shots_per_randomization,
            "num_bases": len(pub_plan.bases),
        }
        if len(plan.factors) > 1:
            metadata["zne"] = {
                "noise_factors": list(plan.factors),
                "extrapolator": options.resilience.zne.extrapolator,
                "evs_noise_factors": np.stack([e[obs_at, row_at] for e, _, _ in per_factor]),
            }
        if calibration_id is not None:
            metadata["calibration_id"] = calibration_id
        data = pub_data(pub, pub_plan.rows, evs, stds)
        results.append(PubResult(data, metadata=metadata))
    return PrimitiveResult(results, metadata={"version": 2})


def _broadcast(pub: EstimatorPub, rows: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """For each entry of the PUB's broadcast shape: its observable and its parameter row."""
    obs_index = np.arange(pub.observables.size).reshape(pub.observables.shape)
    row_index = np.arange(rows).reshape(
        pub.parameter_values.shape if pub.circuit.num_parameters else ()
    )
    obs_at, row_at = np.broadcast_arrays(obs_index, row_index)
    return obs_at, row_at


def pub_data(
    pub: EstimatorPub, rows: int, evs: npt.NDArray[np.float64], stds: npt.NDArray[np.float64]
) -> DataBin:
    """The PUB's ``DataBin`` from ``(observables, rows)`` values, in its broadcast shape."""
    obs_at, row_at = _broadcast(pub, rows)
    shape = tuple(pub.shape)
    return DataBin(
        evs=np.asarray(evs[obs_at, row_at]).reshape(shape),
        stds=np.asarray(stds[obs_at, row_at]).reshape(shape),
        shape=shape,
    )


def _techniques(plan: Plan) -> list[str]:
    options = plan.options
    applied = []
    if options.measure_mitigation:
        applied.append("measure_mitigation (TREX)")
    if options.twirl_measure:
        applied.append("twirling.measure")
    if options.twirl_gates:
        applied.append("twirling.gates")
    if len(plan.factors) > 1:
        applied.append("zne (gate folding)")
    if plan.applied_dd:
        applied.append(f"dynamical_decoupling ({options.dynamical_decoupling.sequence_type})")
    return applied
