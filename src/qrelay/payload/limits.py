"""Whether work fits a target: the one check the service, the adapters and the worker run.

The models alone bound sizes for every target (``MAX_*`` in :mod:`qrelay.payload.circuit`
and :mod:`qrelay.payload.jobs`); a target's :class:`~qrelay.payload.targets.TargetLimits`
is usually tighter, and only known once the target is. Each check raises ``PayloadError``
on the first excess with a message naming the field, the circuit and the limit. The
service refuses a job with it (422), a front end refuses a call before converting or
splitting it, and both count instructions the same way: every instruction, the bodies of
control-flow blocks included, a ``for`` body once per value it runs over (a ``while``
body once: its turns are bounded per shot by ``limits.max_loop_iterations``).

A program that expands (OpenQASM gate definitions, broadcasts over registers) is counted
while it is expanded, against :func:`instruction_limit`, with an :class:`InstructionBudget`
the converters share, so an over-limit program stops at the limit instead of growing
without bound before :func:`check_target_limits` could see it.
"""

from __future__ import annotations

import time

from qrelay.errors import PayloadError
from qrelay.payload import control
from qrelay.payload.capabilities import check_control_flow
from qrelay.payload.circuit import MAX_INSTRUCTIONS, Circuit
from qrelay.payload.jobs import NewJob
from qrelay.payload.targets import TargetInfo


def instruction_limit(target: TargetInfo | None, cap: int = MAX_INSTRUCTIONS) -> int:
    """The most instructions one circuit may expand to: the target's limit or ``cap``,
    whichever is smaller (``cap`` alone for a target not known)."""
    if target is None:
        return cap
    return min(target.limits.max_instructions, cap)


class InstructionBudget:
    """A count of instructions made while a program is expanded, stopped at a limit.

    ``limit`` is the most instructions allowed; ``where`` says whose limit it is in the
    error (e.g. ``"on target 'aer_simulator'"``). ``deadline`` (a :func:`time.monotonic`
    instant) also stops the expansion when it is reached, so work that cannot be killed
    ends on its own. Each :meth:`spend` raises :class:`PayloadError` naming the limit as
    soon as the count passes it.
    """

    __slots__ = ("count", "deadline", "limit", "seconds", "where")

    def __init__(
        self, limit: int, *, where: str = "", deadline: float | None = None, seconds: float = 0.0
    ) -> None:
        self.limit = limit
        self.where = where
        self.deadline = deadline
        self.seconds = seconds
        self.count = 0

    @classmethod
    def within(
        cls, limit: int, seconds: float | None = None, *, where: str = ""
    ) -> InstructionBudget:
        """A budget of ``limit`` instructions and, if given, ``seconds`` from now."""
        deadline = None if seconds is None else time.monotonic() + seconds
        return cls(limit, where=where, deadline=deadline, seconds=seconds or 0.0)

    def spend(self, count: int = 1) -> None:
        """Count ``count`` more instructions; raise once the limit or the deadline is passed."""
        self.count += count
        if self.count > self.limit:
            raise self.exceeded(self.count)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise PayloadError(
                f"instructions: expanding the program took longer than {self.seconds:g} s "
                f"(after {self.count} instructions)",
                location=("instructions",),
            )

    def spend_block(self, count: int, iterations: int = 1) -> None:
        """Count the ``count`` instructions of a block's body, run ``iterations`` times.

        The converters call this as they read a control-flow block, so a ``for`` loop
        weighs what :func:`instruction_count` says it does.
        """
        self.spend(count * iterations)

    def check(self, count: int) -> None:
        """Raise unless ``count`` more instructions still fit (nothing is counted)."""
        if self.count + count > self.limit:
            raise self.exceeded(self.count + count)

    def exceeded(self, count: int) -> PayloadError:
        """The error for a program of (at least) ``count`` instructions."""
        where = f" {self.where}" if self.where else ""
        return PayloadError(
            f"instructions: the program expands past the limit of {self.limit} "
            f"instructions{where} (it makes at least {count})",
            location=("instructions",),
        )


def instruction_count(circuit: Circuit) -> int:
    """All instructions of a circuit, the bodies of control-flow blocks included, a
    ``for`` body once per value it runs over (see :func:`spend_block`)."""
    return control.weighted_count(circuit.instructions)


def check_shots(shots: int, target: TargetInfo) -> None:
    """Refuse a shot count above the target's ``max_shots``."""
    limit = target.limits.max_shots
    if shots > limit:
        raise PayloadError(
            f"shots: {shots} exceeds the limit of {limit} on target {target.name!r}",
            location=("shots",),
        )


def check_circuit(circuit: Circuit, target: TargetInfo, index: int) -> None:
    """Refuse a circuit (``circuits[index]``) with more qubits or instructions than fit,
    with observables on a target that does not compute expectation values, or with
    control flow the target does not run
    (:func:`~qrelay.payload.capabilities.check_control_flow`)."""
    limits = target.limits
    name = target.name
    max_qubits = min(target.num_qubits, limits.max_qubits or target.num_qubits)
    if circuit.num_qubits > max_qubits:
        raise PayloadError(
            f"circuits[{index}].num_qubits: {circuit.num_qubits} qubits exceed the "
            f"{max_qubits} of target {name!r}",
            location=("circuits", index, "num_qubits"),
        )
    if circuit.observables is not None and not target.capabilities.expectation_values:
        raise PayloadError(
            f"circuits[{index}].observables: target {name!r} does not compute expectation "
            "values (capabilities.expectation_values is false); sample the circuit instead",
            location=("circuits", index, "observables"),
        )
    count = instruction_count(circuit)
    if count > limits.max_instructions:
        raise PayloadError(
            f"circuits[{index}].instructions: {count} instructions exceed the limit of "
            f"{limits.max_instructions} on target {name!r}",
            location=("circuits", index, "instructions"),
        )
    try:
        check_control_flow(circuit, target)
    except PayloadError as exc:
        raise PayloadError(
            f"circuits[{index}]: {exc}", location=("circuits", index, "instructions")
        ) from None


def check_target_limits(job: NewJob, target: TargetInfo) -> None:
    """Raise ``PayloadError`` unless ``job`` fits ``target``'s limits and size.

    Checked: shots, number of circuits, qubits per circuit (against ``limits.max_qubits``
    and the target's ``num_qubits``), binding rows per circuit, instructions per circuit,
    and the control flow of each circuit against the target's capabilities.
    OpenQASM circuits are checked for their count only (their size is known once parsed).
    """
    limits = target.limits
    name = target.name
    check_shots(job.shots, target)
    if job.num_circuits > limits.max_circuits:
        raise PayloadError(
            f"circuits: {job.num_circuits} circuits exceed the limit of {limits.max_circuits} "
            f"on target {name!r}",
            location=("circuits",),
        )
    for index, circuit in enumerate(job.circuits):
        check_circuit(circuit, target, index)
    for index in range(job.num_circuits):
        rows = job.binding_count(index)
        if rows > limits.max_bindings:
            raise PayloadError(
                f"bindings[{index}]: {rows} rows exceed the limit of {limits.max_bindings} "
                f"on target {name!r}",
                location=("bindings", index),
            )
