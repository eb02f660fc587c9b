"""The embedded default: the whole stack inside this process, started on first use.

With no service URL configured anywhere, the first client or provider calls
:func:`start`, which brings up, in this process:

- the job service (:func:`qrelay.service.app.create_app`) on a SQLite file under
  :func:`qrelay.settings.qrelay_home`, served by uvicorn on ``127.0.0.1`` with an ephemeral
  port on the runtime's event loop;
- a worker for a target, in a daemon thread, when the target's first job comes (or at
  start, for a target with jobs queued by an earlier process);
- the emulated QPU fleet's gRPC controller on loopback (:func:`start_fleet`), when a QPU
  target's worker first starts.

A short script that runs one Bell job so starts the service and one simulator worker,
nothing else: no fleet, no worker for the targets it does not use, and no simulation
child process unless a job is too big to run in the worker's thread.

The clients and workers of this process reach the service without HTTP, through
:mod:`qrelay.service.local` (the same operations the routes call); the HTTP port serves
anything else, such as a client on another event loop or the shell's ``qrelay`` pointed
at :attr:`EmbeddedStack.url`.

The user token is kept in ``QRELAY_HOME/embedded.json`` (mode 0600), so the jobs of one
run can be retrieved by a later process on the same home. The service is up when
:func:`start` returns; its database is brought up to date in the background (a job
submitted before that waits for it). Everything stops at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qrelay.errors import ConfigurationError
from qrelay.settings import embedded_database_url, private_dir, qrelay_home

if TYPE_CHECKING:
    from qrelay.payload import NewJob, WorkerTask
    from qrelay.qpu.server import ServerHandle
    from qrelay.service.app import ServiceRuntime
    from qrelay.service.auth import WorkerPrincipal
    from qrelay.service.local import LocalChannel, LocalWorkerApi
    from qrelay.service.loopback import LoopbackServer
    from qrelay.worker import Worker

log = logging.getLogger(__name__)

#: The file under ``QRELAY_HOME`` holding the embedded user's token.
STATE_FILE = "embedded.json"
#: How long an idle embedded worker's lease request waits on the service.
_LEASE_WAIT = 20.0
#: At stop, how long the worker threads get to leave once their simulations are killed
#: (a task left unfinished keeps its lease until it lapses, then runs again).
_STOP_GRACE = 1.0
#: Longest wait for the HTTP server to start listening, or the database to be ready.
_START_TIMEOUT = 30.0
#: The most circuits of a job run on the thread that submitted it (each one brief).
_BRIEF_CIRCUITS = 256
#: The notification key of a target's queue (see :class:`qrelay.service.notify.Notifier`).
_TARGET_KEY = "target:"

_lock = threading.Lock()
_fleet_lock = threading.Lock()
_stack: EmbeddedStack | None = None
_fleet: ServerHandle | None = None


@dataclass
class EmbeddedStack:
    """The running embedded default: where it listens and what it runs."""

    url: str
    token: str
    home: Path
    database_url: str
    started_in: float
    app: Any = field(repr=False, default=None)
    _http: LoopbackServer | None = field(repr=False, default=None)
    _by_target: dict[str, tuple[Worker, LocalWorkerApi]] = field(repr=False, default_factory=dict)
    _workers: list[Any] = field(repr=False, default_factory=list)
    _worker_threads: list[threading.Thread] = field(repr=False, default_factory=list)
    _background: threading.Thread | None = field(repr=False, default=None)
    _worker_token: str | None = field(repr=False, default=None)
    _launching: threading.Lock = field(repr=False, default_factory=threading.Lock)
    _settled: set[str] = field(repr=False, default_factory=set)
    ready: threading.Event = field(repr=False, default_factory=threading.Event)
    stopping: threading.Event = field(repr=False, default_factory=threading.Event)

    @property
    def runtime(self) -> ServiceRuntime:
        """The service's runtime (its store, catalog and notifier)."""
        rt: ServiceRuntime = self.app.state.runtime
        return rt

    def channel(self, token: str) -> LocalChannel:
        """A client channel into the service, acting for ``token``'s user, without HTTP."""
        from qrelay.service.local import LocalChannel

        return LocalChannel(self.runtime, token, self.url, runner=_BriefJobs(self))

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the database is up to date and workers can start; whether it was
        in time."""
        return self.ready.wait(timeout)

    def worker_for(self, target: str) -> tuple[Worker, LocalWorkerApi] | None:
        """The worker of ``target``, started now if this is its first job.

        ``None`` for a name the catalog does not hold, or once the stack stops. A QPU
        target's worker starts the fleet first (:func:`start_fleet`).
        """
        found = self._by_target.get(target)
        if found is not None:
            return found
        info = self.runtime.catalog.get(target)
        if info is None or not self.ready.wait(_START_TIMEOUT) or self._worker_token is None:
            return None
        with self._launching:
            found = self._by_target.get(target)
            if found is None and not self.stopping.is_set():
                config: dict[str, Any] = {}
                if not info.simulator:
                    fleet = start_fleet()
                    config = {"qpu_address": fleet.address, "qpu_token": fleet.token}
                found = self._launch(target, config)
            return found

    def _launch(self, target: str, config: dict[str, Any]) -> tuple[Worker, LocalWorkerApi]:
        """Start ``target``'s worker in a daemon thread (under ``_launching``)."""
        from qrelay.service.local import LocalWorkerApi
        from qrelay.worker import Worker

        assert self._worker_token is not None
        api = LocalWorkerApi(self.runtime, self._worker_token, self.url)
        worker = Worker(
            self.url,
            self._worker_token,
            [target],
            driver_config=config,
            lease_wait=_LEASE_WAIT,
            api=api,
            warm_up=False,  # the simulation child starts with the first task that needs it
        )
        thread = threading.Thread(
            target=worker.run, name=f"qrelay-embedded-worker-{target}", daemon=True
        )
        self._workers.append(worker)
        self._worker_threads.append(thread)
        self._by_target[target] = (worker, api)
        thread.start()
        log.info("embedded: worker for %s started", target)
        return worker, api

    def settle_heap(self, target: str) -> None:
        """After ``target``'s first brief job, move everything alive out of the garbage
        collector's reach (``gc.freeze``), as at start.

        That job imported and built what the target's jobs use (its driver, the simulator,
        their caches): tens of thousands of objects that every full collection would sweep
        again for nothing (about 5 ms a sweep, one every few jobs of 100 circuits). The
        simulation child does the same once its driver is built
        (:mod:`qrelay.worker._child`). The young generations are collected first, so the
        job's own cyclic garbage is not kept for good (a millisecond or so, once).
        """
        if target not in self._settled:
            self._settled.add(target)
            gc.collect(1)
            gc.freeze()

    def _on_notified(self, key: str) -> None:
        """The service woke ``target:<name>`` (a job was queued): make sure a worker runs
        for that target, starting it in a thread of its own (this is a writer's thread)."""
        if not key.startswith(_TARGET_KEY) or self.stopping.is_set():
            return
        target = key[len(_TARGET_KEY) :]
        if target in self._by_target or self.runtime.catalog.get(target) is None:
            return
        threading.Thread(
            target=self.worker_for, args=(target,), name="qrelay-embedded-launch", daemon=True
        ).start()

    def stop(self, *, at_exit: bool = False) -> None:
        """Stop the workers, the HTTP server and the fleet at once (idempotent).

        A simulation still running is killed with its child process, not awaited: its
        task's lease lapses and the service hands the task out again, so the job runs on
        the next start (a job the user abandoned is cancelled by the client instead).
        ``at_exit``: the interpreter is exiting, so the HTTP server is told to stop but
        not waited for (uvicorn's shutdown takes 0.1-0.2 s of fixed pauses; at exit it
        has nothing to save: every change is committed, and the process's end closes the
        sockets and the database file).
        """
        self.stopping.set()
        self.ready.wait(timeout=5.0)  # let a start in progress finish first
        with self._launching:  # a worker starting now is in the lists below once it has
            pass
        for worker in self._workers:
            worker.stop()
        for _worker, api in list(self._by_target.values()):
            api.close()  # idle workers wait for a lease: they leave now, with no task
        for worker in self._workers:
            worker.close()  # kills a running simulation's child: nothing waits on it
        deadline = time.monotonic() + _STOP_GRACE
        for thread in self._worker_threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._http is not None:
            self._http.stop(timeout=0.0 if at_exit else 3.0)
        stop_fleet()


class _BriefJobs:
    """The embedded workers as the client channel's ``BriefRunner``.

    A job of small simulations (see :func:`~qrelay.payload.workload.small_simulation_job`
    and :meth:`qrelay.worker.Worker.runs_small_simulations`) is run by its target's worker
    object on the thread that submitted it, its circuits simulated together (see
    :meth:`qrelay.worker.Worker.process_many`), through the same leases, processing and
    results as in the worker's own thread.
    """

    def __init__(self, stack: EmbeddedStack) -> None:
        self._stack = stack

    def claims(self, job: NewJob) -> WorkerPrincipal | None:
        """The target's worker, when ``job`` is a few (:data:`_BRIEF_CIRCUITS`) small
        simulations it runs in its own thread: a list of them runs here as one job does."""
        from qrelay.payload.workload import small_simulation_job

        if job.num_circuits > _BRIEF_CIRCUITS or self._stack.stopping.is_set():
            return None
        found = self._stack.worker_for(job.target)
        if found is None:
            return None
        worker, api = found
        small = worker.runs_small_simulations(
            job.target, verbatim=job.verbatim
        ) and small_simulation_job(job)
        return api.principal() if small else None

    def run(self, tasks: list[WorkerTask]) -> None:
        target = tasks[0].target
        worker, _api = self._stack._by_target[target]
        worker.process_many(tasks)
        self._stack.settle_heap(target)


# ---------------------------------------------------------------------- state
def _load_state(home: Path) -> dict[str, Any]:
    path = home / STATE_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"embedded state {path} is unreadable ({exc})") from exc
    return data if isinstance(data, dict) else {}


def _save_state(home: Path, state: dict[str, Any]) -> None:
    path = home / STATE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """An exclusive lock on ``QRELAY_HOME`` (between processes starting at the same time)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, a rare race remains
        yield
        return
    fd = os.open(home / "embedded.lock", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _local_token(home: Path) -> str:
    """The local user's token: read from the state file, or made once and saved there."""
    with _home_lock(home):
        state = _load_state(home)
        token = state.get("token")
        if not isinstance(token, str) or not token:
            token = "qr_" + secrets.token_urlsafe(32)
            state["token"] = token
            _save_state(home, state)
        return token


# ---------------------------------------------------------------------- fleet
def start_fleet() -> ServerHandle:
    """The emulated fleet's controller on loopback, started once per process.

    It accepts one random token made for this process (``handle.token``), which the
    embedded workers and the direct provider send: other local users cannot call it.
    """
    global _fleet
    with _fleet_lock:
        if _fleet is None:
            import secrets

            from qrelay.qpu.security import ServerSecurity
            from qrelay.qpu.server import start_server

            security = ServerSecurity(tokens=(secrets.token_urlsafe(32),))
            _fleet = start_server(host="127.0.0.1", port=0, security=security)
            log.info("embedded: QPU controller on %s", _fleet.address)
        return _fleet


def stop_fleet() -> None:
    """Stop the embedded controller if it runs."""
    global _fleet
    with _fleet_lock:
        handle, _fleet = _fleet, None
    if handle is not None:
        handle.stop(grace=0.5)


# ---------------------------------------------------------------------- service
def _start_stack() -> EmbeddedStack:
    started = time.perf_counter()
    from qrelay.service.app import create_app
    from qrelay.settings import ServiceSettings

    home = private_dir(qrelay_home())
    database_url = embedded_database_url(home)
    token = _local_token(home)
    # The app's start-up migrates the database and makes this token the admin's (the
    # local user owns the embedded service; admins are not charged).
    app = create_app(ServiceSettings(home=home, database_url=database_url, admin_token=token))
    gc.freeze()  # the heavy imports are done: keep their objects out of gen-2 sweeps
    from qrelay.runtime._loop import background_loop
    from qrelay.service.loopback import serve_loopback

    http = serve_loopback(app, background_loop(), timeout=_START_TIMEOUT)
    stack = EmbeddedStack(
        url=http.url,
        token=token,
        home=home,
        database_url=database_url,
        started_in=time.perf_counter() - started,
        app=app,
        _http=http,
    )
    background = threading.Thread(
        target=_start_devices, args=(stack,), name="qrelay-embedded-start", daemon=True
    )
    stack._background = background
    background.start()
    log.info("embedded: service on %s (%.0f ms)", stack.url, 1e3 * stack.started_in)
    return stack


def _start_devices(stack: EmbeddedStack) -> None:
    """Bring the database up to date and make the workers' token (in the background).

    The workers reach the service in process (:class:`qrelay.service.local.LocalWorkerApi`)
    with a worker token of their own, made here as an admin would make one. No worker
    starts here, except for targets that have jobs queued already (by an earlier process
    on this home); the others start with their target's first job
    (:meth:`EmbeddedStack.worker_for`).
    """
    try:
        from qrelay.service.auth import WORKER_PREFIX, new_token

        rt = stack.runtime
        rt.start_sync()
        worker_token = new_token(WORKER_PREFIX)
        rt.store.create_worker("embedded", rt.catalog.names(), worker_token, None)
        stack._worker_token = worker_token
        rt.notifier.on_notify(stack._on_notified)
        queued = sorted(name for name, depth in rt.store.queue_depths().items() if depth)
    except Exception:
        log.exception("embedded: starting the service failed; jobs will wait in the queue")
        queued = []
    finally:
        stack.ready.set()
    for name in queued:
        stack.worker_for(name)


# ---------------------------------------------------------------------- public
def start() -> EmbeddedStack:
    """The embedded default, started now if it is not running yet (thread-safe)."""
    global _stack
    stack = _stack
    if stack is not None:
        return stack
    with _lock:
        if _stack is None:
            _stack = _start_stack()
            atexit.register(_stop_at_exit)
        return _stack


def running() -> EmbeddedStack | None:
    """The embedded default if it was started in this process, else ``None``."""
    return _stack


def stop() -> None:
    """Stop the embedded default (safe to call twice)."""
    _stop(at_exit=False)


def _stop_at_exit() -> None:
    """:func:`stop` as the interpreter exits (see :meth:`EmbeddedStack.stop`)."""
    _stop(at_exit=True)


def _stop(*, at_exit: bool) -> None:
    global _stack
    with _lock:
        stack, _stack = _stack, None
    if stack is not None:
        stack.stop(at_exit=at_exit)
    else:
        stop_fleet()
