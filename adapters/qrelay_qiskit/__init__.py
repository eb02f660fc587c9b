"""Qiskit adapter of qrelay: conversion to and from payload.v1, and Qiskit front ends.

Importing this package is cheap: public names are resolved lazily on first access, so
``import qrelay_qiskit`` does not import Qiskit until something from it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qrelay_qiskit.backend import QRelayBackend
    from qrelay_qiskit.convert import from_qiskit as from_qiskit
    from qrelay_qiskit.convert import to_qiskit as to_qiskit
    from qrelay_qiskit.estimator import QRelayEstimatorV2
    from qrelay_qiskit.job import QRelayJob
    from qrelay_qiskit.provider import QRelayProvider
    from qrelay_qiskit.sampler import QRelaySamplerV2

#: Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "from_qiskit": "qrelay_qiskit.convert",
    "to_qiskit": "qrelay_qiskit.convert",
    "QRelayProvider": "qrelay_qiskit.provider",
    "QRelayBackend": "qrelay_qiskit.backend",
    "QRelayJob": "qrelay_qiskit.job",
    "QRelaySamplerV2": "qrelay_qiskit.sampler",
    "QRelayEstimatorV2": "qrelay_qiskit.estimator",
}

__all__ = [
    "QRelayBackend",
    "QRelayEstimatorV2",
    "QRelayJob",
    "QRelayProvider",
    "QRelaySamplerV2",
    "from_qiskit",
    "to_qiskit",
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
