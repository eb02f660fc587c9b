"""OpenQASM submissions: text becomes payload circuits before anything is stored.

The service imports no framework; it asks the ``qasm`` plugin of the ``qrelay.converters``
entry point group (``qrelay_qasm``, installed with ``qrelay[qasm]``) to read the text. A
service without it refuses OpenQASM jobs with a 422 that says what to install.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from qrelay import registry
from qrelay.errors import ConfigurationError, QRelayError
from qrelay.payload import Circuit, CircuitType, NewJob
from qrelay.service.problems import ApiError

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _converter_thread() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qrelay-qasm")
        return _executor


async def convert_job(job: NewJob) -> NewJob:
    """:func:`as_payload_job` on the converter thread, without blocking the event loop."""
    return await asyncio.wrap_future(_converter_thread().submit(as_payload_job, job))


def _converter() -> Callable[[str], Circuit]:
    try:
        convert: Callable[[str], Circuit] = registry.load(registry.CONVERTERS, "qasm")
    except ConfigurationError as exc:
        raise ApiError(
            422,
            "validation_error",
            "circuit_type: this service cannot read OpenQASM; install qrelay[qasm] "
            f"on it or send payload circuits ({exc})",
        ) from None
    return convert


def as_payload_job(job: NewJob) -> NewJob:
    """``job`` with its OpenQASM programs converted to payload circuits (or as it is).

    An error names the program (``qasm[i]``) and the line and column the parser gave.
    """
    if job.circuit_type is CircuitType.PAYLOAD:
        return job
    convert = _converter()
    circuits = []
    for index, text in enumerate(job.qasm):
        try:
            circuits.append(convert(text))
        except QRelayError as exc:
            raise ApiError(422, "validation_error", f"qasm[{index}]: {exc}") from None
    data = job.model_dump(exclude={"qasm", "circuit_type", "circuits", "bindings"})
    try:
        return NewJob(
            **data,
            circuit_type=CircuitType.PAYLOAD,
            circuits=circuits,
            bindings=job.bindings,
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"qasm: {exc}") from None
