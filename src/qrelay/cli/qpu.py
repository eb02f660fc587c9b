"""``qrelay qpu``: run an emulated QPU controller.

``qrelay qpu serve [--host 127.0.0.1] [--port P] [--devices square_qpu,...]`` serves the
fleet's devices over gRPC until interrupted (SIGINT or SIGTERM).

``--token-file`` (or ``QRELAY_QPU_TOKEN`` / ``QRELAY_QPU_TOKEN_FILE``) names the tokens a
caller must send; ``--tls-cert`` and ``--tls-key`` serve TLS; ``--max-message-bytes``
bounds one message. A token is never given on the command line, where ``ps`` shows it.

``--recalibrate-every SECONDS`` lets the devices drift (a seeded random walk of spread
``--drift``) and recalibrate on that period, so their calibration has a history.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qrelay.qpu.server import ServerHandle

log = logging.getLogger(__name__)


def _devices(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _serve(args: argparse.Namespace) -> int:
    """``qrelay qpu serve``: run a controller until SIGTERM or Ctrl-C."""
    from qrelay.qpu.fleet import fleet_device
    from qrelay.qpu.security import server_security
    from qrelay.qpu.server import start_server

    devices = _devices(args.devices)
    for name in devices or []:
        fleet_device(name)  # refuses an unknown name, listing the fleet
    security = server_security(
        qpu_token_file=args.token_file,
        qpu_tls_cert=args.tls_cert,
        qpu_tls_key=args.tls_key,
        qpu_max_message_bytes=args.max_message_bytes,
    )
    if not security.tokens and args.host not in _LOOPBACK:
        log.warning(
            "the QPU controller on %s takes calls without a token: anyone who reaches the "
            "port can run programs; set --token-file (or QRELAY_QPU_TOKEN) or firewall it",
            args.host,
        )
    handle = start_server(
        host=args.host,
        port=args.port,
        devices=devices,
        seed=args.seed,
        warm=True,
        security=security,
        drift=args.drift,
        recalibrate_seconds=args.recalibrate_every,
    )
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        stop_metrics = _serve_metrics(args, handle)
    except BaseException:
        handle.stop()
        raise
    names = ", ".join(handle.controller.device_names)
    guard = ("TLS" if security.tls else "plaintext") + (
        f", {len(security.tokens)} token(s)" if security.tokens else ", no token"
    )
    sys.stdout.write(f"QPU controller listening on {handle.address} ({names}; {guard})\n")
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


def _serve_metrics(args: argparse.Namespace, handle: ServerHandle) -> Callable[[], None]:
    """Serve the controller's metrics when ``--metrics-port`` asks; what stops them."""
    if args.metrics_port is None:
        return _nothing
    from qrelay import exposition

    exposition.require()
    from qrelay.qpu.metrics import controller_registry

    return exposition.serve_registry(
        controller_registry(handle.controller), args.metrics_host or args.host, args.metrics_port
    )


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
        "--recalibrate-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="drift and recalibrate every device on this period (default: never)",
    )
    serve.add_argument(
        "--drift",
        type=float,
        default=0.05,
        help="spread of one drift step, as a log-normal factor (default 0.05)",
    )
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
    serve.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="file of accepted tokens, one per line (default: QRELAY_QPU_TOKEN or "
        "QRELAY_QPU_TOKEN_FILE; none: every caller is let in)",
    )
    serve.add_argument(
        "--tls-cert", type=Path, default=None, help="PEM certificate chain: serve TLS"
    )
    serve.add_argument("--tls-key", type=Path, default=None, help="PEM private key for TLS")
    serve.add_argument(
        "--max-message-bytes",
        type=int,
        default=None,
        help="largest gRPC message each way (default 16 MiB)",
    )
    serve.set_defaults(handler=_serve)
    qpu.set_defaults(handler=lambda _args: qpu.print_help() or 2)
