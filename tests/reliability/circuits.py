"""Payload circuits for the fault suite, as JSON."""

from __future__ import annotations

from typing import Any


def bell(shots: int = 100) -> dict[str, Any]:
    return {
        "num_qubits": 2,
        "registers": [{"name": "c", "size": 2}],
        "instructions": [
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    }


def slow(qubits: int = 14, layers: int = 4) -> dict[str, Any]:
    """A parametrised circuit heavy enough that a sweep of it takes a while on Aer."""
    insts: list[dict[str, Any]] = []
    for layer in range(layers):
        insts += [{"op": "ry", "qubits": [q], "params": ["t"]} for q in range(qubits)]
        insts += [{"op": "cx", "qubits": [q, (q + 1 + layer) % qubits]} for q in range(qubits - 1)]
    insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(qubits)]
    return {
        "num_qubits": qubits,
        "registers": [{"name": "c", "size": qubits}],
        "parameters": ["t"],
        "instructions": insts,
    }


def rotation_sweep(rows: int, qubits: int = 4) -> dict[str, Any]:
    """``rx(t)`` on each qubit, measured: a sweep the QPU runs as one batch."""
    insts: list[dict[str, Any]] = [
        {"op": "rx", "qubits": [q], "params": ["t"]} for q in range(qubits)
    ]
    insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(qubits)]
    return {
        "num_qubits": qubits,
        "registers": [{"name": "c", "size": qubits}],
        "parameters": ["t"],
        "instructions": insts,
    }


def sweep_rows(rows: int) -> list[dict[str, Any]]:
    return [{"names": ["t"], "values": [[0.01 * k] for k in range(rows)]}]
