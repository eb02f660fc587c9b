"""Simulations in a child process, so the worker keeps its lease while they run.

Aer holds the GIL for a whole run: in the worker's own process a long simulation would
starve the heartbeat thread, the lease would expire, and the task would be handed to
another worker while this one is still busy with it. (In the embedded default, where the
service shares the process, the service would stall too.) So simulation tasks run in a
child (``python -m qrelay.worker._child``: a program of its own, so no threads, locks or
the user's ``__main__`` are inherited) that builds the target's driver there and reuses it.

The parent waits on the pipe with the GIL released, so heartbeats go on; when the user
cancels, the child is killed at once (a simulation has no device state to clean up) and
the next task starts a new one. A child that dies fails its task with a clear message.

A simulation too small to starve anything (:func:`runs_inline`) runs in the worker's own
thread instead: for a Bell pair the pipe, the pickling and the second process cost more
than Aer's whole run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import IO, Any

from qrelay import errors
from qrelay.errors import DeviceError, QRelayError
from qrelay.payload import Circuit, Readout, TargetInfo, WorkerTask
from qrelay.payload.workload import small_simulation
from qrelay.plugins import TaskContext
from qrelay.qpu._child import read_frame, write_frame

log = logging.getLogger(__name__)

#: Seconds between checks for cancellation while the child runs.
POLL_SECONDS = 0.1


def runs_inline(task: WorkerTask, circuit: Circuit) -> bool:
    """Whether a task's simulation is small enough for the worker's own thread."""
    rows = 1 if task.bindings is None else len(task.bindings)
    return small_simulation(circuit, shots=task.shots, rows=rows, sim_method=task.sim_method)


def child_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the parent's, with OpenMP's idle threads spinning briefly.

    Aer's OpenMP threads wait for more work after each parallel region. Left to spin for
    long (libgomp's default), they take the cores the worker, the service and the client
    need between tasks: a 14-qubit job took 23-25 ms on two cores against 17-20 ms with
    short spins. Sent to sleep at once (``OMP_WAIT_POLICY=PASSIVE``), they pay a wake-up
    at every parallel region within one run: a 1,000-point sweep took 1.37-1.64x Aer's own
    time against 1.08-1.24x with short spins. So the threads spin for about 30,000 turns,
    which bridges the regions of one run and not the gaps between tasks.
    ``GOMP_SPINCOUNT`` is libgomp's (which the Linux wheels of Aer ship); LLVM's libomp
    reads ``KMP_BLOCKTIME`` (milliseconds) and sleeps at once, as before. Values the user
    set are kept.
    """
    env = dict(parent)
    env.setdefault("GOMP_SPINCOUNT", "30000")
    env.setdefault("KMP_BLOCKTIME", "0")
    return env


def _refusal(kind: str, message: str) -> QRelayError:
    """The child's refusal as the same qrelay error class (``DeviceError`` if unknown)."""
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, QRelayError):
        try:
            return cls(message)
        except TypeError:
            pass
    return DeviceError(message)


class DriverProcess:
    """One driver child process, started on first use and replaced when it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qrelay.worker._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_environment(os.environ),
        )
        assert proc.stdout is not None
        if read_frame(proc.stdout) is None:
            code = proc.wait()
            raise DeviceError(f"the simulation process could not start (exit code {code})")
        return proc

    def preload(self, drivers: list[str]) -> None:
        """Start the child now and have it import these drivers' dependencies."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None
            assert proc.stdout is not None
            try:
                write_frame(proc.stdin, ("preload", list(drivers)))
                reply = read_frame(proc.stdout)
            except OSError:
                reply = None
            if reply is None:
                self._drop(proc)
                log.warning("the simulation process failed while preloading %s", drivers)

    def execute(
        self,
        info: TargetInfo,
        task: WorkerTask,
        circuit: Circuit,
        ctx: TaskContext,
        *,
        config: Mapping[str, Any],
    ) -> list[Readout]:
        """Run the target's driver on ``circuit`` in the child; ``[]`` when cancelled."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            stdin: IO[bytes] | None = proc.stdin
            stdout: IO[bytes] | None = proc.stdout
            assert stdin is not None
            assert stdout is not None
            try:
                write_frame(stdin, (info.driver, info, dict(config), task, circuit))
            except OSError as exc:
                self._drop(proc)
                raise DeviceError(f"the simulation process is gone ({exc})") from exc
            while not select.select([stdout], [], [], POLL_SECONDS)[0]:
                if ctx.check_cancelled():
                    log.info("task %s: cancelled; stopping its simulation", task.task_id)
                    self._drop(proc)
                    return []
            reply = read_frame(stdout)
            if reply is None:
                code = proc.wait()
                self._drop(proc)
                raise DeviceError(
                    f"the simulation process died while running this circuit (exit code "
                    f"{code}); the worker starts a new one for the next task"
                )
        status, value = reply
        if status == "ok":
            readouts: list[Readout] = value
            return readouts
        kind, message = value
        if status == "refused":
            raise _refusal(kind, message)
        raise DeviceError(f"the simulation failed: {kind}: {message}")

    def _drop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(OSError):
            proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._proc is proc:
            self._proc = None

    def close(self) -> None:
        """End the child (it exits when its stdin closes)."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
