"""Circuits and statistics shared by the worker tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from qrelay.payload import Bindings, Circuit, WorkerTask


def ghz(n: int, *, register: str = "c") -> Circuit:
    """An n-qubit GHZ circuit measured into one register."""
    instructions: list[Any] = [{"op": "h", "qubits": [0]}]
    instructions += [{"op": "cx", "qubits": [i, i + 1]} for i in range(n - 1)]
    instructions += [{"op": "measure", "qubits": [i], "clbits": [i]} for i in range(n)]
    return Circuit(
        num_qubits=n, registers=[{"name": register, "size": n}], instructions=instructions
    )


def mixed() -> Circuit:
    """Three qubits, uneven rotations, two registers (so the split is checked)."""
    return Circuit(
        num_qubits=3,
        registers=[{"name": "a", "size": 1}, {"name": "b", "size": 2}],
        instructions=[
            {"op": "ry", "qubits": [0], "params": [0.7]},
            {"op": "h", "qubits": [1]},
            {"op": "cx", "qubits": [1, 2]},
            {"op": "rx", "qubits": [2], "params": [1.1]},
            {"op": "cz", "qubits": [0, 2]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
            {"op": "measure", "qubits": [2], "clbits": [2]},
        ],
    )


def rotation() -> Circuit:
    """rx(t) on qubit 0, measured: P(1) = sin^2(t/2)."""
    return Circuit(
        num_qubits=1,
        registers=[{"name": "m", "size": 1}],
        parameters=["t"],
        instructions=[
            {"op": "rx", "qubits": [0], "params": ["t"]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
        ],
    )


def task_for(
    circuit: Circuit,
    *,
    target: str = "aer_simulator",
    job_type: str = "simulate",
    shots: int = 1000,
    bindings: Bindings | None = None,
    **extra: Any,
) -> WorkerTask:
    """A validated task as the service would lease it."""
    return WorkerTask.model_validate(
        {
            "task_id": "task-1",
            "job_id": "job-1",
            "circuit_index": 0,
            "target": target,
            "job_type": job_type,
            "shots": shots,
            "circuit": circuit.model_dump(mode="json"),
            "bindings": None if bindings is None else bindings.model_dump(mode="json"),
            "lease_id": "lease-1",
            "lease_expires_at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat(),
            "attempt": 1,
            **extra,
        }
    )


def total_variation(p: dict[str, int], q: dict[str, int]) -> float:
    """Total-variation distance between two count dicts (normalised)."""
    np_, nq = sum(p.values()), sum(q.values())
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(k, 0) / np_ - q.get(k, 0) / nq) for k in keys)


def tv_bound(outcomes: int, shots: int) -> float:
    """A generous bound on the TV distance of two samples of one distribution.

    The expected TV of two empirical distributions over k outcomes with N shots each is
    about sqrt(k / (pi N)); four times that is far in the tail.
    """
    return 4.0 * (outcomes / (3.14159 * shots)) ** 0.5
