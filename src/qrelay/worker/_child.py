"""The driver child process: ``python -m qrelay.worker._child``.

It answers requests on stdin with results on stdout, each a length-prefixed pickle (the
framing of :mod:`qrelay.qpu._child`; parent and child are the same program on a private
pipe). A request is ``(driver_name, target_info, config, task, circuit)``; the reply is
``("ok", readouts)``, ``("refused", (error class, message))`` or ``("error", (kind,
message))``. ``("preload", [driver names])`` calls each driver module's ``warm_up()``.
Drivers are built once per target and calibration and reused. Stray output goes to
stderr, never into the channel.

Once a driver's modules are loaded (``preload``, or a driver built), everything alive is
moved out of the garbage collector's reach (``gc.freeze``): the simulators' imports are
most of the heap, and a full collection of it cost 35 ms in a 1,000-point sweep of 0.7 s.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from qrelay.qpu._child import read_frame, write_frame


def main() -> int:
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed from here on lands on stderr
    requests = sys.stdin.buffer

    from qrelay import registry
    from qrelay.errors import QRelayError
    from qrelay.plugins import TaskContext

    drivers: dict[tuple[str, str, str | None], Any] = {}
    write_frame(channel, ("ready", None))
    while True:
        request = read_frame(requests)
        if request is None:
            return 0
        if request[0] == "preload":
            # import a driver's heavy dependencies now, so the first task does not wait
            for name in request[1]:
                module = sys.modules.get(registry.load(registry.DRIVERS, name).__module__)
                warm_up = getattr(module, "warm_up", None)
                if callable(warm_up):
                    warm_up()
            gc.freeze()
            write_frame(channel, ("ok", None))
            continue
        driver_name, info, config, task, circuit = request
        key = (driver_name, info.name, info.calibration_id)
        try:
            driver = drivers.get(key)
            if driver is None:
                driver = registry.load(registry.DRIVERS, driver_name)(info, **config)
                drivers[key] = driver
                gc.freeze()
            readouts = driver.execute(task, circuit, TaskContext(task=task))
            reply: tuple[str, Any] = ("ok", readouts)
        except QRelayError as exc:  # a refusal: the parent raises it again, by class name
            reply = ("refused", (type(exc).__name__, str(exc)))
        except Exception as exc:  # sent back to the parent, which fails the task with it
            reply = ("error", (type(exc).__name__, str(exc)))
        write_frame(channel, reply)


if __name__ == "__main__":
    sys.exit(main())
