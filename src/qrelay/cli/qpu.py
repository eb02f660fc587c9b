"""``qrelay qpu``: run an emulated QPU controller.

``qrelay qpu serve [--host 127.0.0.1] [--port P] [--devices square_qpu,...]`` serves the
fleet's devices over gRPC until interrupted (SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _devices(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def _serve(args: argparse.Namespace) -> int:
    from qrelay.qpu.fleet import fleet_device
    from qrelay.qpu.server import start_server

    devices = _devices(args.devices)
    for name in devices or []:
        fleet_device(name)  # refuses an unknown name, listing the fleet
    handle = start_server(
        host=args.host, port=args.port, devices=devices, seed=args.seed, warm=True
    )
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    stop_metrics: Callable[[], None] = _nothing
    if args.metrics_port is not None:
        from qrelay import exposition

        exposition.require()
        from qrelay.qpu.metrics import controller_registry

        try:
            stop_metrics = exposition.serve_registry(
                controller_registry(handle.controller),
                args.metrics_host or args.host,
                args.metrics_port,
            )
        except BaseException:
            handle.stop()
            raise
    names = ", ".join(handle.controller.device_names)
    sys.stdout.write(f"QPU controller listening on {handle.address} ({names})\n")
    sys.stdout.flush()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        log.info("stopping the QPU controller")
        stop_metrics()
        handle.stop()
    return 0


def _nothing() -> None:
    """Stops no metrics server."""


def register(subparsers: Any) -> None:
    """Add ``qpu serve`` to the ``qrelay`` parser."""
    qpu = subparsers.add_parser("qpu", help="run an emulated QPU controller (gRPC)")
    sub = qpu.add_subparsers(dest="qpu_command", metavar="SUBCOMMAND")
    serve = sub.add_parser("serve", help="serve fleet devices over gRPC")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=50051, help="port (0: any free port)")
    serve.add_argument(
        "--devices",
        default=None,
        help="comma-separated device names (default: the whole fleet)",
    )
    serve.add_argument("--seed", type=int, default=None, help="seed of shot and IQ noise")
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on this port (default: not at all)",
    )
    serve.add_argument(
        "--metrics-host", default=None, help="address of the metrics port (default: --host)"
    )
    serve.set_defaults(handler=_serve)
    qpu.set_defaults(handler=lambda _args: qpu.print_help() or 2)
