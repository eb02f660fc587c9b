"""The ``qrelay`` command.

Each group of subcommands lives in its own module with a ``register(subparsers)`` function
that adds its parsers and sets ``handler`` on each. Modules import their heavy
dependencies inside the handlers, so ``qrelay --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

import stamina.instrumentation

from qrelay import logs
from qrelay.errors import ConfigurationError, QRelayError

#: The modules under ``qrelay.cli`` that contribute subcommands, in help order.
COMMAND_MODULES = ("client", "operate", "serve", "worker", "qpu", "ui")


def _version() -> str:
    """The installed distribution's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qrelay")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="qrelay",
        description="Run quantum circuits on qrelay targets, and operate the service.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("--version", action="version", version=f"qrelay {_version()}")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log lines as text or as JSON objects (default: $QRELAY_LOG_FORMAT, else text)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"qrelay.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qrelay`` script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format=logs.TEXT_FORMAT)
    # qrelay logs its retries itself (``qrelay.retry``, shown with -v); stamina's own
    # hooks would print a WARNING per retry.
    stamina.instrumentation.set_on_retry_hooks([])
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        logs.use_format(args.log_format or os.environ.get("QRELAY_LOG_FORMAT") or "text")
        return int(handler(args) or 0)
    except QRelayError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message held
        sys.stderr.write(f"qrelay: error: {message}\n")
        # As for a bad argument: the command cannot run as configured.
        return 2 if isinstance(exc, ConfigurationError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
