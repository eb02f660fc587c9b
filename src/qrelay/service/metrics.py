"""Prometheus metrics of the job service: ``/metrics`` on the app, or on a port of its own.

:class:`ServiceMetrics` owns a registry of its own (not the library's global one), so
several services in one process count apart. It is the store's
:class:`~qrelay.service.events.StoreEvents` (jobs, leases, charges), wraps the app in
:class:`HttpMetrics` (requests by route template and status) and reads the queues at
scrape time (:class:`QueueCollector`). Per request the cost is one counter increment and
one histogram observation.

Access (``ServiceSettings``): with ``metrics_port`` the metrics are served on that port
alone; with ``metrics_token`` (or ``metrics_on_app``) ``GET /metrics`` on the app answers
that token or an admin's. With none of them nothing is collected or served.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrelay.exposition import serve_registry
from qrelay.service import money
from qrelay.service.events import StoreEvents

if TYPE_CHECKING:
    from qrelay.service.app import ServiceRuntime
    from qrelay.service.db.repo import Store
    from qrelay.settings import ServiceSettings

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Latency buckets (seconds) of the job histograms: from a brief simulation to a long queue.
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)
#: Latency buckets (seconds) of HTTP requests (long polls land in the last ones).
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60)
#: The most leases whose start time is kept for the start-to-finish histogram.
_MAX_STARTS = 100_000
#: Scrapes closer together than this reuse the last queue reading.
QUEUE_READ_EVERY = 2.0


class ServiceMetrics(StoreEvents):
    """The service's counters and histograms, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Declare every metric of the service on ``registry`` (a fresh one by default).

        One flat list of declarations, each a name, its help text and its labels, read
        top to bottom as ``/metrics`` lists them; split up, it would only scatter it.
        """
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.jobs_submitted = Counter(
            "qrelay_jobs_submitted",
            "Jobs queued (replays and dry runs excluded).",
            ["target"],
            registry=r,
        )
        self.jobs_ended = Counter(
            "qrelay_jobs_ended",
            "Jobs that reached a terminal status (completed, failed, cancelled).",
            ["target", "status"],
            registry=r,
        )
        self.wait_seconds = Histogram(
            "qrelay_job_queue_seconds",
            "Submission to the first lease of a task (seconds).",
            ["target"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.run_seconds = Histogram(
            "qrelay_task_run_seconds",
            "Lease to posted result of a task (seconds).",
            ["target"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.leases_granted = Counter(
            "qrelay_leases_granted", "Tasks leased to workers.", ["target"], registry=r
        )
        self.leases_expired_total = Counter(
            "qrelay_leases_expired",
            "Leases that ran out before a result came.",
            ["target"],
            registry=r,
        )
        self.leases_fenced = Counter(
            "qrelay_leases_fenced",
            "Worker calls refused 409 lease_lost: the lease was no longer current.",
            registry=r,
        )
        self.charged_total = Counter(
            "qrelay_balance_charged",
            "Money charged to users' balances for results (units).",
            ["target"],
            registry=r,
        )
        self.db_errors = Counter(
            "qrelay_db_errors",
            "Database errors that reached a request, by SQLAlchemy error class.",
            ["kind"],
            registry=r,
        )
        self.http_requests = Counter(
            "qrelay_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "qrelay_http_request_seconds",
            "Time to answer an HTTP request, by route template (long polls included).",
            ["route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self._starts: dict[str, float] = {}
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._starts_lock = threading.Lock()

    # ---------------------------------------------------------------- store events
    def job_submitted(self, target: str) -> None:
        self.jobs_submitted.labels(target).inc()

    def job_ended(self, target: str, status: str) -> None:
        self.jobs_ended.labels(target, status).inc()

    def task_leased(self, target: str, lease_id: str, submitted_at: datetime | None) -> None:
        self.leases_granted.labels(target).inc()
        if submitted_at is not None:
            waited = (datetime.now(UTC) - submitted_at).total_seconds()
            self.wait_seconds.labels(target).observe(max(waited, 0.0))
        with self._starts_lock:
            if len(self._starts) >= _MAX_STARTS:
                self._starts.pop(next(iter(self._starts)))
            self._starts[lease_id] = time.monotonic()

    def task_ended(self, target: str, lease_id: str, status: str) -> None:
        with self._starts_lock:
            started = self._starts.pop(lease_id, None)
        if started is not None:  # leased by another replica, or before a restart: unknown
            self.run_seconds.labels(target).observe(time.monotonic() - started)

    def leases_expired(self, target: str, count: int) -> None:
        self.leases_expired_total.labels(target).inc(count)

    def lease_fenced(self) -> None:
        self.leases_fenced.inc()

    def charged(self, target: str, micros: int) -> None:
        self.charged_total.labels(target).inc(money.from_micros(micros))

    # ---------------------------------------------------------------- requests
    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        found = self._http_children.get(key)
        if found is None:  # label lookups take a lock: done once per key
            found = self._http_children[key] = (
                self.http_requests.labels(method, route, str(status)),
                self.http_seconds.labels(route),
            )
        found[0].inc()
        found[1].observe(seconds)

    def counting_db_errors(self, offload: Callable[..., Any]) -> Callable[..., Any]:
        """``offload`` (how routes run store calls) counting the database errors it raises."""

        async def counted(fn: Callable[..., _T], *args: Any) -> _T:
            try:
                result: _T = await offload(fn, *args)
            except DBAPIError as exc:
                self.db_errors.labels(type(exc).__name__).inc()
                raise
            return result

        return counted

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class QueueCollector(Collector):
    """Queue depth and the age of the oldest queued task, by target and priority.

    Read from the database when scraped, in one grouped query over queued tasks (its cost
    follows the queue, not the history), and reused for scrapes within
    :data:`QUEUE_READ_EVERY` seconds of each other.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._rows: list[tuple[str, int, int, datetime | None]] = []

    def _read(self) -> list[tuple[str, int, int, datetime | None]]:
        from qrelay.service.db.engine import read
        from qrelay.service.db.tables import QUEUED, one_of, tasks

        stmt = (
            select(tasks.c.target, tasks.c.priority, func.count(), func.min(tasks.c.updated_at))
            .where(one_of(tasks.c.status, QUEUED))
            .group_by(tasks.c.target, tasks.c.priority)
        )
        with read(self.store.engine) as conn:
            return [(t, int(p), int(n), oldest) for t, p, n, oldest in conn.execute(stmt)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            if time.monotonic() - self._read_at >= QUEUE_READ_EVERY:
                try:
                    self._rows = self._read()
                except DBAPIError as exc:
                    log.warning("metrics: reading the queue failed: %s", exc)
                    self._rows = []
                self._read_at = time.monotonic()
            found = list(self._rows)
        depth = GaugeMetricFamily(
            "qrelay_queue_depth",
            "Tasks queued, by target and priority.",
            labels=["target", "priority"],
        )
        age = GaugeMetricFamily(
            "qrelay_queue_oldest_seconds",
            "Age of the oldest queued task (since it was queued), by target and priority.",
            labels=["target", "priority"],
        )
        now = datetime.now(UTC)
        for target, priority, count, oldest in found:
            depth.add_metric([target, str(priority)], count)
            if oldest is not None:
                since = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
                age.add_metric([target, str(priority)], max((now - since).total_seconds(), 0.0))
        yield depth
        yield age


class HttpMetrics:
    """Plain ASGI middleware: one counter increment and one observation per request.

    The route is the matched template (``/v1/jobs/{job_id}``), never the raw path, so
    the labels stay few; a request no route matched is ``unmatched``.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.request(scope["method"], route, status, time.perf_counter() - start)


def metrics_enabled(rt: ServiceRuntime) -> bool:
    """Whether the settings expose the metrics anywhere (else none are collected)."""
    s = rt.settings
    return s.metrics_port is not None or s.metrics_token is not None or s.metrics_on_app


def install(app: FastAPI, rt: ServiceRuntime) -> ServiceMetrics | None:
    """Collect the service's metrics and expose them as the settings say; ``None`` if off.

    Call it after the other middleware is added, so the request timing covers them.
    """
    if not metrics_enabled(rt):
        return None
    from qrelay.service.api.deps import admin

    metrics = ServiceMetrics()
    metrics.registry.register(QueueCollector(rt.store))
    rt.store.events = metrics
    rt.offload = metrics.counting_db_errors(rt.offload)
    app.state.metrics = metrics
    app.add_middleware(HttpMetrics, metrics=metrics)
    settings = rt.settings
    if settings.metrics_token is None and not settings.metrics_on_app:
        return metrics
    expected = (
        settings.metrics_token.get_secret_value().encode()
        if settings.metrics_token is not None
        else None
    )

    @app.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        """The metrics, for the metrics token or an admin."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        allowed = (
            expected is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), expected)
        )
        if not allowed:
            await admin(request)  # 401 / 403 for anyone else
        body = await rt.offload(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics


def start_port(app: FastAPI, settings: ServiceSettings) -> Callable[[], None]:
    """Serve the app's metrics on ``metrics_port`` (if set) until the function given is
    called; the port listens on the service's own ``host``."""
    metrics: ServiceMetrics | None = getattr(app.state, "metrics", None)
    if metrics is None or settings.metrics_port is None:
        return lambda: None
    return serve_registry(metrics.registry, settings.host, settings.metrics_port)
