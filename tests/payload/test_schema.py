"""The exported JSON Schema in docs/schema matches the models, file for file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qrelay.payload import schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / schema.DEFAULT_DIR


def test_exported_schema_is_in_sync() -> None:
    problems = schema.check(SCHEMA_DIR)
    assert problems == [], (
        "docs/schema drifted from the models; run `python -m qrelay.payload.schema`:\n"
        + "\n".join(problems)
    )


def test_one_file_per_public_model() -> None:
    names = {path.stem for path in SCHEMA_DIR.glob("*.json")}
    assert names == set(schema.public_models())
    circuit = json.loads((SCHEMA_DIR / "Circuit.json").read_text(encoding="utf-8"))
    assert circuit["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert circuit["additionalProperties"] is False
    assert circuit["properties"]["num_qubits"]["maximum"] == 10_000
    assert "Instruction" in circuit["$defs"]


def test_check_reports_drift_and_write_repairs_it(tmp_path: Path) -> None:
    assert len(schema.write(tmp_path)) == len(schema.public_models())
    assert schema.check(tmp_path) == []
    (tmp_path / "Circuit.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "Removed.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "Register.json").unlink()
    problems = schema.check(tmp_path)
    assert any("Circuit.json: differs" in line for line in problems)
    assert any("Register.json: missing" in line for line in problems)
    assert any("Removed.json: no model" in line for line in problems)
    schema.write(tmp_path)
    assert schema.check(tmp_path) == []


def test_command_line_check(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "qrelay.payload.schema", "--out", str(tmp_path)]
    drift = subprocess.run([*cmd, "--check"], capture_output=True, text=True, check=False)
    assert drift.returncode == 1
    assert "missing" in drift.stderr
    assert subprocess.run(cmd, capture_output=True, text=True, check=False).returncode == 0
    again = subprocess.run([*cmd, "--check"], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "in sync" in again.stdout


GOLDEN_DIR = ROOT / "tests" / "golden" / "payload"


def test_golden_files_conform_to_the_exported_schema() -> None:
    """The wire (golden files) and the published schema agree, model by model."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")  # comes with schemathesis (test extra)
    checked = 0
    for golden in sorted(GOLDEN_DIR.glob("*.json")):
        published = json.loads((SCHEMA_DIR / golden.name).read_text(encoding="utf-8"))
        validator = jsonschema_rs.validator_for(published, validate_formats=True)
        errors = [
            str(err)
            for err in validator.iter_errors(json.loads(golden.read_text(encoding="utf-8")))
        ]
        assert errors == [], f"{golden.name}: {errors[:3]}"
        checked += 1
    assert checked == len(schema.public_models())
    circuit = jsonschema_rs.validator_for(
        json.loads((SCHEMA_DIR / "Circuit.json").read_text(encoding="utf-8"))
    )
    assert not circuit.is_valid({"num_qubits": 1, "unknown_field": 1})
    assert not circuit.is_valid({"num_qubits": 10_001})
