"""Cirq adapter of qrelay: conversion to and from payload.v1, and Cirq front ends.

Importing this package is cheap: public names are resolved lazily on first access, so
``import qrelay_cirq`` does not import Cirq until something from it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qrelay_cirq.convert import from_cirq as from_cirq
    from qrelay_cirq.convert import to_cirq as to_cirq
    from qrelay_cirq.device import QRelayDevice
    from qrelay_cirq.sampler import QRelayCirqJob, QRelaySampler
    from qrelay_cirq.service import QRelayCirqService, QRelayService

#: Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "from_cirq": "qrelay_cirq.convert",
    "to_cirq": "qrelay_cirq.convert",
    "QRelayCirqService": "qrelay_cirq.service",
    "QRelayService": "qrelay_cirq.service",
    "QRelaySampler": "qrelay_cirq.sampler",
    "QRelayCirqJob": "qrelay_cirq.sampler",
    "QRelayDevice": "qrelay_cirq.device",
}

__all__ = [
    "QRelayCirqJob",
    "QRelayCirqService",
    "QRelayDevice",
    "QRelaySampler",
    "QRelayService",
    "from_cirq",
    "to_cirq",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
