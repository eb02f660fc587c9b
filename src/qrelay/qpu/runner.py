"""Where the emulator's simulations run: in a child process, or in the calling thread.

A simulation engine may hold the GIL for a whole run (Aer does) and may crash the
process it runs in (a native library fault). The controller must keep answering status
and cancel calls meanwhile, and must survive a crash, so by default the engine plugin
runs in child processes (``python -m qrelay.qpu._child``: a program of its own, so no
threads, locks or the user's ``__main__`` are inherited): a crash there fails the
program with a clear message and the child is replaced.

An engine object handed in directly (tests, embedding) runs in the device's thread.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from qrelay import registry
from qrelay.childproc import ChildProcess
from qrelay.errors import ChildGoneError, ConfigurationError, DeviceError
from qrelay.payload import Bindings, Circuit, TargetInfo
from qrelay.plugins import SimulationEngine

log = logging.getLogger(__name__)

#: The engine plugin the controller runs (in child processes) when given no engine.
ENGINE_PLUGIN: Final = "aer"
#: Options the default engine plugin is built with. The fleet's calibrated noise is
#: relaxation composed with depolarizing channels; Aer 0.18's density-matrix method
#: (which "automatic" picks for small noisy circuits) crashes on such noise combined
#: with ``parameter_binds``, so the emulator asks for state-vector trajectories. One
#: thread per engine: devices already run side by side, and OpenMP threads spinning on
#: a busy machine cost far more than they give on the few qubits a program touches.
DEFAULT_ENGINE_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType(
    {"method": "statevector", "max_parallel_threads": 1}
)

#: Register name -> ``shots x width`` bits, one mapping per binding row.
RowArrays = list[dict[str, npt.NDArray[np.uint8]]]


class Runner(Protocol):
    """Runs one engine call and returns the register arrays of each row."""

    #: Whether the engine runs in this process (and may hold its GIL while it runs).
    in_process: bool

    def run(
        self,
        key: str,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None,
        noise: TargetInfo | None,
        seed: int,
    ) -> RowArrays: ...

    def close(self) -> None: ...


class ThreadRunner:
    """Calls an engine object in the calling thread."""

    def __init__(self, engine: SimulationEngine) -> None:
        self.engine = engine
        self.in_process = True

    def run(
        self,
        key: str,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None,
        noise: TargetInfo | None,
        seed: int,
    ) -> RowArrays:
        readouts = self.engine.run(circuit, shots=shots, bindings=bindings, noise=noise, seed=seed)
        return [r.arrays() for r in readouts]

    def close(self) -> None:
        return None


# ---------------------------------------------------------------------- child processes
class ProcessRunner:
    """Runs the named engine plugin in up to ``workers`` child processes.

    Children start on first use and serve many programs; one that dies (a native crash)
    fails the program it was running with a clear ``DeviceError`` and is replaced.
    """

    def __init__(self, engine_name: str, options: Mapping[str, Any], workers: int) -> None:
        self.engine_name = engine_name
        self.options = dict(options)
        self.in_process = False
        # Last in, first out: a started child is reused before another one is started.
        self._idle: queue.LifoQueue[ChildProcess | None] = queue.LifoQueue()
        for _ in range(max(1, workers)):
            self._idle.put(None)  # a slot; its child starts when first needed
        self._lock = threading.Lock()
        self._children: set[ChildProcess] = set()
        self._closed = False
        #: Children that died running a program, each replaced at the next use.
        self.restarts = 0

    def run(
        self,
        key: str,
        circuit: Circuit,
        *,
        shots: int,
        bindings: Bindings | None,
        noise: TargetInfo | None,
        seed: int,
    ) -> RowArrays:
        child = self._idle.get()
        try:
            if child is None:
                child = self._start_child()
            kwargs = {"shots": shots, "bindings": bindings, "noise": noise, "seed": seed}
            try:
                status, value = child.call((key, circuit, kwargs))
            except ChildGoneError as exc:
                code = child.proc.poll()
                self.restarts += 1
                self._drop(child)
                child = None
                raise DeviceError(
                    f"the simulation process of engine {self.engine_name!r} died while running "
                    f"this program (exit code {code}); the controller starts a new one"
                ) from exc
        finally:
            self._idle.put(child)
        if status == "error":
            kind, message = value
            raise DeviceError(f"the simulation engine failed: {kind}: {message}")
        rows: RowArrays = value
        return rows

    def warm(self) -> None:
        """Start one child now, so the first program does not wait for its imports."""
        child = self._idle.get()
        try:
            if child is None:
                child = self._start_child()
        finally:
            self._idle.put(child)

    def _start_child(self) -> ChildProcess:
        if self._closed:
            raise DeviceError("the controller is shutting down")
        try:
            child = ChildProcess("qrelay.qpu._child", [self.engine_name, json.dumps(self.options)])
        except ChildGoneError as exc:
            raise ConfigurationError(
                f"the simulation engine {self.engine_name!r} could not start in a child "
                f"process ({exc}); see its error output"
            ) from exc
        with self._lock:
            closed = self._closed
            if not closed:
                self._children.add(child)
        if closed:  # closed while it started: do not leave it behind
            child.close()
            raise DeviceError("the controller is shutting down")
        return child

    def _drop(self, child: ChildProcess) -> None:
        with self._lock:
            self._children.discard(child)
        child.close()

    def close(self) -> None:
        with self._lock:
            children, self._children = list(self._children), set()
            self._closed = True
        for child in children:
            child.kill()  # nothing to clean up; a child mid-import would hold up the exit


def make_runner(engine: SimulationEngine | None, engine_options: Mapping[str, Any]) -> Runner:
    """Where a controller's simulations run: ``engine`` in the device threads when given,
    else the :data:`ENGINE_PLUGIN` plugin, built with ``engine_options``, in children."""
    if engine is not None:
        return ThreadRunner(engine)
    if ENGINE_PLUGIN not in registry.names(registry.ENGINES):
        raise ConfigurationError(
            f"no {ENGINE_PLUGIN!r} simulation engine plugin is installed; "
            "install it with: pip install 'qrelay[qiskit]'"
        )
    return ProcessRunner(ENGINE_PLUGIN, engine_options, os.cpu_count() or 1)
