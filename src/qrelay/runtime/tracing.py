"""OpenTelemetry tracing: one trace per job, across the client, service, worker and controller.

Off by default, and then free: nothing here imports OpenTelemetry, :func:`span` is a
shared no-op context and :func:`traceparent` is ``None``. It is on when
``QRELAY_OTEL=1``, or when a standard variable asks for traces (``OTEL_TRACES_EXPORTER``
other than ``none``, ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); it needs the ``otel`` extra
(``pip install 'qrelay[otel]'``).

Each process calls :func:`setup` once with its service name. Spans go to OTLP over HTTP
(the SDK's standard variables say where), to the console with
``OTEL_TRACES_EXPORTER=console``, or, with ``QRELAY_OTEL_FILE=PATH``, as JSON lines
appended to that file. The maintained instrumentations carry the W3C ``traceparent``:
httpx requests (the client), FastAPI requests and SQLAlchemy statements (the service),
and gRPC calls both ways (worker to controller). The service stores the submission's
``traceparent`` with the job; the worker continues that trace for the job's tasks
(:func:`continued`), and the controller continues the gRPC call's trace on the device
thread that runs the program.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeVar

log = logging.getLogger(__name__)

#: Turns tracing on (``1``, ``true``, ``yes``, ``on``).
ENV_ON: Final = "QRELAY_OTEL"
#: Appends finished spans to this file as JSON lines (a real SDK exporter, for tests
#: and for a machine without a collector).
ENV_FILE: Final = "QRELAY_OTEL_FILE"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_NOTHING: Final = contextlib.nullcontext()

_T = TypeVar("_T")
_lock = threading.Lock()
_ready: set[str] = set()


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether tracing is asked for, by ``QRELAY_OTEL`` or the standard ``OTEL_*``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_ON, "").strip().lower() in _TRUE:
        return True
    if env.get(ENV_ON, "").strip().lower() in {"0", "false", "no", "off"}:
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter and exporter != "none":
        return True
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def active() -> bool:
    """Whether :func:`setup` turned tracing on in this process."""
    return bool(_ready)


def setup(service_name: str, *, instrument: tuple[str, ...] = ()) -> bool:
    """Turn tracing on for this process if it is asked for; whether it is on.

    Installs a tracer provider named ``service_name`` (unless the process has one) with
    the exporter the environment names, and the instrumentations listed in
    ``instrument`` (``httpx``, ``grpc-client``, ``grpc-server``); FastAPI and SQLAlchemy
    are instrumented per app and engine (:func:`instrument_app`,
    :func:`instrument_engine`). Safe to call again.
    """
    if not enabled():
        return False
    with _lock:
        if not _ready:
            _provider(service_name)
            _ready.add("provider")
        for name in instrument:
            if name not in _ready:
                _instrument(name)
                _ready.add(name)
    return True


def _provider(service_name: str) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # the application made its own: use it
        return
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    path = os.environ.get(ENV_FILE)
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if path:
        stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (process-long)
        provider.add_span_processor(
            SimpleSpanProcessor(
                ConsoleSpanExporter(
                    out=stream, formatter=lambda span: span.to_json(indent=None) + "\n"
                )
            )
        )
    elif exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing on: service %s, exporter %s", name, "file" if path else exporter)


def _instrument(name: str) -> None:
    if name == "httpx":
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
    elif name == "grpc-client":
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient

        GrpcInstrumentorClient().instrument()  # type: ignore[no-untyped-call]
    elif name == "grpc-server":
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorServer

        GrpcInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    else:
        raise ValueError(f"no instrumentation named {name!r}")


def wrap_transport(transport: _T) -> _T:
    """The client's httpx transport, traced when tracing is asked for: each request is a
    span and carries its ``traceparent`` to the service."""
    if not setup("qrelay-client"):
        return transport
    from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport

    wrapped: _T = AsyncOpenTelemetryTransport(transport)  # type: ignore[arg-type]
    return wrapped


def instrument_app(app: Any) -> None:
    """Trace a FastAPI app's requests (the incoming ``traceparent`` is their parent)."""
    if active():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def instrument_engine(engine: Any) -> None:
    """Trace a SQLAlchemy engine's statements."""
    if active():
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine)


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A span named ``name`` around a block, child of the current one (a shared no-op
    when tracing is off)."""
    if not _ready:
        return _NOTHING
    from opentelemetry import trace

    values = {f"qrelay.{k}": v for k, v in attributes.items() if v is not None}
    return trace.get_tracer("qrelay").start_as_current_span(name, attributes=values)


def traceparent() -> str | None:
    """The current span's W3C ``traceparent`` (``None`` when off or outside a span)."""
    if not _ready:
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def continued(parent: str | None) -> contextlib.AbstractContextManager[Any]:
    """Make ``parent`` (a ``traceparent``) the current context in the block, so spans
    started in it join that trace (a shared no-op when off or ``None``)."""
    if not _ready or not parent:
        return _NOTHING
    return _attached(parent)


def record(name: str, start_ns: int, **attributes: Any) -> None:
    """A span named ``name`` that began at ``start_ns`` (``time.time_ns()``) and ends
    now, such as the time a program waited in a device queue (nothing when off)."""
    if not _ready:
        return
    from opentelemetry import trace

    values = {f"qrelay.{k}": v for k, v in attributes.items() if v is not None}
    trace.get_tracer("qrelay").start_span(name, start_time=start_ns, attributes=values).end()


@contextlib.contextmanager
def _attached(parent: str) -> Iterator[None]:
    from opentelemetry import context
    from opentelemetry.propagate import extract

    token = context.attach(extract({"traceparent": parent}))
    try:
        yield
    finally:
        context.detach(token)
