"""Every example runs as a user would run it (a subprocess, a fresh QRELAY_HOME)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("examples-home")


@pytest.fixture
def service_home(home: Path) -> Path:
    """The home for examples that use the embedded default (which needs the service)."""
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    return home


def _run(home: Path, *argv: str) -> str:
    env = dict(os.environ)
    # the venv's bin holds the qrelay command run_qasm.sh calls
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["QRELAY_HOME"] = str(home)
    env["QRELAY_CONFIG"] = str(home / "config.toml")
    for key in ("QRELAY_URL", "QRELAY_TOKEN", "QRELAY_PROFILE"):
        env.pop(key, None)
    out = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=240, env=env, cwd=EXAMPLES, check=False
    )
    assert out.returncode == 0, f"{argv} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_qiskit_bell(service_home: Path) -> None:
    home = service_home
    out = _run(home, sys.executable, "qiskit_bell.py")
    counts = dict(re.findall(r"'(\d\d)': (\d+)", out.split("counts:", 1)[1].splitlines()[0]))
    assert set(counts) <= {"00", "11"}
    assert sum(int(v) for v in counts.values()) == 1000
    assert re.search(r"00 \| #+ +\d+", out)


def test_cirq_quickstart(service_home: Path) -> None:
    home = service_home
    out = _run(home, sys.executable, "cirq_quickstart.py")
    histogram = dict(re.findall(r"(\d+): (\d+)", out.split("histogram (value: count):", 1)[1]))
    assert set(histogram) <= {"0", "7"}
    assert sum(int(v) for v in histogram.values()) == 1000
    assert "refused as expected" in out


def test_qasm_from_the_shell(service_home: Path) -> None:
    home = service_home
    out = _run(home, "sh", "run_qasm.sh")
    words = re.findall(r"\b[01]{2}\b", out)
    assert set(words) <= {"00", "11"}
    assert words


def test_vqe_sweep(service_home: Path) -> None:
    home = service_home
    out = _run(home, sys.executable, "vqe_sweep_samplerv2.py", "--points", "16", "--shots", "64")
    assert "energy at theta=0: -3.000" in out
    assert "bit array shape: (16,), bits per shot: 4" in out


def test_cirq_run_sweep(service_home: Path) -> None:
    home = service_home
    out = _run(home, sys.executable, "cirq_run_sweep.py", "--points", "5", "--repetitions", "400")
    rows = re.findall(r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, flags=re.M)
    assert len(rows) == 5
    for _theta, p1, expected in rows:
        assert abs(float(p1) - float(expected)) < 0.15


def test_qpu_api_iq(home: Path) -> None:
    out = _run(home, sys.executable, "qpu_api_iq.py")
    rows = re.findall(r"^([\d.]+)\s+([\d.]+)\s+([-+][\d.]+[-+][\d.]+j)", out, flags=re.M)
    assert len(rows) == 3
    p_zero, p_pi = float(rows[0][1]), float(rows[2][1])
    assert p_zero < 0.2
    assert p_pi > 0.8
    assert rows[0][2] != rows[2][2]  # IQ centroids differ between |0> and |1>
