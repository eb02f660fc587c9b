"""Where the emulator's simulations run: in a child process, or in the calling thread.

A simulation engine may hold the GIL for a whole run (Aer does) and may crash the
process it runs in (a native library fault). The controller must keep answering status
and cancel calls meanwhile, and must survive a crash, so by default the engine plugin
runs in a pool of child processes (``spawn``ed, so no threads or locks are inherited):
a crash there fails the program with a clear message and the pool is started afresh.

An engine object handed in directly (tests, embedding) runs in the device's thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from qrelay.errors import DeviceError
from qrelay.payload import Bindings, Circuit, TargetInfo
from qrelay.plugins import SimulationEngine

log = logging.getLogger(__name__)

#: Register name -> ``shots x width`` bits, one mapping per binding row.
RowArrays = list[dict[str, npt.NDArray[np.uint8]]]

_CHILD_CIRCUITS: Final = 32


class Runner(Protocol):
    """Runs one engine call and returns the register arrays of each row."""

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


# ---------------------------------------------------------------------- child side
_engine: SimulationEngine | None = None
_circuits: OrderedDict[str, Circuit] = OrderedDict()


def _child_init(name: str, options: Mapping[str, Any]) -> None:
    global _engine
    from qrelay import registry

    _engine = registry.load(registry.ENGINES, name)(**options)


def _child_run(
    key: str,
    circuit: Circuit,
    *,
    shots: int,
    bindings: Bindings | None,
    noise: TargetInfo | None,
    seed: int,
) -> RowArrays:
    assert _engine is not None
    # Keep one object per executable so the engine's own per-circuit caches hit.
    found = _circuits.get(key)
    if found is None:
        _circuits[key] = found = circuit
        while len(_circuits) > _CHILD_CIRCUITS:
            _circuits.popitem(last=False)
    else:
        _circuits.move_to_end(key)
    readouts = _engine.run(found, shots=shots, bindings=bindings, noise=noise, seed=seed)
    return [r.arrays() for r in readouts]


# ---------------------------------------------------------------------- parent side
class ProcessRunner:
    """Runs the named engine plugin in a pool of spawned child processes."""

    def __init__(self, engine_name: str, options: Mapping[str, Any], workers: int) -> None:
        self.engine_name = engine_name
        self.options = dict(options)
        self.workers = max(1, workers)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_init,
                    initargs=(self.engine_name, self.options),
                )
            return self._pool

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
        pool = self._get_pool()
        try:
            future = pool.submit(
                _child_run, key, circuit, shots=shots, bindings=bindings, noise=noise, seed=seed
            )
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None  # the next program starts a fresh pool
            pool.shutdown(wait=False, cancel_futures=True)
            raise DeviceError(
                f"the simulation process of engine {self.engine_name!r} crashed while "
                "running this program; the controller restarted it"
            ) from exc

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
