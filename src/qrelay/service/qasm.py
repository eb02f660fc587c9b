"""OpenQASM submissions: text becomes payload circuits before anything is stored.

The service imports no framework; it asks the ``qasm`` plugin of the ``qrelay.converters``
entry point group (``qrelay_qasm``, installed with ``qrelay[qasm]``) to read the text. A
service without it refuses OpenQASM jobs with a 422 that says what to install.

Conversion is untrusted work, so it is bounded every way it can grow:

- it runs off the event loop, on a pool of ``qasm_converters`` threads, with at most
  four times as many jobs waiting (more are answered 503 with ``Retry-After``); the pool
  is one per process, sized by the settings of the first service that converts;
- each program is counted against its target's instruction limit (or the service's
  ``qasm_max_instructions``, whichever is smaller) before and while it is expanded, and
  the expansion stops itself at ``qasm_timeout_seconds``, as a thread cannot be killed;
- the converter resolves no ``include`` but the standard library, so a job cannot read
  (or learn about) the service's files.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from qrelay import registry
from qrelay.errors import ConfigurationError, QRelayError
from qrelay.payload import Circuit, CircuitType, NewJob, TargetInfo
from qrelay.payload.limits import InstructionBudget, instruction_limit
from qrelay.service.problems import ApiError
from qrelay.settings import ServiceSettings

#: Jobs that may wait for a converter, per converter.
_WAITING_PER_CONVERTER: Final = 4

#: How long past its own deadline a conversion is waited for: the expansion checks the
#: deadline as it goes, but a parser call in progress ends first.
_GRACE_SECONDS: Final = 5.0


class _Pool:
    """The converter threads and the count of jobs they hold (running or waiting)."""

    def __init__(self, workers: int) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qrelay-qasm")
        self.slots = threading.BoundedSemaphore(workers * (1 + _WAITING_PER_CONVERTER))


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _converters(settings: ServiceSettings) -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool(settings.qasm_converters)
        return _pool


async def convert_job(job: NewJob, target: TargetInfo | None, settings: ServiceSettings) -> NewJob:
    """:func:`as_payload_job` on a converter thread, without blocking the event loop.

    Answers 503 when every converter is taken and the queue is full, and 422 naming the
    limit when the conversion does not end in time.
    """
    pool = _converters(settings)
    if not pool.slots.acquire(blocking=False):
        raise ApiError(
            503,
            "unavailable",
            "qasm: every OpenQASM converter is busy; try again shortly",
            retry_after=settings.qasm_timeout_seconds,
        )
    seconds = settings.qasm_timeout_seconds

    def run() -> NewJob:
        try:
            return as_payload_job(job, target, settings)
        finally:
            pool.slots.release()

    try:
        future = pool.executor.submit(run)
    except BaseException:
        pool.slots.release()
        raise
    try:
        # The converter stops itself at its deadline, which runs from the start of the
        # conversion; this bounds the answer also when a parser call outlasts it (the
        # thread then ends that call, bounded by the program's size, and frees its slot).
        # A wait in the queue is bounded by the converters ahead, each by its deadline.
        return await asyncio.wait_for(
            asyncio.wrap_future(future), seconds * (1 + _WAITING_PER_CONVERTER) + _GRACE_SECONDS
        )
    except TimeoutError:
        raise _too_slow(seconds) from None


def _too_slow(seconds: float) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        f"qasm: converting the programs took longer than the limit of {seconds:g} s",
    )


def _converter() -> Callable[..., Circuit]:
    try:
        convert: Callable[..., Circuit] = registry.load(registry.CONVERTERS, "qasm")
    except ConfigurationError as exc:
        raise ApiError(
            422,
            "validation_error",
            "circuit_type: this service cannot read OpenQASM; install qrelay[qasm] "
            f"on it or send payload circuits ({exc})",
        ) from None
    return convert


def as_payload_job(
    job: NewJob, target: TargetInfo | None = None, settings: ServiceSettings | None = None
) -> NewJob:
    """``job`` with its OpenQASM programs converted to payload circuits (or as it is).

    Each program may expand to the instruction limit of ``target`` (or the service's cap)
    and the job's programs together take at most ``settings.qasm_timeout_seconds``. An
    error names the program (``qasm[i]``), and the line and column the parser gave or
    the limit that was passed.
    """
    if job.circuit_type is CircuitType.PAYLOAD:
        return job
    settings = settings or ServiceSettings()
    convert = _converter()
    limit = instruction_limit(target, settings.qasm_max_instructions)
    where = f"on target {target.name!r}" if target is not None else "of this service"
    seconds = settings.qasm_timeout_seconds
    deadline = time.monotonic() + seconds
    circuits = []
    for index, text in enumerate(job.qasm):
        budget = InstructionBudget(limit, where=where, deadline=deadline, seconds=seconds)
        try:
            circuits.append(
                convert(text, budget=budget, max_statements=settings.qasm_max_statements)
            )
        except QRelayError as exc:
            raise ApiError(422, "validation_error", f"qasm[{index}]: {exc}") from None
        if time.monotonic() > deadline:
            raise _too_slow(seconds)
    # the version is worked out from the circuits: the text's needs were not known
    data = job.model_dump(exclude={"qasm", "circuit_type", "circuits", "bindings", "version"})
    try:
        return NewJob(
            **data,
            circuit_type=CircuitType.PAYLOAD,
            circuits=circuits,
            bindings=job.bindings,
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"qasm: {exc}") from None
