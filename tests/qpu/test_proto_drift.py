"""The committed generated gRPC code matches what the .proto generates now."""

from __future__ import annotations

import re
from pathlib import Path

from qrelay.qpu import _regen


def _without_tool_versions(text: str) -> str:
    """The code with the generator's version stamps blanked (they follow the tool, not us)."""
    text = re.sub(r"\d+\.\d+\.\d+", "X.Y.Z", text)
    return re.sub(r"(?m)^(\s*)\d+,$", r"\1N,", text)


def test_generated_code_has_not_drifted(tmp_path: Path) -> None:
    written = _regen.generate(tmp_path)
    assert {p.name for p in written} == {"__init__.py", *_regen.GENERATED}
    for path in written:
        committed = _regen.OUT_DIR / path.name
        assert committed.exists(), f"{committed} is missing; run python -m qrelay.qpu._regen"
        assert _without_tool_versions(committed.read_text()) == _without_tool_versions(
            path.read_text()
        ), f"{committed.name} differs from controller.proto; run python -m qrelay.qpu._regen"


def test_drift_is_detected(tmp_path: Path) -> None:
    """A changed .proto really changes the generated code (the check above can fail)."""
    committed = (_regen.OUT_DIR / "controller_pb2.py").read_text()
    assert "JobResult" in committed
    assert _without_tool_versions(committed) != _without_tool_versions(
        committed.replace("integer_data", "integer_bytes")
    )
