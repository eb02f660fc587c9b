"""How much work a simulation is, judged from the payload alone.

A worker runs a small simulation in its own thread instead of its simulation child (see
:mod:`qrelay.worker.isolation`), and the service may answer a submission of one with the
finished job (``Prefer: wait``): both ask :func:`small_simulation`.
"""

from __future__ import annotations

from typing import Final

from qrelay.payload.circuit import Circuit, Instruction
from qrelay.payload.jobs import SimMethod

#: The widest small simulation.
SMALL_MAX_QUBITS: Final = 12
#: ... and its most work, as rows x (instructions x 2**qubits + shots): a few
#: milliseconds of Aer.
SMALL_MAX_WORK: Final = 2**20
#: ... and its most binding rows: each row costs a simulator a fixed setup that the work
#: above leaves out (a sweep of thousands of one-qubit rows runs for seconds).
SMALL_MAX_ROWS: Final = 256


def small_simulation(
    circuit: Circuit, *, shots: int, rows: int, sim_method: SimMethod | None
) -> bool:
    """Whether a simulation takes a few milliseconds: a worker runs it in its own thread,
    and the service may hold a submission's answer until it has run.

    Only a noiseless circuit whose measurements all come last qualifies: a simulator
    evolves its state once and samples the shots from it, so the work is about
    rows x (instructions x amplitudes + shots). Within the bound a run holds the GIL for a
    few milliseconds, far below a heartbeat period. (A circuit measured midway is
    simulated once per shot, which no simulator bounds so cheaply; a noisy one spreads
    its shots over threads. Both go to the child.)
    """
    if sim_method is SimMethod.NOISE_SIM or circuit.num_qubits > SMALL_MAX_QUBITS:
        return False
    if rows > SMALL_MAX_ROWS:
        return False
    if not _measured_last(circuit.instructions):
        return False
    work: int = rows * (len(circuit.instructions) * 2**circuit.num_qubits + shots)
    return work <= SMALL_MAX_WORK


def _measured_last(instructions: list[Instruction]) -> bool:
    """No control flow, and nothing but measurements and barriers after a measurement."""
    measured: set[int] = set()
    for inst in instructions:
        if "body" in inst or "condition" in inst:
            return False
        op = inst["op"]
        if op == "measure":
            measured.update(inst["qubits"])
        elif op != "barrier" and not measured.isdisjoint(inst["qubits"]):
            return False
    return True
