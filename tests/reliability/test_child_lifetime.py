"""A simulation child never outlives its parent, even in the middle of a long native run.

Aer holds the GIL for a whole run, so nothing in the child's Python can notice its parent
going; the kernel's parent-death signal can. The parent here is a real process that starts
a real engine child (:mod:`qrelay.qpu._child` with the ``aer`` engine), hands it a long
simulation, and is then killed with SIGKILL, as a crashed or killed ``qrelay run`` is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("qiskit_aer")

PARENT = textwrap.dedent(
    """
    import sys, time
    from qrelay import payload as p
    from qrelay.childproc import ChildProcess

    n = 22
    insts = [{"op": "h", "qubits": [q]} for q in range(n)]
    for _ in range(40):
        insts += [{"op": "cx", "qubits": [q, q + 1]} for q in range(n - 1)]
        insts += [{"op": "rz", "qubits": [q], "params": [0.3]} for q in range(n)]
    insts += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(n)]
    circuit = p.Circuit(num_qubits=n, registers=[p.Register(name="c", size=n)],
                        instructions=insts)
    child = ChildProcess("qrelay.qpu._child", ["aer", "{}"])
    child.send(("long", circuit, {"shots": 10, "bindings": None, "noise": None, "seed": 1}))
    print(child.proc.pid, flush=True)
    time.sleep(600)
    """
)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as ended)."""
    status = Path(f"/proc/{pid}/status")
    try:
        text = status.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next((line for line in text.splitlines() if line.startswith("State:")), "")
    return "Z" not in state.split(":", 1)[-1].split()[:1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_engine_child_dies_with_its_killed_parent() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        time.sleep(1.0)  # the child is inside Aer's run by now
        assert _running(pid), "the engine child should be running its simulation"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 15
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = _running(pid)
        if alive:
            os.kill(pid, signal.SIGKILL)  # leave nothing behind, then fail
        assert not alive, "the engine child outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
