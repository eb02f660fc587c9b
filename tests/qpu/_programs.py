"""Native programs the QPU tests run."""

from __future__ import annotations

import itertools

from qrelay.payload import Circuit


def bell_square(shots_register: str = "c") -> Circuit:
    """A Bell pair on square_qpu qubits 0 and 1 in native ops (H = RZ RX RZ)."""
    half = 1.5707963267948966
    h = [("rz", half), ("rx", half), ("rz", half)]
    instructions: list[dict[str, object]] = []
    for q in (0, 1):
        instructions += [{"op": op, "qubits": [q], "params": [a]} for op, a in h]
    instructions.append({"op": "cz", "qubits": [0, 1]})
    instructions += [{"op": op, "qubits": [1], "params": [a]} for op, a in h]
    instructions += [
        {"op": "measure", "qubits": [0], "clbits": [0]},
        {"op": "measure", "qubits": [1], "clbits": [1]},
    ]
    return Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": shots_register, "size": 2}],
            "instructions": instructions,
        }
    )


def rotations_square(num_qubits: int = 2) -> Circuit:
    """RX(theta[i]) on each qubit of a row of square_qpu, then measure all: |1> iff pi."""
    instructions: list[dict[str, object]] = [
        {"op": "rx", "qubits": [q], "params": [f"theta[{q}]"]} for q in range(num_qubits)
    ]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(num_qubits)]
    return Circuit.model_validate(
        {
            "num_qubits": num_qubits,
            "registers": [{"name": "ro", "size": num_qubits}],
            "parameters": [f"theta[{q}]" for q in range(num_qubits)],
            "instructions": instructions,
        }
    )


def ghz_square(size: int = 3) -> Circuit:
    """A GHZ state along the first row of square_qpu (CNOT = H CZ H) in native ops."""
    half = 1.5707963267948966

    def h(q: int) -> list[dict[str, object]]:
        return [
            {"op": "rz", "qubits": [q], "params": [half]},
            {"op": "rx", "qubits": [q], "params": [half]},
            {"op": "rz", "qubits": [q], "params": [half]},
        ]

    instructions = h(0)
    for q in range(1, size):
        instructions += [*h(q), {"op": "cz", "qubits": [q - 1, q]}, *h(q)]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(size)]
    return Circuit.model_validate(
        {
            "num_qubits": size,
            "registers": [{"name": "c", "size": size}],
            "instructions": instructions,
        }
    )


def snake_square(size: int = 10) -> Circuit:
    """RX(theta[i]) on a snake of coupled square_qpu qubits, CZ along it, measure all."""
    snake = [0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11, 15, 14, 13, 12][:size]
    instructions: list[dict[str, object]] = [
        {"op": "rx", "qubits": [q], "params": [f"theta[{i}]"]} for i, q in enumerate(snake)
    ]
    instructions += [{"op": "cz", "qubits": [a, b]} for a, b in itertools.pairwise(snake)]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [i]} for i, q in enumerate(snake)]
    return Circuit.model_validate(
        {
            "num_qubits": 16,
            "registers": [{"name": "c", "size": size}],
            "parameters": [f"theta[{i}]" for i in range(size)],
            "instructions": instructions,
        }
    )
