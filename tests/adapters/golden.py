"""Golden payload files for the adapters: compare, or regenerate with QRELAY_REGEN_GOLDEN=1.

A golden file is the payload JSON the converter produced when the file was made, reviewed
and committed. The test compares the converter's output with it (floats to 1e-9), so any
change in bit order, register layout, op mapping or expression shape fails loudly.
Regenerate after an intended change with::

    QRELAY_REGEN_GOLDEN=1 pytest tests/adapters -k golden
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from qrelay.payload import Circuit

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "adapters"
REGEN = os.environ.get("QRELAY_REGEN_GOLDEN") == "1"


def _close(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def check_golden(framework: str, name: str, circuit: Circuit) -> Circuit:
    """Compare ``circuit`` with ``golden/adapters/<framework>/<name>.json`` (or write it).

    Returns the golden circuit parsed through the payload models, for reverse checks.
    """
    path = GOLDEN_DIR / framework / f"{name}.json"
    produced = json.loads(circuit.model_dump_json())
    if REGEN or not path.exists():
        if not REGEN:
            raise AssertionError(
                f"golden file {path} is missing; create it with QRELAY_REGEN_GOLDEN=1"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(produced, indent=1, ensure_ascii=False) + "\n")
    text = path.read_text()
    _close(produced, json.loads(text), name)
    return Circuit.model_validate_json(text)
