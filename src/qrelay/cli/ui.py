"""``qrelay ui``: the web console of the embedded default, on this machine.

It starts the embedded default (the service, the fleet and a worker per target, in this
process, over the SQLite file under ``QRELAY_HOME``), prints the console's URL and where
the token to log in with is kept, and serves until Ctrl-C or SIGTERM. The embedded
default listens on loopback only, on a port chosen at start. A ``qrelay serve`` has its
console at ``/ui`` already; this command is for the service a notebook or script uses
when no URL is configured.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``qrelay ui`` to the ``qrelay`` parser."""
    ui = subparsers.add_parser(
        "ui", help="run the embedded default and print its web console's URL"
    )
    ui.add_argument(
        "--show-token",
        action="store_true",
        help="print the token to log in with too (it is kept in QRELAY_HOME/embedded.json)",
    )
    ui.set_defaults(handler=_ui)


def _ui(args: argparse.Namespace) -> int:
    from qrelay import embedded

    stack = embedded.start()
    done = threading.Event()

    def _leave(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _leave)
    signal.signal(signal.SIGINT, _leave)
    out = sys.stdout
    out.write(f"qrelay console: {stack.url}/ui/\n")
    if args.show_token:
        out.write(f"token: {stack.token}\n")
    else:
        out.write(
            f"log in with the token in {stack.home / embedded.STATE_FILE} "
            "(or run with --show-token)\n"
        )
    out.write("Ctrl-C stops it.\n")
    out.flush()
    while not done.wait(0.5):
        pass
    embedded.stop()
    return 0
