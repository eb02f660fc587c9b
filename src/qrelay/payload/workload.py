"""How much work a simulation is, judged from the payload alone.

A small simulation is the one kind of work run "inline": a worker runs it in its own
thread instead of its simulation child (see :mod:`qrelay.worker.isolation`), the embedded
default runs a job of them on the submitting thread, and the service may answer a
submission of one with the finished job (``Prefer: wait``). All of them ask
:func:`small_simulation` (a circuit) or :func:`small_simulation_job` (a whole job).
"""

from __future__ import annotations

from typing import Final

from qrelay.payload.circuit import Circuit, Instruction
from qrelay.payload.jobs import JobType, NewJob, SimMethod

#: The widest small simulation.
SMALL_MAX_QUBITS: Final = 12
#: ... and its most work, as rows x (instructions x 2**qubits + shots): a few
#: milliseconds of Aer.
SMALL_MAX_WORK: Final = 2**20
#: ... and its most binding rows: each row costs a simulator a fixed setup that the work
#: above leaves out (a sweep of thousands of one-qubit rows runs for seconds).
SMALL_MAX_ROWS: Final = 256
#: The job types that run their circuits as simulations (conversions, compilations and
#: estimations are never small simulations).
SIMULATION_JOB_TYPES: Final = frozenset({JobType.SUBMIT, JobType.SIMULATE})


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


def small_simulation_job(job: NewJob) -> bool:
    """Whether ``job`` runs nothing but small simulations (see :func:`small_simulation`):
    a submission or simulation, not a dry run, each circuit with its own binding rows.

    Where it may run (a simulator target, a worker of this process) is the caller's part.
    """
    return (
        not job.dry_run
        and job.job_type in SIMULATION_JOB_TYPES
        and all(
            small_simulation(
                circuit, shots=job.shots, rows=job.binding_count(i), sim_method=job.sim_method
            )
            for i, circuit in enumerate(job.circuits)
        )
    )


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
