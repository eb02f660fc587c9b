"""OpenQASM 2 and 3 to and from payload.v1.

``loads(text)`` reads either version (from the ``OPENQASM`` header); ``from_qasm2``,
``from_qasm3``, ``to_qasm2`` and ``to_qasm3`` name the version. Names resolve lazily, so
importing this package does not import Qiskit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qrelay_qasm.convert import from_qasm2 as from_qasm2
    from qrelay_qasm.convert import from_qasm3 as from_qasm3
    from qrelay_qasm.convert import loads as loads
    from qrelay_qasm.convert import qasm_version as qasm_version
    from qrelay_qasm.convert import to_qasm2 as to_qasm2
    from qrelay_qasm.convert import to_qasm3 as to_qasm3

_LAZY: dict[str, str] = dict.fromkeys(
    ("from_qasm2", "from_qasm3", "loads", "qasm_version", "to_qasm2", "to_qasm3"),
    "qrelay_qasm.convert",
)

__all__ = ["from_qasm2", "from_qasm3", "loads", "qasm_version", "to_qasm2", "to_qasm3"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
