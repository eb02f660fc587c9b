"""The service app: :func:`create_app` builds it from :class:`~qrelay.settings.ServiceSettings`.

Start-up (the ASGI lifespan, or the first request when an ASGI transport skips the
lifespan) runs the migrations, installs the first admin from ``admin_token`` and starts a
background sweep that returns tasks with expired leases to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qrelay.runtime import tracing
from qrelay.service.auth import UserPrincipal, WorkerPrincipal
from qrelay.service.bodies import BodyParser
from qrelay.service.catalog import Catalog
from qrelay.service.handoff import IdleWorkers
from qrelay.service.notify import Notifier
from qrelay.service.operations import Offload, in_place
from qrelay.service.ratelimit import RateLimits
from qrelay.service.threads import ThreadPool
from qrelay.settings import ServiceSettings

if TYPE_CHECKING:
    from qrelay.service.pgnotify import PostgresRelay

log = logging.getLogger(__name__)

#: Seconds between checks that the job tables' planner statistics are current.
_STATISTICS_SECONDS: Final = 5.0


class ServiceRuntime:
    """What the routes share: settings, engine, store, catalog, notifier and caches."""

    def __init__(self, settings: ServiceSettings) -> None:
        from qrelay.service.db.engine import make_engine
        from qrelay.service.db.repo import Store

        self.settings = settings
        self.database_url = settings.resolved_database_url()
        self.catalog = Catalog.load(settings.targets_file)
        self.notifier = Notifier()
        #: Workers of this process waiting for a task, to hand new jobs to.
        self.idle = IdleWorkers()
        self.engine = make_engine(self.database_url)
        tracing.instrument_engine(self.engine)
        self.store = Store(
            self.engine,
            self.catalog,
            self.notifier,
            lease_seconds=settings.lease_seconds,
            max_attempts=settings.max_attempts,
            worker_liveness_seconds=settings.worker_liveness_seconds,
            max_unfinished_jobs=settings.max_unfinished_jobs,
            max_unfinished_circuits=settings.max_unfinished_circuits,
            max_result_bytes=settings.max_body_bytes,
        )
        # Changes made by other processes (PostgreSQL replicas, a CLI) show at this bound;
        # on PostgreSQL with psycopg they wake the waiters at once through the relay
        # started by start_sync, and the bound only covers the relay's outages.
        self.poll_interval = 0.5 if self.engine.dialect.name == "postgresql" else 1.0
        self._relay: PostgresRelay | None = None
        self.reclaim_interval = min(max(settings.lease_seconds / 4, 0.05), 2.0)
        on_loop = settings.store_on_loop
        if on_loop is None:
            on_loop = self.engine.dialect.name == "sqlite"
        #: The threads that run store calls off the event loop (see ``store_threads``).
        self.store_threads = ThreadPool(settings.store_threads, "qrelay-store")
        #: How the routes run a blocking store call (see ``ServiceSettings.store_on_loop``).
        self.offload: Offload = in_place if on_loop else self.store_threads.call
        self.auth_cache: dict[str, tuple[float, UserPrincipal | WorkerPrincipal]] = {}
        #: Parses large request bodies off the event loop (see :mod:`qrelay.service.bodies`).
        self.bodies = BodyParser(settings.parse_in_thread_bytes, settings.parse_threads)
        #: Counts requests per token against the limits of its role.
        self.rate_limits = RateLimits.from_settings(settings)
        self._started = False
        self._start_lock = threading.Lock()

    def start_sync(self) -> None:
        """Migrate and install the first admin, once."""
        with self._start_lock:
            if self._started:
                return
            from qrelay.service.bootstrap import install_admin
            from qrelay.service.db.migrate import upgrade

            upgrade(self.engine)
            if self.settings.admin_token is not None:
                install_admin(self.store, self.settings.admin_token.get_secret_value())
            if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "psycopg":
                from qrelay.service.pgnotify import PostgresRelay

                self._relay = PostgresRelay(self.notifier, self.database_url)
                self._relay.start()
                self.poll_interval = 2.0
            self._started = True

    async def ensure_started(self) -> None:
        """Start on first use when no lifespan ran (for example under an ASGI transport)."""
        if not self._started:
            await run_in_threadpool(self.start_sync)

    async def reclaim_forever(self) -> None:
        """Return expired leases to the queue at a steady, bounded pace; every few
        seconds, analyze the job tables that have outgrown their planner statistics (see
        :mod:`qrelay.service.db.statistics`)."""
        from qrelay.service.db import statistics

        next_check = 0.0
        while True:
            await asyncio.sleep(self.reclaim_interval)
            try:
                await run_in_threadpool(self.store.reclaim_expired)
            except Exception:
                log.exception("reclaiming expired leases failed; will retry")
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + _STATISTICS_SECONDS
                try:
                    await run_in_threadpool(statistics.refresh, self.engine)
                except Exception:
                    log.exception("analyzing the job tables failed; will retry")

    def close(self) -> None:
        if self._relay is not None:
            self._relay.close()
        self.bodies.close()
        self.store_threads.close()
        self.engine.dispose()


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The job service as an ASGI app."""
    from qrelay.service import metrics as service_metrics
    from qrelay.service import problems
    from qrelay.service.api import admin, audit, jobs, targets, worker
    from qrelay.service.limits import BodyLimit

    settings = settings or ServiceSettings.load()
    tracing.setup("qrelay-service")
    rt = ServiceRuntime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.ensure_started()
        sweeper = asyncio.create_task(rt.reclaim_forever())
        stop_metrics = service_metrics.start_port(app, settings)
        try:
            yield
        finally:
            stop_metrics()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            rt.close()

    app = FastAPI(
        title="qrelay job service",
        version="1",
        description="Jobs, targets, users and machine workers for qrelay.",
        lifespan=lifespan,
        # The docs page is served by ``qrelay.service.docs`` with assets from the package.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.runtime = rt
    tracing.instrument_app(app)
    problems.install(app)
    for module in (jobs, targets, admin, worker, audit):
        app.include_router(module.router)

    _install_health(app, rt)
    _install_openapi(app)
    _install_optional(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    service_metrics.install(app, rt)  # last: its timing covers the other middleware
    return app


def _install_health(app: FastAPI, rt: ServiceRuntime) -> None:
    """Add the liveness (``/healthz``) and readiness (``/readyz``) probes."""
    from qrelay.service import problems

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        """The database answers."""
        from sqlalchemy import text

        def ping() -> None:
            with rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await rt.ensure_started()
            await run_in_threadpool(ping)
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return problems.problem(
                503, "unavailable", "the database does not answer", retry_after=1
            )
        return JSONResponse({"status": "ready"})


def _install_optional(app: FastAPI, settings: ServiceSettings) -> None:
    """Add what the settings turn on: the docs page, the console and CORS."""
    if settings.docs_enabled:
        from qrelay.service.docs import install_docs

        install_docs(app)
    if settings.console_enabled:
        from qrelay.service.console import install_console

        install_console(app)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )


def _install_openapi(app: FastAPI) -> None:
    """Add the schemas of the bodies the routes parse themselves (for speed)."""
    from fastapi.openapi.utils import get_openapi
    from pydantic.json_schema import models_json_schema
    from pydantic.warnings import UnsupportedFieldAttributeWarning

    from qrelay.payload import (
        NewJob,
        NewUser,
        NewWorker,
        UpdateUserDetails,
        WorkerTaskResults,
        WorkerTaskStatus,
    )
    from qrelay.service.api.jobs import CancelRequest
    from qrelay.service.api.worker import HeartbeatRequest, LeaseRequest

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        with warnings.catch_warnings():
            # FastAPI's parameter fields trip a pydantic warning about 'alias' while the
            # document is generated; it changes nothing in the document.
            warnings.simplefilter("ignore", UnsupportedFieldAttributeWarning)
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
        _, defs = models_json_schema(
            [
                (model, "validation")
                for model in (
                    NewJob,
                    WorkerTaskResults,
                    WorkerTaskStatus,
                    NewUser,
                    NewWorker,
                    UpdateUserDetails,
                    CancelRequest,
                    LeaseRequest,
                    HeartbeatRequest,
                )
            ],
            ref_template="#/components/schemas/{model}",
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, item in defs.get("$defs", {}).items():
            components.setdefault(name, item)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
