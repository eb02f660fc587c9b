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

A simulation too small to starve anything (a small simulation, see
:func:`qrelay.payload.workload.small_simulation`) runs in the worker's own thread instead:
for a Bell pair the pipe, the pickling and the second process cost more than Aer's whole
run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from qrelay import errors
from qrelay.childproc import ChildProcess
from qrelay.errors import ChildGoneError, DeviceError, QRelayError
from qrelay.payload import Circuit, Readout, TargetInfo, WorkerTask
from qrelay.plugins import TaskContext

log = logging.getLogger(__name__)

#: Seconds between checks for cancellation while the child runs.
POLL_SECONDS = 0.1


def child_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the parent's, with OpenMP's idle threads spinning briefly.

    Aer's OpenMP threads wait for more work after each parallel region. Left to spin for
    long (libgomp's default), they take the cores the worker, the service and the client
    need between tasks, and a whole job is slower. Sent to sleep at once
    (``OMP_WAIT_POLICY=PASSIVE``), they pay a wake-up at every parallel region within one
    run, and a long sweep is slower. So the threads spin for about 30,000 turns, which
    bridges the regions of one run and not the gaps between tasks (figures: "Design
    measurements" in ``docs/performance.md``).
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
        self._child: ChildProcess | None = None
        self._lock = threading.Lock()
        #: Children ended early (a crash, or killed to stop a cancelled task), each
        #: replaced at the next use.
        self.restarts = 0
        self._closed = False

    def _running(self) -> ChildProcess:
        """The child, started (again) if there is none or it has died."""
        if self._closed:
            raise DeviceError("the worker is stopping; its simulation process is closed")
        if self._child is None or not self._child.alive:
            if self._child is not None:
                self._child.kill()  # reaps the one that died
            try:
                child = ChildProcess("qrelay.worker._child", env=child_environment(os.environ))
            except ChildGoneError as exc:
                raise DeviceError(f"the simulation process could not start ({exc})") from exc
            self._child = child
            if self._closed:  # closed while it started: close() may not have seen it
                self._drop(child)
                raise DeviceError("the worker is stopping; its simulation process is closed")
        return self._child

    def preload(self, drivers: list[str]) -> None:
        """Start the child now and have it import these drivers' dependencies."""
        with self._lock:
            if self._closed:
                return
            child = self._running()
            try:
                child.call(("preload", list(drivers)))
            except ChildGoneError:
                self._drop(child)
                if not self._closed:  # else: killed by close(), as the worker stops
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
            child = self._running()
            try:
                child.send((info.driver, info, dict(config), task, circuit))
                answered, reply = child.receive(ctx.check_cancelled, poll_seconds=POLL_SECONDS)
            except ChildGoneError as exc:
                self._drop(child)
                raise DeviceError(
                    f"the simulation process died while running this circuit ({exc}); "
                    "the worker starts a new one for the next task"
                ) from exc
            if not answered:
                log.info("task %s: cancelled; stopping its simulation", task.task_id)
                self._drop(child)
                return []
        status, value = reply
        if status == "ok":
            readouts: list[Readout] = value
            return readouts
        kind, message = value
        if status == "refused":
            raise _refusal(kind, message)
        raise DeviceError(f"the simulation failed: {kind}: {message}")

    def _drop(self, child: ChildProcess) -> None:
        child.kill()
        self.restarts += 1
        if self._child is child:
            self._child = None

    def close(self) -> None:
        """End the child at once, without waiting for the lock a running task holds.

        A simulation has nothing to clean up, and a child still importing its simulator
        (just after start) would otherwise hold up the worker's exit until it is done.
        A task it was running is not finished: its lease lapses and the service hands it
        out again.
        """
        self._closed = True
        child, self._child = self._child, None
        if child is not None:
            child.kill()
