"""Importing an adapter package is cheap: the framework loads on first use only."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("package", "framework"),
    [("qrelay_qiskit", "qiskit"), ("qrelay_cirq", "cirq"), ("qrelay_qasm", "qiskit")],
)
def test_package_import_does_not_load_the_framework(package: str, framework: str) -> None:
    code = (
        f"import sys, {package}; "
        f"assert {framework!r} not in sys.modules, sorted(m for m in sys.modules if m.startswith({framework!r}))[:5]; "
        f"assert callable(getattr({package}, {package}.__all__[0]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
