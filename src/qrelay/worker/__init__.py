"""Machine workers: lease tasks from the service, run them on device drivers, post readout.

``Worker(url, token, targets, *, driver_config=None)`` with ``run()``, ``run_once()`` and
``stop()``; ``qrelay worker`` is the command that runs one.
"""

from qrelay.worker.loop import Worker

__all__ = ["Worker"]
