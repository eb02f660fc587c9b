"""The worker: lease tasks, process them (:mod:`qrelay.worker.task`), lease the next.

A worker leases up to ``lease_batch`` queued tasks per request, each under a lease of its
own, and runs them one at a time. :meth:`Worker.stop` (the CLI calls it on SIGTERM) lets
the tasks it holds finish and post their results, then the loop ends: a drain, not an
abort. The request with the results leases the next tasks, so a busy worker makes one
request per batch of tasks.
What a worker keeps of its targets is in :mod:`qrelay.worker.targets`.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Mapping
from typing import Any, Final

from qrelay.errors import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    QRelayError,
    ServiceError,
    TransportError,
)
from qrelay.payload import TargetInfo, WorkerTask
from qrelay.plugins import DeviceDriver
from qrelay.runtime import tracing
from qrelay.runtime.retry import UNBOUNDED, RetryPolicy, call_with_retry
from qrelay.worker.api import WorkerApi, WorkerChannel
from qrelay.worker.targets import DEFAULT_COMPILER, TARGET_INFO_TTL, TargetCache
from qrelay.worker.task import TaskProcessor

__all__ = ["DEFAULT_COMPILER", "DEFAULT_LEASE_BATCH", "LEASE_RETRY", "TARGET_INFO_TTL", "Worker"]

log = logging.getLogger(__name__)

#: How :meth:`Worker.run` waits after a failed cycle (the service unreachable, or a
#: lease refused): up to 30 s between tries, jittered, for as long as the worker runs.
LEASE_RETRY: Final = RetryPolicy(
    max_retries=UNBOUNDED, deadline=math.inf, backoff_base=1.0, backoff_max=30.0
)


#: How many tasks a worker leases per request by default. Each is leased (and kept alive)
#: on its own, so a batch of brief tasks costs one request and one transaction where it
#: cost one per task; the service bounds it (``MAX_LEASE_TASKS``).
DEFAULT_LEASE_BATCH: Final = 8


class Worker(TaskProcessor):
    """A machine worker serving ``targets`` for the service at ``url``.

    ``driver_config`` goes to every driver's constructor (e.g. ``qpu_address`` for the
    ``qpu-grpc`` driver). ``api`` replaces the channel to the service (the embedded
    default's in-process one); ``target_infos`` gives target descriptions instead of
    asking the service, and ``drivers`` ready-made driver instances per target name (a
    driver not published as an entry point, e.g. one embedded in an application). With
    ``isolate`` (the default) simulations longer than a few milliseconds run in a child
    process (see :mod:`qrelay.worker.isolation`), started as the worker starts, or with
    ``warm_up=False`` when the first task needs it. ``lease_batch`` is how many tasks it
    leases per request once the tasks it gets run briefly in its own thread (small
    simulations); while they do not, it leases one at a time, leaving the rest queued
    for the other workers.
    """

    def __init__(
        self,
        url: str,
        token: str,
        targets: list[str],
        *,
        driver_config: Mapping[str, Any] | None = None,
        lease_wait: float = 10.0,
        heartbeat_seconds: float = 5.0,
        compiler: str = DEFAULT_COMPILER,
        target_infos: Mapping[str, TargetInfo] | None = None,
        drivers: Mapping[str, DeviceDriver] | None = None,
        isolate: bool = True,
        api: WorkerChannel | None = None,
        warm_up: bool = True,
        lease_batch: int = DEFAULT_LEASE_BATCH,
    ) -> None:
        if not targets:
            raise ConfigurationError("a worker needs at least one target to serve")
        channel: WorkerChannel = api or WorkerApi(url, token)
        cache = TargetCache(
            channel,
            infos=target_infos,
            drivers=drivers,
            driver_config=driver_config,
            compiler=compiler,
        )
        super().__init__(
            channel, cache, targets, heartbeat_seconds=heartbeat_seconds, isolate=isolate
        )
        self.lease_wait = lease_wait
        self.lease_batch = max(1, lease_batch)
        self.compiler_name = compiler
        tracing.setup("qrelay-worker", instrument=("grpc-client",))
        self.warm_up = warm_up

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Finish the current task (if any), then leave :meth:`run`."""
        self._stop.set()

    def close(self) -> None:
        """Close the HTTP client, the simulation process and drivers that hold connections."""
        self.api.close()
        self._pulse.close()
        self._process.close()
        self.cache.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(self, stop_event: threading.Event | None = None) -> None:
        """Lease and process tasks until :meth:`stop` (or ``stop_event`` is set)."""
        log.info("worker serving %s at %s", ", ".join(self.targets), self.api.url)
        if self.isolate and self.warm_up:
            threading.Thread(
                target=self._warm_up, name="qrelay-worker-warm-up", daemon=True
            ).start()
        pending: list[WorkerTask] = []

        def stopped() -> bool:
            return self._stop.is_set() or (stop_event is not None and stop_event.is_set())

        def retry_on(exc: Exception) -> bool:
            refused = isinstance(exc, AuthenticationError | PermissionDeniedError)
            return isinstance(exc, TransportError | ServiceError) and not refused and not stopped()

        while not stopped():
            # A task is processed once: if its cycle fails (the service is unreachable when
            # the result goes), the next cycle leases afresh rather than running it again.
            queued, pending = [pending], []
            try:
                pending = call_with_retry(
                    functools.partial(self._cycle_queued, queued),
                    LEASE_RETRY,
                    retry_on=retry_on,
                    stop=self._stop,
                    what="lease",
                    level=logging.WARNING,
                )
            except (TransportError, ServiceError) as exc:
                if isinstance(exc, AuthenticationError | PermissionDeniedError) or not stopped():
                    raise
                break
        if pending:  # leased with the last results: run them rather than strand them
            self.process_many(pending)
        log.info("worker stopped after %d task(s)", self.tasks_done)

    def _cycle_queued(self, queued: list[list[WorkerTask]]) -> list[WorkerTask]:
        """:meth:`_cycle` of the tasks ``queued`` holds on the first try; a retry finds
        them taken and leases afresh."""
        return self._cycle(queued.pop() if queued else [])

    def _warm_up(self) -> None:
        """Start the simulation process early, with the simulator drivers loaded."""
        try:
            drivers = sorted(
                {
                    info.driver
                    for info in (self.target_info(name) for name in self.targets)
                    if info.simulator and not self.cache.has_given_driver(info.name)
                }
            )
            if drivers:
                self._process.preload(drivers)
        except QRelayError as exc:
            log.info("warm-up skipped: %s", exc)

    def run_once(self, wait: float | None = None) -> bool:
        """Lease at most one task and process it. ``True`` when a task was processed."""
        task = self.api.lease(self._targets_now(), self.lease_wait if wait is None else wait)
        if task is None:
            return False
        self.process(task)
        return True

    def _cycle(self, pending: list[WorkerTask]) -> list[WorkerTask]:
        """One turn of :meth:`run`: process ``pending`` (or tasks leased now) and return
        the next tasks, which the results' request leased (empty: none came in time).

        Posting results and then long-polling for the next tasks would be two requests;
        the service takes both in one (``POST /v1/worker/results?lease=...``).
        """
        targets = self._targets_now()
        limit = self.lease_batch if self.all_brief else 1
        tasks = pending or self.api.lease_many(targets, self.lease_wait, limit)
        if not tasks:
            return []
        after = None if self._stop.is_set() else (targets, self.lease_wait, limit)
        return self.process_many(tasks, lease_next=after)

    def _targets_now(self) -> list[str]:
        targets = self._leasable_targets()
        if not targets:
            raise TransportError(
                "no device of " + ", ".join(self.targets) + " answers; leasing nothing"
            )
        return targets

    def _leasable_targets(self) -> list[str]:
        """The targets whose device answers now.

        A device target whose driver has ``reachable()`` (the ``qpu-grpc`` driver probes
        its controller) and says no is left out: its tasks stay queued instead of failing
        here, and a worker left with nothing to lease stops polling (see :meth:`run`'s
        backoff), so the service soon reports the target offline.
        """
        out = []
        for name in self.targets:
            if self.stopping:
                break  # no probe of a device while the worker leaves
            try:
                info = self.target_info(name)
                probe = None if info.simulator else getattr(self.driver(info), "reachable", None)
            except QRelayError:
                probe = None  # no info now: lease as before, the task reports the error
            if probe is None or probe():
                out.append(name)
        return out
