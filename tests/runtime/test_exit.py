"""A process on the embedded default exits promptly, even with a long simulation running.

At exit (or Ctrl-C) the embedded default kills its simulation children instead of waiting
for them; the task's lease lapses and the service hands it out again on the next start.
Before, the exit waited for the simulation to finish (a minute and more for a big one).
The bounds here are generous functional bounds, not timings.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("qiskit_aer")

#: The children start as a terminal's would, with Ctrl-C's default handler: one started
#: from a shell's background job inherits SIGINT ignored, and Python keeps ignoring it.
_AT_A_TERMINAL = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)"

SCRIPT = _AT_A_TERMINAL + textwrap.dedent(
    """
    import sys, time
    from qrelay import payload as p
    from qrelay.runtime import Client

    n = 24
    insts = [{"op": "h", "qubits": [q]} for q in range(n)]
    for _ in range(60):
        insts += [{"op": "cx", "qubits": [q, q + 1]} for q in range(n - 1)]
        insts += [{"op": "rz", "qubits": [q], "params": [0.3]} for q in range(n)]
    insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(n)]
    circuit = p.Circuit(num_qubits=n, registers=[p.Register(name="c", size=n)],
                        instructions=insts)
    client = Client()
    job = client.submit(p.NewJob(target="aer_simulator", circuits=[circuit], shots=10))
    for _ in range(600):
        if job.status().value in ("simulating", "running"):
            break
        time.sleep(0.05)
    print(job.status().value, flush=True)
    if sys.argv[1] == "exit":
        sys.exit(0)
    time.sleep(600)  # interrupted by the test
    """
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if fields and fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
@pytest.mark.parametrize("how", ["exit", "interrupt"])
def test_exit_does_not_wait_for_a_running_simulation(tmp_path: Path, how: str) -> None:
    env = dict(os.environ, QRELAY_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, how], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        state = proc.stdout.readline().strip()
        assert state in ("simulating", "running"), state
        simulating = _children(proc.pid)
        assert simulating, "the simulation should run in a child process"
        started = time.monotonic()
        if how == "interrupt":
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        took = time.monotonic() - started
        assert took < 30, f"the process took {took:.1f} s to exit"
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in simulating):
            assert time.monotonic() < deadline, "a simulation child outlived its process"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


_MAIN = _AT_A_TERMINAL + "; import sys; from qrelay.cli import main; sys.exit(main(sys.argv[1:]))"


def _long_program(path: Path) -> Path:
    """An OpenQASM 2 program that simulates for far longer than the test waits."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[24];", "creg c[24];", "h q;"]
    for _ in range(60):
        lines += [f"cx q[{i}],q[{i + 1}];" for i in range(23)]
        lines.append("rz(0.3) q;")
    lines.append("measure q -> c;")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals (Linux)")
@pytest.mark.parametrize("how", ["timeout", "interrupt"])
def test_an_abandoned_run_on_the_embedded_default_is_cancelled(tmp_path: Path, how: str) -> None:
    """``qrelay run`` on the embedded default cancels the job the user gave up on, so no
    later process runs it."""
    env = dict(os.environ, QRELAY_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    program = _long_program(tmp_path / "long.qasm")
    args = [sys.executable, "-c", _MAIN, "run", str(program), "--shots", "10"]
    if how == "timeout":
        args += ["--timeout", "3"]
    else:
        args += ["--progress"]  # its status line says when the job runs
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    try:
        seen = ""
        if how == "interrupt":
            assert proc.stderr is not None
            while "running" not in seen and "simulating" not in seen:
                char = proc.stderr.read(1)
                assert char, f"the run ended before its job ran: {seen}"
                seen += char
            proc.send_signal(signal.SIGINT)
        _out, rest = proc.communicate(timeout=90)
        err = seen + rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    cancelled = re.search(r"job (\S+) cancelled", err)
    assert cancelled, err
    job_id = cancelled.group(1)
    shown = subprocess.run(
        [sys.executable, "-c", _MAIN, "job", job_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert "cancelled" in shown.stdout, shown.stdout + shown.stderr
