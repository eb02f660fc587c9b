"""Small payload circuits for runtime tests."""

from __future__ import annotations

from qrelay.payload import Circuit, Register


def bell() -> Circuit:
    return Circuit(
        num_qubits=2,
        registers=[Register(name="c", size=2)],
        instructions=[
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
        name="bell",
    )


def flip(n: int = 3) -> Circuit:
    """X on every odd qubit, then measure all: one deterministic outcome."""
    instructions: list = [{"op": "x", "qubits": [q]} for q in range(1, n, 2)]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(n)]
    return Circuit(num_qubits=n, registers=[Register(name="m", size=n)], instructions=instructions)
