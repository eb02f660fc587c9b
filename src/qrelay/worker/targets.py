"""What a worker keeps of its targets: their descriptions, drivers and the compiler.

A target's description (calibration included) is asked of the service once and re-read
after :data:`TARGET_INFO_TTL`; while the service cannot answer, the last one is used. A
driver is made per target and calibration, so a new calibration gets a new driver (and
the old one is dropped). Descriptions and drivers given to the worker are used as given.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from qrelay import registry
from qrelay.errors import (
    ConfigurationError,
    DeviceError,
    NotFoundError,
    PermissionDeniedError,
    QRelayError,
)
from qrelay.payload import TargetInfo
from qrelay.plugins import Compiler, DeviceDriver
from qrelay.worker.api import WorkerChannel

#: The compiler plugin used unless a worker is given another.
DEFAULT_COMPILER = "qiskit-transpile"
#: Re-read a target's info (calibration) from the service after this many seconds.
TARGET_INFO_TTL = 300.0


class TargetCache:
    """A worker's targets: descriptions from ``api``, drivers, and the compiler plugin.

    ``infos`` and ``drivers`` (by target name) are given ones, used instead of asking the
    service or loading a driver plugin; ``driver_config`` goes to every driver made here.
    """

    def __init__(
        self,
        api: WorkerChannel,
        *,
        infos: Mapping[str, TargetInfo] | None = None,
        drivers: Mapping[str, DeviceDriver] | None = None,
        driver_config: Mapping[str, Any] | None = None,
        compiler: str = DEFAULT_COMPILER,
    ) -> None:
        self.api = api
        self.driver_config = dict(driver_config or {})
        self.compiler_name = compiler
        self._given_infos = dict(infos or {})
        self._given_drivers = dict(drivers or {})
        self._infos: dict[str, tuple[float, TargetInfo]] = {}
        self._drivers: dict[tuple[str, str | None], DeviceDriver] = {}
        self._compiler: Compiler | None = None

    def has_given_driver(self, name: str) -> bool:
        """Whether the target's driver was given (it then runs in the worker's process)."""
        return name in self._given_drivers

    def info(self, name: str) -> TargetInfo:
        """The target's description (calibration included), re-read now and then."""
        if name in self._given_infos:
            return self._given_infos[name]
        cached = self._infos.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < TARGET_INFO_TTL:
            return cached[1]
        try:
            info = self.api.target(name)
        except (NotFoundError, PermissionDeniedError) as exc:
            raise ConfigurationError(f"target {name!r}: the service gave no info ({exc})") from exc
        except QRelayError:
            if cached is not None:
                return cached[1]
            raise
        self._infos[name] = (now, info)
        return info

    def forget(self, name: str) -> None:
        """Read the target's description again at its next use (it was recalibrated)."""
        self._infos.pop(name, None)

    def driver(self, info: TargetInfo, *, stopping: bool = False) -> DeviceDriver:
        """The target's driver (one per target and calibration). While the worker is
        ``stopping`` no new driver is made: :meth:`close` may have run."""
        given = self._given_drivers.get(info.name)
        if given is not None:
            return given
        key = (info.name, info.calibration_id)
        found = self._drivers.get(key)
        if found is None:
            if stopping:  # close() may have closed the drivers: open no new connection
                raise DeviceError(f"target {info.name!r}: the worker is stopping")
            factory = registry.load(registry.DRIVERS, info.driver)
            found = factory(info, **self.driver_config)
            self._drivers = {k: v for k, v in self._drivers.items() if k[0] != info.name}
            self._drivers[key] = found
        return found

    def compiler(self) -> Compiler:
        """The compiler plugin, loaded on first use."""
        if self._compiler is None:
            self._compiler = registry.load(registry.COMPILERS, self.compiler_name)()
        return self._compiler

    def close(self) -> None:
        """Close the drivers made here that hold connections (given ones are the giver's)."""
        for driver in self._drivers.values():
            closer = getattr(driver, "close", None)
            if callable(closer):
                closer()
        self._drivers.clear()
