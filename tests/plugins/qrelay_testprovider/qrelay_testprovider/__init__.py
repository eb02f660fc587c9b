"""A toy third-party qrelay provider: two small statevector targets, jobs run at submit.

It knows nothing of Qiskit or Cirq. It implements qrelay's ``Provider`` protocol and is
registered under the entry point group ``qrelay.providers`` as ``testprovider``; the front
ends then show its targets as Qiskit backends and Cirq samplers.
"""

from __future__ import annotations

import math
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np

from qrelay.errors import NotFoundError, PayloadError
from qrelay.payload import (
    CircuitStatus,
    JobCancellationResults,
    JobData,
    JobResults,
    NewJob,
    Readout,
    TargetInfo,
    TargetModel,
    TargetStatus,
)
from qrelay.payload.expressions import evaluate

_GATES = ["x", "y", "z", "h", "s", "sdg", "t", "rx", "ry", "rz", "cx", "cz", "swap"]


def _targets() -> list[TargetInfo]:
    common: dict[str, Any] = {
        "provider": "testprovider",
        "driver": "toy",
        "simulator": True,
        "native_ops": [*_GATES, "measure", "barrier", "id"],
        "status": TargetStatus.AVAILABLE,
        "supports_compile": False,
        "description": "toy statevector simulator",
    }
    return [
        TargetInfo(
            name="toy_line",
            num_qubits=4,
            coupling_map=[(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)],
            **common,
        ),
        TargetInfo(name="toy_full", num_qubits=6, **common),
    ]


def _matrix(op: str, params: list[float]) -> np.ndarray:
    c, s = (math.cos(params[0] / 2), math.sin(params[0] / 2)) if params else (1.0, 0.0)
    table = {
        "id": np.eye(2),
        "x": np.array([[0, 1], [1, 0]]),
        "y": np.array([[0, -1j], [1j, 0]]),
        "z": np.diag([1, -1]),
        "h": np.array([[1, 1], [1, -1]]) / math.sqrt(2),
        "s": np.diag([1, 1j]),
        "sdg": np.diag([1, -1j]),
        "t": np.diag([1, np.exp(1j * math.pi / 4)]),
    }
    if op in table:
        return np.asarray(table[op], dtype=complex)
    if op == "rx":
        return np.array([[c, -1j * s], [-1j * s, c]])
    if op == "ry":
        return np.array([[c, -s], [s, c]], dtype=complex)
    if op == "rz":
        return np.diag([complex(c, -s), complex(c, s)])
    raise PayloadError(f"toy simulator: op {op!r} is not supported")


def _apply1(state: np.ndarray, gate: np.ndarray, q: int) -> np.ndarray:
    state = np.moveaxis(state, q, 0)
    state = np.tensordot(gate, state, axes=(1, 0))
    return np.moveaxis(state, 0, q)


def _apply2(state: np.ndarray, op: str, a: int, b: int) -> np.ndarray:
    state = state.copy()
    idx: list[Any] = [slice(None)] * state.ndim
    if op == "swap":
        return np.swapaxes(state, a, b).copy()
    idx[a] = 1
    sub = state[tuple(idx)]
    axis_b = b - (1 if b > a else 0)
    if op == "cx":
        sub = np.flip(sub, axis=axis_b)
    elif op == "cz":
        sub = sub.copy()
        sel: list[Any] = [slice(None)] * sub.ndim
        sel[axis_b] = 1
        sub[tuple(sel)] *= -1
    else:
        raise PayloadError(f"toy simulator: op {op!r} is not supported")
    state[tuple(idx)] = sub
    return state


def simulate(job: NewJob, index: int, row: dict[str, float], seed: int) -> Readout:
    """Run circuit ``index`` once per shot by sampling its final state (terminal measures)."""
    circuit = job.circuits[index]
    n = circuit.num_qubits
    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1.0
    measured: list[tuple[int, int]] = []
    for position, inst in enumerate(circuit.instructions):
        op = inst["op"]
        if op in ("barrier", "id"):
            continue
        if op == "measure":
            measured.append((inst["qubits"][0], inst["clbits"][0]))
            continue
        if measured:
            raise PayloadError(f"instructions[{position}]: toy simulator measures only at the end")
        params = [float(evaluate(p, row)) for p in inst.get("params", [])]
        qubits = inst["qubits"]
        if len(qubits) == 1:
            state = _apply1(state, _matrix(op, params), qubits[0])
        else:
            state = _apply2(state, op, qubits[0], qubits[1])
    probs = np.abs(state.reshape(-1)) ** 2
    probs /= probs.sum()
    rng = np.random.default_rng(seed)
    outcomes = rng.choice(probs.size, size=job.shots, p=probs)
    qubit_bits = (outcomes[:, None] >> (n - 1 - np.arange(n))) & 1  # qubit 0 = first axis
    clbits = np.zeros((job.shots, circuit.num_clbits), dtype=np.uint8)
    for qubit, clbit in measured:
        clbits[:, clbit] = qubit_bits[:, qubit]
    arrays = {}
    for name, (start, size) in circuit.register_offsets().items():
        arrays[name] = clbits[:, start : start + size]
    return Readout.from_arrays(arrays)


class ToyJob:
    """A job of the toy provider: it already ran when it was submitted."""

    def __init__(self, data: JobData, results: JobResults) -> None:
        self._data = data
        self._results = results

    @property
    def job_id(self) -> str:
        return self._data.job_id

    def status(self) -> CircuitStatus:
        return self._data.status

    def data(self) -> JobData:
        return self._data

    def wait(self, timeout: float | None = None) -> JobData:
        return self._data

    def result(self, timeout: float | None = None) -> JobResults:
        return self._results

    def cancel(self) -> JobCancellationResults:
        return JobCancellationResults(already_terminal=[self.job_id])


class ToyProvider:
    """The ``testprovider`` provider: two toy targets, jobs kept in this process."""

    _jobs: ClassVar[dict[str, ToyJob]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, seed: int | None = None, **_ignored: Any) -> None:
        self._seed = seed
        self._targets = {t.name: t for t in _targets()}

    @property
    def name(self) -> str:
        return "testprovider"

    def targets(self) -> list[TargetModel]:
        return [TargetModel.from_info(t) for t in self._targets.values()]

    def target(self, name: str) -> TargetInfo:
        if name not in self._targets:
            raise NotFoundError(
                f"testprovider has no target {name!r}", status=404, code="not_found"
            )
        return self._targets[name]

    def submit(self, job: NewJob) -> ToyJob:
        target = self.target(job.target)
        readouts: list[list[Readout] | None] = []
        counts: list[dict[str, int] | None] = []
        for index, circuit in enumerate(job.circuits):
            if circuit.num_qubits > target.num_qubits:
                raise PayloadError(
                    f"circuits[{index}]: {circuit.num_qubits} qubits, "
                    f"target {target.name!r} has {target.num_qubits}"
                )
            table = job.bindings[index] if job.bindings else None
            rows = list(table.rows()) if table is not None else [{}]
            seed = self._seed if self._seed is not None else int(uuid.uuid4().int % 2**32)
            per_row = [simulate(job, index, row, seed + k) for k, row in enumerate(rows)]
            readouts.append(per_row)
            counts.append(per_row[0].counts())
        job_id = f"toy-{uuid.uuid4().hex[:12]}"
        n = len(job.circuits)
        data = JobData(
            job_id=job_id,
            job_type=job.job_type,
            target=job.target,
            user_email="toy@example.org",
            status=CircuitStatus.COMPLETED,
            statuses=[CircuitStatus.COMPLETED] * n,
            status_messages=[None] * n,
            num_circuits=n,
            shots=[job.shots] * n,
            counts=counts,
            submission_timestamp=datetime.now(UTC),
            readouts=readouts,
            layouts=list(job.circuits),
        )
        results = JobResults(
            job_id=job_id, statuses=data.statuses, circuits=list(job.circuits), readouts=readouts
        )
        handle = ToyJob(data, results)
        with self._lock:
            self._jobs[job_id] = handle
        return handle

    def job(self, job_id: str) -> ToyJob:
        with self._lock:
            found = self._jobs.get(job_id)
        if found is None:
            raise NotFoundError(f"testprovider has no job {job_id!r}", status=404, code="not_found")
        return found
