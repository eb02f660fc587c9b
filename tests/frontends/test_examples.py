"""Every example runs as a user would run it (a subprocess, a fresh QRELAY_HOME)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


#: Each example with its command line; they run two at a time (they wait on start-up and
#: I/O much of the time), each with its own fresh QRELAY_HOME, and each test reads its own
#: example's output.
COMMANDS: dict[str, list[str]] = {
    "qiskit_bell": [sys.executable, "qiskit_bell.py"],
    "cirq_quickstart": [sys.executable, "cirq_quickstart.py"],
    "run_qasm": ["sh", "run_qasm.sh"],
    "vqe_sweep": [sys.executable, "vqe_sweep_samplerv2.py", "--points", "16", "--shots", "64"],
    "cirq_run_sweep": [
        sys.executable,
        "cirq_run_sweep.py",
        "--points",
        "5",
        "--repetitions",
        "400",
    ],
    "qpu_api_iq": [sys.executable, "qpu_api_iq.py"],
    "estimator_mitigation": [sys.executable, "estimator_mitigation.py", "--precision", "0.03"],
}
#: How many examples run at once (each starts a whole embedded stack).
PARALLEL = 2
#: Examples that need the embedded default (so the service).
NEEDS_SERVICE = {
    "qiskit_bell",
    "cirq_quickstart",
    "run_qasm",
    "vqe_sweep",
    "cirq_run_sweep",
    "estimator_mitigation",
}


def _start(name: str, home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    # the venv's bin holds the qrelay command run_qasm.sh calls
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["QRELAY_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").touch()  # an empty config: no profiles
    env["QRELAY_CONFIG"] = str(home / "config.toml")
    for key in ("QRELAY_URL", "QRELAY_TOKEN", "QRELAY_PROFILE"):
        env.pop(key, None)
    return subprocess.Popen(
        COMMANDS[name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=EXAMPLES,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """Run every example that can run here, two at a time; name -> (returncode, out, err)."""
    try:
        import qrelay.service.app  # noqa: F401
    except ImportError:
        names = [n for n in COMMANDS if n not in NEEDS_SERVICE]
    else:
        names = list(COMMANDS)
    results: dict[str, tuple[int, str, str]] = {}
    running: dict[str, subprocess.Popen[str]] = {}
    pending = list(names)
    while pending or running:
        while pending and len(running) < PARALLEL:
            name = pending.pop(0)
            running[name] = _start(name, tmp_path_factory.mktemp(f"home-{name}"))
        name, proc = next(iter(running.items()))
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results[name] = (proc.returncode, out, err)
        del running[name]
    return results


def _output(outputs: dict[str, tuple[int, str, str]], name: str) -> str:
    if name not in outputs:
        pytest.skip("the service is not installed")
    code, out, err = outputs[name]
    assert code == 0, f"{COMMANDS[name]} failed:\n{out[-2000:]}\n{err[-3000:]}"
    # a user's script exits without a word from qrelay's threads (none at shutdown either)
    assert "Traceback" not in err, err[-3000:]
    return out


def test_qiskit_bell(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "qiskit_bell")
    counts = dict(re.findall(r"'(\d\d)': (\d+)", out.split("counts:", 1)[1].splitlines()[0]))
    assert set(counts) <= {"00", "11"}
    assert sum(int(v) for v in counts.values()) == 1000
    assert re.search(r"00 \| #+ +\d+", out)


def test_cirq_quickstart(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "cirq_quickstart")
    histogram = dict(re.findall(r"(\d+): (\d+)", out.split("histogram (value: count):", 1)[1]))
    assert set(histogram) <= {"0", "7"}
    assert sum(int(v) for v in histogram.values()) == 1000
    assert "refused as expected" in out


def test_qasm_from_the_shell(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "run_qasm")
    words = re.findall(r"\b[01]{2}\b", out)
    assert set(words) <= {"00", "11"}
    assert words


def test_vqe_sweep(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "vqe_sweep")
    assert "energy at theta=0: -3.000" in out
    assert "bit array shape: (16,), bits per shot: 4" in out


def test_cirq_run_sweep(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "cirq_run_sweep")
    rows = re.findall(r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, flags=re.M)
    assert len(rows) == 5
    for _theta, p1, expected in rows:
        assert abs(float(p1) - float(expected)) < 0.15


def test_qpu_api_iq(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "qpu_api_iq")
    rows = re.findall(r"^([\d.]+)\s+([\d.]+)\s+([-+][\d.]+[-+][\d.]+j)", out, flags=re.M)
    assert len(rows) == 3
    p_zero, p_pi = float(rows[0][1]), float(rows[2][1])
    assert p_zero < 0.2
    assert p_pi > 0.8
    assert rows[0][2] != rows[2][2]  # IQ centroids differ between |0> and |1>


def test_estimator_mitigation(outputs: dict[str, tuple[int, str, str]]) -> None:
    out = _output(outputs, "estimator_mitigation")
    rows = re.findall(r"^\s*(\d)\s+([-+][\d.]+)\s+([\d.]+)\s+(.+)$", out, flags=re.M)
    assert [int(r[0]) for r in rows] == [0, 1, 2]
    raw, level1 = float(rows[0][1]), float(rows[1][1])
    assert raw < level1  # TREX removes the readout part of the noise
    assert "TREX" in rows[1][3]
    assert "zne" in rows[2][3]
