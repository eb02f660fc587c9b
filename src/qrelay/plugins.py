"""The protocols plugins implement: device drivers, compilers and simulation engines.

A plugin is registered through an entry point (see :mod:`qrelay.registry`) and found by
name; these protocols are all qrelay knows of it. That is how the core runs circuits on
Qiskit Aer or Cirq without importing either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from qrelay.payload import Bindings, Circuit, CircuitStatus, Readout, TargetInfo, WorkerTask


@dataclass
class TaskContext:
    """What a driver may use while it runs a task: cancellation, progress, resumption.

    ``cancelled`` is set when the user cancels (the worker learns it from a heartbeat);
    a driver checks it between steps and stops early. ``execution_id`` holds the device's
    id of an execution an earlier attempt already started: a driver that finds it set
    resumes that execution instead of submitting again, and a driver that starts one calls
    ``record_execution`` before waiting on it.

    A device that keeps its own calibration (a QPU controller) may have recalibrated
    since the service last heard: its driver sets ``calibration_id`` to the one it ran
    under and hands the new snapshot to ``report_calibration``.

    ``max_threads`` bounds the threads a simulator may start (``None``: its own choice).
    The worker sets it to 1 for a small simulation it runs in its own process (see
    :func:`qrelay.payload.workload.small_simulation`): OpenMP threads spin for a while after
    each run, and in the worker's process they would take the cores the service needs.
    """

    task: WorkerTask
    cancelled: threading.Event = field(default_factory=threading.Event)
    execution_id: str | None = None
    max_threads: int | None = None
    report_status: Callable[[CircuitStatus, str | None], None] = lambda _s, _m: None
    record_execution: Callable[[str], None] = lambda _id: None
    #: The calibration the run used, when the device has its own: a driver sets it (the
    #: worker records the target's current one otherwise).
    calibration_id: str | None = None
    #: Tells the service a calibration the device reported that the service lacks.
    report_calibration: Callable[[TargetInfo], None] = lambda _info: None

    def check_cancelled(self) -> bool:
        return self.cancelled.is_set()


@dataclass(frozen=True)
class CompileResult:
    """A compiled circuit with where each logical qubit went.

    ``initial_layout`` maps logical to physical qubits before the circuit runs;
    ``final_layout`` after routing moved them.
    """

    circuit: Circuit
    initial_layout: dict[int, int]
    final_layout: dict[int, int]


@runtime_checkable
class DeviceDriver(Protocol):
    """Runs circuits on one target. Constructed as ``Driver(target_info, **config)``."""

    def capabilities(self) -> TargetInfo:
        """The target this driver serves, with what it can do (and live calibration)."""
        ...

    def execute(self, task: WorkerTask, circuit: Circuit, ctx: TaskContext) -> list[Readout]:
        """Run ``circuit`` (already compiled unless verbatim) for every binding row.

        Returns one readout per row of ``task.bindings`` (one readout when there are none).
        Raises ``DeviceError`` (or ``PayloadError`` for a program the device refuses).
        """
        ...


@runtime_checkable
class BatchDriver(Protocol):
    """A driver that also runs several tasks of its target in one call (optional).

    A worker holding several small tasks at once (the circuits of one job) hands them
    over together, so a simulator runs them as one engine call rather than one each.
    """

    def execute_many(
        self, tasks: Sequence[WorkerTask], circuits: Sequence[Circuit], ctx: TaskContext
    ) -> list[list[Readout]]:
        """:meth:`DeviceDriver.execute` of each task with its circuit, in order.

        A task's readouts are what ``execute`` gives it alone (seeded alike). Raises as
        ``execute`` does; the worker then runs the tasks one by one.
        """
        ...


@runtime_checkable
class Compiler(Protocol):
    """Compiles a payload circuit to a target's native ops and coupling map.

    ``optimization_level`` is the job's (:class:`~qrelay.payload.run_options.RunOptions`);
    ``None`` leaves the compiler's own default.
    """

    def compile(
        self, circuit: Circuit, target: TargetInfo, *, optimization_level: int | None = None
    ) -> CompileResult: ...


@runtime_checkable
class SimulationEngine(Protocol):
    """Simulates payload circuits; the emulated QPUs and the simulator drivers share it.

    ``noise`` is a target whose calibration (T1/T2, gate and readout errors, durations)
    the engine turns into a noise model; ``None`` simulates ideally. Returns one readout
    per binding row (one when ``bindings`` is ``None``).
    """

    def run(
        self,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None = None,
        noise: TargetInfo | None = None,
        seed: int | None = None,
    ) -> list[Readout]: ...
