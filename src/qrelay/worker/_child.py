"""The driver child process: ``python -m qrelay.worker._child``.

A request is ``(driver_name, target_info, config, task, circuit)``; the reply is
``("ok", readouts)``, ``("refused", (error class, message))`` or ``("error", (kind,
message))``. ``("preload", [driver names])`` calls each driver module's ``warm_up()``.
Drivers are built once per target and calibration and reused. The pipe and the child's
lifetime are those of :mod:`qrelay.childproc`.

Once a driver's modules are loaded (``preload``, or a driver built), everything alive is
moved out of the garbage collector's reach (``gc.freeze``): the simulators' imports are
most of the heap, and a full collection of it would stall a long sweep for nothing.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from qrelay.childproc import serve


def main() -> int:
    from qrelay import registry
    from qrelay.errors import QRelayError
    from qrelay.plugins import TaskContext

    drivers: dict[tuple[str, str, str | None], Any] = {}

    def preload(names: list[str]) -> tuple[str, Any]:
        # import a driver's heavy dependencies now, so the first task does not wait
        for name in names:
            module = sys.modules.get(registry.load(registry.DRIVERS, name).__module__)
            warm_up = getattr(module, "warm_up", None)
            if callable(warm_up):
                warm_up()
        gc.freeze()
        return "ok", None

    def handle(request: Any) -> tuple[str, Any]:
        if request[0] == "preload":
            return preload(request[1])
        driver_name, info, config, task, circuit = request
        key = (driver_name, info.name, info.calibration_id)
        try:
            driver = drivers.get(key)
            if driver is None:
                driver = registry.load(registry.DRIVERS, driver_name)(info, **config)
                drivers[key] = driver
                gc.freeze()
            return "ok", driver.execute(task, circuit, TaskContext(task=task))
        except QRelayError as exc:  # a refusal: the parent raises it again, by class name
            return "refused", (type(exc).__name__, str(exc))
        except Exception as exc:  # sent back to the parent, which fails the task with it
            return "error", (type(exc).__name__, str(exc))

    return serve(handle)


if __name__ == "__main__":
    sys.exit(main())
