"""qrelay: a pluggable backend for quantum frameworks.

Qiskit, Cirq and OpenQASM circuits become one payload (:mod:`qrelay.payload`), run on one
job service with simulators and an emulated QPU fleet behind it, and come back as each
framework's own result. The public client is :class:`qrelay.Client` (and
:class:`qrelay.AsyncClient`); with no URL configured it starts the embedded default.

Importing ``qrelay`` does no work: the client and its dependencies load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qrelay.errors import QRelayError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from qrelay.runtime import AsyncClient, AsyncJob, Client, Job

__all__ = ["AsyncClient", "AsyncJob", "Client", "Job", "QRelayError", "__version__"]

_LAZY = {"Client", "AsyncClient", "Job", "AsyncJob"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from qrelay import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'qrelay' has no attribute {name!r}")
