"""The exact path of ``QRelayEstimatorV2``: expectation values computed on the worker.

On a target that computes expectation values (``capabilities.expectation_values``: the
ideal ``aer_simulator``), ``options={"exact": True}`` or precision 0 sends each PUB as one
payload circuit carrying its observables (see :mod:`qrelay.payload.observables`), with
the PUB's parameter array as its bindings table, all PUBs in one service job. The worker
answers each observable per row exactly, and the standard errors are 0. No shots are
drawn, so no mitigation applies (the metadata says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.primitives.containers import PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub

from qrelay.errors import JobFailedError, ValidationError
from qrelay.payload import Bindings, Circuit, parse
from qrelay_qiskit.backend import QRelayBackend
from qrelay_qiskit.estimator_values import pub_data
from qrelay_qiskit.exact import observable_of_sparse
from qrelay_qiskit.primitive_jobs import (
    QRelayPrimitiveJob,
    Submission,
    collect,
    payload_table,
    pub_table,
    submit,
)


@dataclass
class ExactPub:
    """A PUB on the exact path, and how many parameter rows it has."""

    pub: EstimatorPub
    rows: int


def check_exact(backend: QRelayBackend) -> None:
    """Refuse the exact path on a target that does not compute expectation values."""
    if not backend.info.capabilities.expectation_values:
        raise ValidationError(
            f"options.exact (or precision 0): target {backend.name!r} does not compute exact "
            "expectation values (capabilities.expectation_values is false); give a "
            "precision above 0"
        )


def run_exact(backend: QRelayBackend, pubs: list[EstimatorPub]) -> QRelayPrimitiveJob:
    """Submit ``pubs`` as one job of circuits that carry their observables."""
    from qrelay_qiskit.convert import from_qiskit

    check_exact(backend)
    planned: list[ExactPub] = []
    payloads: list[Circuit] = []
    tables: list[Bindings | None] = []
    for index, pub in enumerate(pubs):
        circuit = pub.circuit
        if "measure" in circuit.count_ops():
            circuit = circuit.remove_final_measurements(inplace=False)
        shape = tuple(pub.parameter_values.shape)
        values = pub_table(pub.circuit, pub.parameter_values, shape, None, index)
        payload = from_qiskit(circuit).model_dump()
        payload["observables"] = [
            observable_of_sparse(obs) for obs in pub.observables.sparse_observables_array().ravel()
        ]
        try:
            checked = parse(Circuit, payload)
        except ValidationError as exc:
            raise ValidationError(f"pub {index}: {exc}") from exc
        names = [p.name for p in pub.circuit.parameters]
        payloads.append(checked)
        tables.append(payload_table(checked, names, values))
        planned.append(ExactPub(pub, 1 if values is None else values.shape[0]))
    members = [f"pub {i} (exact)" for i in range(len(pubs))]
    part = submit(backend, members, payloads, tables, shots=1, options={}, seed=None, verbatim=True)
    return QRelayPrimitiveJob(
        [part],
        lambda parts, timeout, job_id, progress: _result(
            planned, parts[0], timeout, job_id, progress
        ),
    )


def _result(
    planned: list[ExactPub],
    part: Submission,
    timeout: float | None,
    job_id: str,
    progress: bool | None,
) -> Any:
    rows, _layouts = collect(part, timeout, job_id, progress)
    results = []
    for index, entry in enumerate(planned):
        values = [r.expectation_values for r in rows[index]]
        if any(v is None for v in values) or len(values) != entry.rows:
            raise JobFailedError(f"pub {index}: the target sent no expectation values")
        evs = np.asarray(values, dtype=float).reshape(entry.rows, -1).T  # (observables, rows)
        metadata: dict[str, Any] = {
            "shots": 0,
            "target_precision": 0.0,
            "circuit_metadata": entry.pub.circuit.metadata,
            "exact": True,
            "resilience_level": 0,
            "techniques": ["exact expectation values"],
            "num_randomizations": 0,
            "num_bases": 0,
        }
        data = pub_data(entry.pub, entry.rows, evs, np.zeros_like(evs))
        results.append(PubResult(data, metadata=metadata))
    return PrimitiveResult(results, metadata={"version": 2})
