"""The committed generated gRPC code matches what the .proto generates now."""

from __future__ import annotations

from pathlib import Path

from qrelay.qpu import _regen


def test_generated_code_has_not_drifted(tmp_path: Path) -> None:
    written = _regen.generate(tmp_path)
    assert {p.name for p in written} == {"__init__.py", *_regen.GENERATED}
    for path in written:
        committed = _regen.OUT_DIR / path.name
        assert committed.exists(), f"{committed} is missing; run python -m qrelay.qpu._regen"
        assert committed.read_text() == path.read_text(), (
            f"{committed.name} differs from controller.proto; run python -m qrelay.qpu._regen"
        )
