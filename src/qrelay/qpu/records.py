"""The emulated controller's records: devices, jobs, programs, prepared executables, results.

:mod:`qrelay.qpu.emulator` keeps these for every program it queues and job it runs;
:mod:`qrelay.qpu.server` reads them to answer on the wire.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from qrelay.payload import TargetInfo
from qrelay.qpu import native
from qrelay.qpu.iq import IQModel
from qrelay.qpu.translation import IQ_SUFFIX, Executable

__all__ = [
    "CancelOutcome",
    "Device",
    "DeviceCounters",
    "Job",
    "JobResult",
    "JobState",
    "Prepared",
    "Program",
    "StatusView",
]


class JobState(StrEnum):
    """Where a job is: queued, running, or ended one of three ways."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)


class CancelOutcome(StrEnum):
    """What a request to cancel a job did."""

    CANCELLED = "cancelled"
    ALREADY_RUNNING = "already_running"
    ALREADY_FINISHED = "already_finished"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Prepared:
    """An executable checked against its device and made ready to run many times."""

    key: str
    executable: Executable
    target: TargetInfo
    reduced: native.Reduced
    noise: TargetInfo
    layout: native.PatchLayout
    #: Per buffer: (name, reduced qubit that last wrote it or -1, register, bit).
    sources: list[tuple[str, int, str, int]]
    duration_us: int
    #: The reduced qubits whose measured values the program reads as it runs: the noise
    #: keeps their readout error, so conditions see the values misread, and their bits
    #: come misread already. Every other qubit's readout error comes from the IQ model.
    steering: frozenset[int] = frozenset()


@dataclass(frozen=True)
class JobResult:
    """One job's readout: ``bits[i]`` (and ``iq[i]``) is buffer ``names[i]``, per shot."""

    names: list[str]
    bits: npt.NDArray[np.uint8]
    iq: npt.NDArray[np.complex64] | None
    memory: dict[str, list[float]]
    execution_duration_us: int

    @property
    def buffers(self) -> dict[str, npt.NDArray[Any]]:
        """Buffer name to its per-shot values (IQ buffers named ``<buffer>.iq``)."""
        out: dict[str, npt.NDArray[Any]] = dict(zip(self.names, self.bits, strict=True))
        if self.iq is not None:
            out.update(zip((n + IQ_SUFFIX for n in self.names), self.iq, strict=True))
        return out


@dataclass
class Job:
    """One patch-value set of a program, run as one job."""

    job_id: str
    device: str
    program: Program
    patch: dict[str, list[float]]
    state: JobState = JobState.QUEUED
    message: str = ""
    result: JobResult | None = None
    execution_count: int = 0


@dataclass
class Program:
    """One ``execute`` call: a prepared executable and its jobs, run in one simulation."""

    program_id: str
    prepared: Prepared
    seed: int
    jobs: list[Job] = field(default_factory=list)
    #: The trace of the call that queued it (``None``: not traced), and when it queued.
    traceparent: str | None = None
    queued_ns: int = 0

    def active(self) -> list[Job]:
        return [job for job in self.jobs if job.state is JobState.QUEUED]

    def device_time_us(self) -> int:
        return self.prepared.duration_us * len(self.active())


@dataclass(frozen=True)
class StatusView:
    """A job's status as the controller answers it."""

    job_id: str
    state: JobState
    device: str
    estimated_delay_seconds: float
    queue_position: int
    message: str
    execution_count: int


@dataclass
class DeviceCounters:
    """What a device has run so far (its metrics)."""

    programs_executed: int = 0
    jobs_completed: int = 0
    #: Seconds the device spent running programs.
    busy_seconds: float = 0.0


class Device:
    """One device of a controller: its calibration, IQ model, queue and counters.

    The controller's thread for the device runs its queue; every field is read and
    written with the controller's lock held.
    """

    def __init__(self, target: TargetInfo, iq_seed: int) -> None:
        self.target = target
        self.iq_seed = iq_seed
        self.iq = IQModel.for_target(target, iq_seed)
        self.queue: deque[Program] = deque()
        self.running: Program | None = None
        self.counters = DeviceCounters()

    def delay_of(self, program: Program) -> tuple[float, int]:
        """How long until ``program`` starts (seconds of device time ahead), and its place."""
        ahead_us = self.running.device_time_us() if self.running is not None else 0
        for position, queued in enumerate(self.queue):
            if queued is program:
                return ahead_us / 1e6, position
            ahead_us += queued.device_time_us()
        return 0.0, 0

    def queue_delay_seconds(self) -> float:
        """The device time of every queued program, in seconds."""
        total = sum(p.device_time_us() for p in self.queue)
        return total / 1e6
