"""``qrelay worker``: run a machine worker for some targets.

``qrelay worker --url URL --token TOKEN --target NAME [--target NAME ...]
[--qpu-address HOST:PORT]``. Options left out come from ``QRELAY_*`` variables or the
``[profiles.<name>.worker]`` table of the config file (see :mod:`qrelay.settings`).
SIGTERM (or a first Ctrl-C) drains: the current task finishes and posts its result, then
the worker exits; a second Ctrl-C leaves at once (the task's lease then runs out and the
service hands it to another worker).
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qrelay.cli.tokens import add_token_options, token_from
from qrelay.errors import ConfigurationError

if TYPE_CHECKING:
    from qrelay.settings import WorkerSettings

log = logging.getLogger(__name__)


def _settings(args: argparse.Namespace) -> tuple[WorkerSettings, str, str]:
    """The worker's settings (the options given over the profile and environment), its
    service URL and its token; a missing URL, token or target is refused, naming the
    option."""
    from qrelay.settings import WorkerSettings

    settings = WorkerSettings.load(
        profile=args.profile,
        url=args.url,
        token=token_from(args),
        targets=args.target or None,
        qpu_address=args.qpu_address,
        lease_wait_seconds=args.lease_wait,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )
    if not settings.url:
        raise ConfigurationError("qrelay worker: give --url (or set QRELAY_URL)")
    if settings.token is None:
        raise ConfigurationError("qrelay worker: give --token (or set QRELAY_TOKEN)")
    if not settings.targets:
        raise ConfigurationError("qrelay worker: give at least one --target NAME")
    return settings, settings.url, settings.token.get_secret_value()


def _run(args: argparse.Namespace) -> int:
    """``qrelay worker``: serve the targets until SIGTERM or Ctrl-C (a second one leaves
    at once)."""
    from qrelay import exposition, logs
    from qrelay.worker import Worker

    settings, url, token = _settings(args)
    logs.use_format(settings.log_format)
    config: dict[str, Any] = {}
    if settings.qpu_address:
        config["qpu_address"] = settings.qpu_address
    worker = Worker(
        url,
        token,
        list(settings.targets),
        driver_config=config,
        lease_wait=settings.lease_wait_seconds,
        heartbeat_seconds=settings.heartbeat_seconds,
    )

    def _drain(signum: int, _frame: Any) -> None:
        if worker.stopping and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: leave now
        log.info("signal %d: finishing the current task, then stopping", signum)
        worker.stop()

    where = f", QPU controller {settings.qpu_address}" if settings.qpu_address else ""
    logs.announce(
        f"qrelay worker: serving {', '.join(settings.targets)} for {settings.url}{where}",
        settings.log_format,
    )
    stop_metrics: Callable[[], None] = _nothing
    if settings.metrics_port is not None:
        exposition.require()
        from qrelay.worker.metrics import WorkerMetrics

        registry = WorkerMetrics(worker).registry
        stop_metrics = exposition.serve_registry(
            registry, settings.metrics_host, settings.metrics_port
        )
    previous_term = signal.signal(signal.SIGTERM, _drain)
    previous_int = signal.signal(signal.SIGINT, _drain)
    try:
        worker.run()
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
        stop_metrics()
        worker.close()
    return 0


def _nothing() -> None:
    """Stops no metrics server."""


def register(subparsers: Any) -> None:
    """Add ``worker`` to the ``qrelay`` parser."""
    parser = subparsers.add_parser(
        "worker",
        help="run a machine worker that leases and runs tasks",
        description="Lease tasks for the given targets, run them on their device drivers "
        "and post the readout, until SIGTERM (which drains the current task).",
    )
    parser.add_argument("--url", default=None, help="the service's base URL")
    add_token_options(parser, what="worker token")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="a target to serve (repeat for several)",
    )
    parser.add_argument(
        "--qpu-address", default=None, metavar="HOST:PORT", help="the QPU controller"
    )
    parser.add_argument(
        "--lease-wait", type=float, default=None, metavar="S", help="long-poll seconds"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on this port (default: not at all)",
    )
    parser.add_argument(
        "--metrics-host", default=None, help="address of the metrics port (default 127.0.0.1)"
    )
    parser.add_argument("--profile", default=None, help="config-file profile to read")
    parser.set_defaults(handler=_run)
