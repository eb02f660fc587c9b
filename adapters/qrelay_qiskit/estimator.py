"""``QRelayEstimatorV2``: Qiskit's ``BaseEstimatorV2`` on a qrelay backend, with mitigation.

A ``run`` is one service job (split only when the target's limits demand it). Each PUB's
observables are grouped into qubit-wise commuting measurement bases, and the PUB is one
payload circuit (one per noise factor, and per randomization when gates are twirled)
ending in a bound basis layer (:func:`qrelay_qiskit.mitigation.basis_circuit`): its one
bindings table holds, basis after basis, the PUB's parameter rows (each repeated once per
measurement twirl) with the basis's angles, so a PUB is one worker task whatever its
number of bases. Mitigation circuits (the TREX calibrations) travel in the same job.
Expectation values and standard errors come from the packed readout with numpy, asked
for in histogram form (each distinct outcome once, with its count), so the readout of a
basis is at most ``2**n`` outcomes of its ``n`` measured qubits however many shots.

On a device (a target with native operations), circuits are compiled here with the
target's Qiskit ``Target`` and sent verbatim, so folds and twirls reach the device as
written and the calibration measures the very qubits the circuits measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.quantum_info import Pauli, PauliList, SparsePauliOp

from qrelay.errors import ValidationError
from qrelay.payload import Bindings, Circuit
from qrelay_qiskit.backend import QRelayBackend
from qrelay_qiskit.estimator_exact import run_exact
from qrelay_qiskit.estimator_values import Basis, Plan, PubPlan, build_result
from qrelay_qiskit.mitigation import COMPILE_SEED as _COMPILE_SEED
from qrelay_qiskit.mitigation import (
    RESERVED_PREFIX,
    TWIRL_PREFIX,
    basis_angles,
    basis_circuit,
    basis_names,
    calibration_circuit,
    compiles_locally,
    decouple,
    device_pass_manager,
    fold_gates,
    twirl_gates,
)
from qrelay_qiskit.primitive_jobs import QRelayPrimitiveJob, payload_table, pub_table, submit
from qrelay_qiskit.primitive_options import EstimatorOptions, parse_options, randomizations


class QRelayEstimatorV2(BaseEstimatorV2):  # type: ignore[misc]
    """An ``EstimatorV2`` whose PUBs run on a qrelay backend as one job, with mitigation."""

    def __init__(
        self,
        backend: QRelayBackend,
        *,
        default_precision: float = 0.015625,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        """``options`` take IBM's names (``resilience_level``, ``twirling.*``, ...).

        ``seed`` fixes the random twirls, the local compiler and the shots, on a
        simulator and an emulated QPU alike (each circuit of the job draws with its own
        seed derived from it).
        """
        if not 0 < default_precision <= 1:
            raise ValidationError(f"default_precision: {default_precision} is not in (0, 1]")
        self._backend = backend
        self._default_precision = default_precision
        self._seed = seed
        self._options: EstimatorOptions = parse_options(EstimatorOptions, options)
        self._manager: Any = None
        self._native_passes: Any = None

    @property
    def backend(self) -> QRelayBackend:
        return self._backend

    @property
    def options(self) -> EstimatorOptions:
        """The options; assign to them (``estimator.options.resilience_level = 2``)."""
        return self._options

    @property
    def default_precision(self) -> float:
        return self._default_precision

    def run(self, pubs: Iterable[Any], *, precision: float | None = None) -> QRelayPrimitiveJob:
        """Submit the PUBs as one job; its ``result()`` is a ``PrimitiveResult``.

        Precision 0 (for the run, or for every PUB) asks for exact values, as does the
        ``exact`` option: see :mod:`qrelay_qiskit.estimator_exact`.
        """
        if precision is not None and not 0 <= precision <= 1:
            raise ValidationError(f"precision: {precision} is not in [0, 1]")
        default = self._default_precision if precision is None else precision
        coerced = [_coerce(pub, default, index) for index, pub in enumerate(pubs)]
        if not coerced:
            raise ValidationError("run: no PUBs given")
        if self._exact(coerced):
            return run_exact(self._backend, coerced)
        plan = self._plan(coerced)
        payloads, tables = _payloads(plan)
        part = submit(
            self._backend,
            plan.members,
            payloads,
            tables,
            shots=plan.shots_per_randomization,
            # the outcomes and their counts, not every shot's bits, where the device can
            options={"histogram": True},
            # each circuit of the job draws with seed + its index (WorkerTask.seed), so the
            # randomizations and noise factors stay independent samples
            seed=self._seed,
            verbatim=self._compiles(),
        )
        calibration_id = self._backend.info.calibration_id
        return QRelayPrimitiveJob(
            [part],
            lambda parts, timeout, job_id, progress: build_result(
                plan, parts[0], timeout, job_id, calibration_id, progress=progress
            ),
        )

    # ------------------------------------------------------------------ planning
    def _exact(self, pubs: list[EstimatorPub]) -> bool:
        """Whether the run takes the exact path; a run that mixes precision 0 with shots
        is refused, naming the first PUB of precision 0."""
        zero = [i for i, pub in enumerate(pubs) if float(pub.precision) == 0]
        if self._options.exact or len(zero) == len(pubs):
            return True
        if zero:
            raise ValidationError(
                f"pub {zero[0]}: precision 0 asks for exact values, other PUBs for shots; "
                "give every PUB precision 0 (or set options.exact) or none"
            )
        return False

    def _compiles(self) -> bool:
        return compiles_locally(self._backend)

    def _compile(self, circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
        """A PUB's circuit on the device, and the device qubit holding each logical one.

        Compiled once per PUB, so every basis, level and calibration uses the same qubits.
        """
        stripped = circuit.remove_final_measurements(inplace=False)
        if not self._compiles():
            return stripped, list(range(circuit.num_qubits))
        if self._manager is None:
            seed = _COMPILE_SEED if self._seed is None else self._seed
            self._manager = device_pass_manager(self._backend, seed)
        compiled = self._manager.run(stripped)
        if compiled.layout is None:
            return compiled, list(range(circuit.num_qubits))
        final = compiled.layout.final_index_layout(filter_ancillas=True)
        return compiled, [int(q) for q in final[: circuit.num_qubits]]

    def _to_native(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """A compiled circuit with measurement gates added, in native gates, qubits kept."""
        if not self._compiles():
            return circuit
        if self._native_passes is None:
            self._native_passes = device_pass_manager(self._backend, 0, trivial_layout=True)
        return self._native_passes.run(circuit)

    def _plan(self, pubs: list[EstimatorPub]) -> Plan:
        options = self._options.model_copy(deep=True)
        shots = max(_shots(pub, options) for pub in pubs)
        twirled = options.twirl_measure or options.twirl_gates
        count, per = randomizations(options.twirling, shots) if twirled else (1, shots)
        factors = [int(f) for f in options.resilience.zne.noise_factors]
        if not options.zne_mitigation:
            factors = [1]
        rng = np.random.default_rng(self._seed)
        widest = max(pub.circuit.num_qubits for pub in pubs)
        masks = np.zeros((count, widest), dtype=np.uint8)
        if options.twirl_measure:
            masks = rng.integers(0, 2, size=(count, widest), dtype=np.uint8)
        plan = Plan(
            options=options,
            randomizations=count,
            shots_per_randomization=per,
            factors=factors,
            masks=masks,
            twirl_rows=not options.twirl_gates,
            applied_dd=options.dynamical_decoupling.enable and self._compiles(),
        )
        for index, pub in enumerate(pubs):
            plan.pubs.append(self._plan_pub(plan, pub, index, rng))
        return plan

    def _plan_pub(
        self, plan: Plan, pub: EstimatorPub, index: int, rng: np.random.Generator
    ) -> PubPlan:
        labels, coefficients, constant = _paulis(pub)
        compiled, placement = self._compile(pub.circuit)
        rows = math.prod(pub.parameter_values.shape) if pub.circuit.num_parameters else 1
        params = pub.circuit.parameters
        clash = sorted(p.name for p in params if p.name.startswith(RESERVED_PREFIX))
        if clash:
            raise ValidationError(f"pub {index}: parameter name(s) {clash} are reserved")
        values = pub_table(
            pub.circuit, pub.parameter_values, tuple(pub.parameter_values.shape), None, index
        )
        if not labels:
            return PubPlan(pub, coefficients, constant, [], rows)
        paulis = PauliList(labels)
        qubits = [int(q) for q in np.flatnonzero(np.any(paulis.x | paulis.z, axis=0))]
        position = {label: i for i, label in enumerate(labels)}
        bases: list[tuple[Pauli, Basis]] = []
        for group in paulis.group_commuting(qubit_wise=True):
            members = [position[label] for label in group.to_labels()]
            basis = Pauli((np.any(group.z, axis=0), np.any(group.x, axis=0)))
            masks = np.array([(paulis.x[m] | paulis.z[m])[qubits] for m in members], dtype=bool)
            bases.append((basis, Basis(paulis=members, masks=masks, block=len(bases))))
        entries = [entry for _, entry in bases]
        measured = self._to_native(basis_circuit(compiled, qubits, placement))
        names = [p.name for p in params] + basis_names(len(qubits))
        circuits: dict[int, list[int]] = {}
        for factor in plan.factors:
            folded = fold_gates(measured, factor)
            copies = plan.randomizations if plan.options.twirl_gates else 1
            circuits[factor] = []
            for copy in range(copies):
                circuit = self._randomized(plan, folded, rng)
                flips = plan.masks[:, : len(qubits)]
                if not plan.twirl_rows:
                    flips = flips[copy : copy + 1]
                table = np.concatenate(
                    [_rows(values, basis_angles(basis, qubits, flips)) for basis, _ in bases]
                )
                circuits[factor].append(len(plan.circuits))
                plan.members.append(f"pub {index} ({len(bases)} bases, noise factor {factor})")
                plan.circuits.append(circuit)
                plan.tables.append((names, table))
        calibration = None
        if plan.options.measure_mitigation:
            physical = tuple(placement[q] for q in qubits)
            calibration = self._calibration(plan, compiled.num_qubits, physical)
        for entry in entries:
            entry.circuits = circuits
            entry.calibration = calibration
        return PubPlan(pub, coefficients, constant, entries, rows)

    def _randomized(
        self, plan: Plan, circuit: QuantumCircuit, rng: np.random.Generator
    ) -> QuantumCircuit:
        """One copy of a PUB's circuit: its gates twirled and its idle windows decoupled,
        as the options ask."""
        if plan.options.twirl_gates:
            circuit = twirl_gates(circuit, rng, set(self._backend.info.native_ops))
        if plan.applied_dd:
            circuit = decouple(
                circuit, self._backend.target, plan.options.dynamical_decoupling.sequence_type
            )
        return circuit

    def _calibration(self, plan: Plan, width: int, physical: tuple[int, ...]) -> int:
        found = plan.calibrations.get(physical)
        if found is not None:
            return found
        circuit = calibration_circuit(width, physical)
        circuit = self._to_native(circuit)
        names = [f"{TWIRL_PREFIX}{j}" for j in range(len(physical))]
        masks = plan.masks[:, : len(physical)]
        plan.calibrations[physical] = len(plan.circuits)
        plan.members.append(f"TREX calibration of qubits {list(physical)}")
        plan.circuits.append(circuit)
        plan.tables.append((names, masks.astype(float) * math.pi))
        return len(plan.circuits) - 1


def _coerce(pub: Any, precision: float, index: int) -> EstimatorPub:
    """One PUB, its observables mapped through an ISA circuit's layout; errors name it."""
    if isinstance(pub, EstimatorPub):
        return pub
    if not isinstance(pub, tuple | list) or not 2 <= len(pub) <= 4:
        raise ValidationError(
            f"pub {index}: expected (circuit, observables[, parameter_values[, precision]])"
        )
    circuit, observables, *rest = pub
    if not isinstance(circuit, QuantumCircuit):
        raise ValidationError(f"pub {index}: {type(circuit).__name__} is not a QuantumCircuit")
    try:
        array = ObservablesArray.coerce(observables)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"pub {index}: observables are not valid ({exc})") from exc
    if array.num_qubits != circuit.num_qubits and circuit.layout is not None:
        try:
            array = array.apply_layout(circuit.layout)
        except Exception as exc:  # Qiskit raises QiskitError and ValueError here
            raise ValidationError(
                f"pub {index}: observables on {array.num_qubits} qubits do not fit the "
                f"layout of the circuit ({circuit.num_qubits} qubits): {exc}"
            ) from exc
    if array.num_qubits != circuit.num_qubits:
        raise ValidationError(
            f"pub {index}: observables act on {array.num_qubits} qubits, the circuit has "
            f"{circuit.num_qubits}" + (" (after its layout)" if circuit.layout is not None else "")
        )
    if len(rest) == 2 and rest[1] is not None and not 0 <= float(rest[1]) <= 1:
        raise ValidationError(f"pub {index}: precision {rest[1]} is not in [0, 1]")
    try:
        return EstimatorPub.coerce((circuit, array, *rest), precision)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"pub {index}: {exc}") from exc


def _shots(pub: EstimatorPub, options: EstimatorOptions) -> int:
    if options.default_shots is not None:
        return options.default_shots
    return math.ceil(1.0 / float(pub.precision) ** 2)


def _paulis(
    pub: EstimatorPub,
) -> tuple[list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The PUB's distinct non-identity Paulis, each observable's coefficients, constants."""
    ops = [
        SparsePauliOp.from_sparse_observable(obs).simplify()
        for obs in pub.observables.sparse_observables_array().ravel()
    ]
    identity = "I" * pub.circuit.num_qubits
    labels: list[str] = []
    position: dict[str, int] = {}
    for op in ops:
        for label in op.paulis.to_labels():
            if label != identity and label not in position:
                position[label] = len(labels)
                labels.append(label)
    coefficients = np.zeros((len(ops), len(labels)))
    constant = np.zeros(len(ops))
    for o, op in enumerate(ops):
        for label, coeff in zip(op.paulis.to_labels(), op.coeffs, strict=True):
            if label == identity:
                constant[o] += float(np.real(coeff))
            else:
                coefficients[o, position[label]] += float(np.real(coeff))
    return labels, coefficients, constant


def _rows(
    values: npt.NDArray[np.float64] | None, angles: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Rows ``r * T + t``: parameter row ``r`` with the measurement angles of twirl ``t``."""
    if values is None:
        return angles
    count = angles.shape[0]
    repeated = np.repeat(values, count, axis=0)
    tiled = np.tile(angles, (values.shape[0], 1))
    return np.concatenate([repeated, tiled], axis=1)


def _payloads(plan: Plan) -> tuple[list[Circuit], list[Bindings | None]]:
    from qrelay_qiskit.convert import from_qiskit

    payloads = [from_qiskit(c) for c in plan.circuits]
    tables = [
        payload_table(payload, names, values)
        for payload, (names, values) in zip(payloads, plan.tables, strict=True)
    ]
    return payloads, tables
