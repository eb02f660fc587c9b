"""The emulated fleet's drift and recalibration schedule.

Real devices drift between calibrations and are recalibrated on a schedule. A
:class:`Recalibrator` gives the emulated controller the same history: every
``every_seconds`` each device takes one step of a seeded random walk
(:func:`qrelay.qpu.fleet.drifted`, spread ``drift``) and becomes its new calibration.
It is off unless asked for (``qrelay qpu serve --recalibrate-every SECONDS``), so a
controller's calibration stays put in tests that do not step it themselves
(:meth:`Recalibrator.step`).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

import numpy as np

from qrelay.errors import ConfigurationError
from qrelay.qpu.fleet import drifted

if TYPE_CHECKING:
    from qrelay.qpu.emulator import Controller

log = logging.getLogger(__name__)

#: The spread of one drift step when none is given: a few percent per recalibration.
DEFAULT_DRIFT: Final = 0.05


class Recalibrator:
    """Steps every device of ``controller`` through a seeded random walk.

    ``seed`` makes the walk the same in every run; ``every_seconds`` (``None``: never by
    itself) starts a thread that steps on that period once :meth:`start` is called.
    """

    def __init__(
        self,
        controller: Controller,
        *,
        drift: float = DEFAULT_DRIFT,
        every_seconds: float | None = None,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= drift <= 1.0:
            raise ConfigurationError(f"drift: {drift} is outside 0..1")
        if every_seconds is not None and every_seconds <= 0:
            raise ConfigurationError(f"recalibrate every: {every_seconds} s is not positive")
        self.controller = controller
        self.drift = drift
        self.every_seconds = every_seconds
        self._rng = np.random.default_rng([0x43414C, seed])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> dict[str, str]:
        """Drift and recalibrate every device once; their new calibration ids, by name."""
        out = {}
        for name in self.controller.device_names:
            target = drifted(self.controller.device(name).target, self._rng, self.drift)
            self.controller.recalibrate(target)
            out[name] = target.calibration_id or ""
        return out

    def start(self) -> None:
        """Step on the schedule, in a thread of its own (nothing without a period)."""
        if self.every_seconds is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="qpu-recalibration", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        assert self.every_seconds is not None
        while not self._stop.wait(self.every_seconds):
            try:
                self.step()
            except Exception:  # a failed step must not end the schedule
                log.exception("scheduled recalibration failed")
