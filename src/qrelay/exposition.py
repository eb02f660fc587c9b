"""Serving a Prometheus registry on a port of its own, for the long-running commands.

``qrelay serve --metrics-port``, ``qrelay worker --metrics-port`` and ``qrelay qpu serve
--metrics-port`` each serve their process's registry with :func:`serve_registry`. The
``prometheus-client`` package comes with the ``server`` extra.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from qrelay.errors import ConfigurationError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)


def require() -> None:
    """Check that ``prometheus-client`` is installed; a clear error if not."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "metrics need the prometheus-client package: pip install 'qrelay[server]'"
        ) from exc


def serve_registry(registry: CollectorRegistry, host: str, port: int) -> Callable[[], None]:
    """Serve ``registry`` at ``http://host:port/metrics`` in a thread; gives the function
    that stops it. A port that is taken is a :class:`ConfigurationError`."""
    from prometheus_client import start_http_server

    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigurationError(f"metrics_port: cannot listen on {host}:{port} ({exc})") from exc
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
