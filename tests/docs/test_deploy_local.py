"""The worked deployment of the docs runs as written: examples/deploy_local.sh.

The script starts a QPU controller, the service, a worker (three real processes on
loopback), creates a user and a worker token through the REST API, runs two jobs with
``qrelay run`` and stops everything. This test runs it on free ports and checks that both
jobs printed their counts and that no process was left behind.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "deploy_local.sh"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="deploy_local.sh needs curl")
@pytest.mark.skipif(shutil.which("qrelay") is None, reason="the qrelay command is not installed")
def test_deploy_local_script_runs_two_jobs_and_stops_everything(tmp_path: Path) -> None:
    service_port, qpu_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env.update(
        SERVICE_PORT=str(service_port),
        QPU_PORT=str(qpu_port),
        TMPDIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    # `qrelay jobs` at the end lists both jobs, completed.
    listed = [line.split() for line in proc.stdout.splitlines() if "completed" in line.split()]
    assert sorted(row[1] for row in listed) == ["aer_simulator", "square_qpu"], output[-4000:]
    assert not _port_open(service_port), "the service is still listening"
    assert not _port_open(qpu_port), "the QPU controller is still listening"
    assert not list(tmp_path.glob("qrelay-deploy.*")), "the work directory was not removed"


@pytest.mark.skipif(shutil.which("curl") is None, reason="deploy_local.sh needs curl")
@pytest.mark.skipif(shutil.which("qrelay") is None, reason="the qrelay command is not installed")
def test_deploy_local_script_reruns_on_the_same_database(tmp_path: Path) -> None:
    """A second run on the database of the first (as with QRELAY_DATABASE_URL on a
    PostgreSQL server) creates its own user and worker and runs its jobs again."""
    database = tmp_path / "kept" / "qrelay.db"
    database.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env.update(
        QRELAY_DATABASE_URL=f"sqlite:///{database}", TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1"
    )
    for run in (1, 2):
        env.update(SERVICE_PORT=str(_free_port()), QPU_PORT=str(_free_port()))
        proc = subprocess.run(
            ["bash", str(SCRIPT)],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"run {run}: {output[-8000:]}"
        assert "Traceback" not in output, output[-8000:]
        # The user of each run is new: it sees its own two jobs only.
        listed = [line.split() for line in proc.stdout.splitlines() if "completed" in line.split()]
        assert sorted(row[1] for row in listed) == ["aer_simulator", "square_qpu"], output[-4000:]
