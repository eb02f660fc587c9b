"""Several brief tasks of one target simulated in one driver call.

The circuits of one job come to a worker together (the embedded default leases them all
as the job is stored). Run one by one, each is a run of the simulator of its own, and for
small circuits that hand-off, not the simulation, is most of the time. A driver that
implements :class:`~qrelay.plugins.BatchDriver` takes them in one call instead; each
task then goes through the worker's usual processing (checks, cancellation, its result
posted under its own lease) with its readouts already there. A batch the driver refuses
(one of its circuits is bad) is simply not prepared: every task then runs alone and
reports its own error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from qrelay.errors import QRelayError
from qrelay.payload import Readout, TargetInfo, WorkerTask
from qrelay.plugins import BatchDriver, DeviceDriver, TaskContext

log = logging.getLogger(__name__)


def simulate_together(
    tasks: Sequence[WorkerTask],
    info_of: Callable[[str], TargetInfo],
    driver_of: Callable[[TargetInfo], DeviceDriver],
) -> dict[str, list[Readout]]:
    """The readouts of ``tasks`` (brief simulations run in the worker's own thread) by
    task id, from one ``execute_many`` per target whose driver has it.

    A target with a single task, or whose driver runs one task at a time, gets nothing
    here: its tasks run as usual.
    """
    by_target: dict[str, list[WorkerTask]] = {}
    for task in tasks:
        by_target.setdefault(task.target, []).append(task)
    ran: dict[str, list[Readout]] = {}
    for target, group in by_target.items():
        if len(group) < 2:
            continue
        try:
            info = info_of(target)
            driver = driver_of(info)
            if not isinstance(driver, BatchDriver):
                continue
            # a small run in the worker's process: no OpenMP threads spinning
            ctx = TaskContext(task=group[0], max_threads=1 if info.simulator else None)
            readouts = driver.execute_many(group, [t.circuit for t in group], ctx)
        except QRelayError as exc:
            log.info("%d tasks on %s: run one by one (%s)", len(group), target, exc)
            continue
        except Exception:  # a plugin's own error: each task meets it again and reports it
            log.exception("%d tasks on %s: run one by one", len(group), target)
            continue
        if len(readouts) != len(group):
            log.warning(
                "driver of %s gave %d results for %d tasks", target, len(readouts), len(group)
            )
            continue
        ran.update((task.task_id, rows) for task, rows in zip(group, readouts, strict=True))
    return ran
