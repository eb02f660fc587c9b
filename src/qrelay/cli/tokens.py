"""Tokens for the commands, kept off the command line.

A token given as ``--token`` shows in ``ps`` to every user of the machine. The commands
also take ``--token-file PATH`` (the file's first line), or ``QRELAY_TOKEN`` from the
environment, which only the process's owner can read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from qrelay.errors import ConfigurationError


def add_token_options(group: Any, *, what: str = "API token") -> None:
    """Add ``--token`` and ``--token-file`` to an argument group or parser."""
    group.add_argument(
        "--token",
        help=f"{what} (default: $QRELAY_TOKEN or config); visible in `ps`, "
        "prefer --token-file or QRELAY_TOKEN",
    )
    group.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help=f"read the {what} from the first line of this file",
    )


def token_from(args: argparse.Namespace) -> str | None:
    """The token of ``--token`` or ``--token-file`` (``None``: neither was given)."""
    path: Path | None = getattr(args, "token_file", None)
    given: str | None = getattr(args, "token", None)
    if path is None:
        return given
    if given is not None:
        raise ConfigurationError("give --token or --token-file, not both")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"--token-file {str(path)!r}: {exc.strerror or exc}") from exc
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise ConfigurationError(f"--token-file {str(path)!r}: the file is empty")
    return token
