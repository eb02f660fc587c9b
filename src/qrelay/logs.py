"""Log output of the long-running commands: text lines or JSON lines.

``qrelay --log-format json`` (or ``QRELAY_LOG_FORMAT=json``, or ``log_format`` in the
service's or worker's settings) writes one JSON object per record to standard error, with
``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus ``exc_info`` for an
exception. uvicorn's access records also carry ``client``, ``method``, ``path`` and
``status``. The messages are the same as in text form: nothing logs a token.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from qrelay.errors import ConfigurationError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, status = args
            entry.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of ``fmt`` (``text`` or ``json``)."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ConfigurationError(f"log_format: {fmt!r} is not one of {', '.join(FORMATS)}")


def use_format(fmt: str) -> None:
    """Give every handler of the root logger the formatter of ``fmt``."""
    chosen = formatter(fmt)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(chosen)


def announce(message: str, fmt: str, logger: str = "qrelay") -> None:
    """Write a command's one start line to standard error, at any verbosity.

    In text form it is the plain line a person reads; in JSON form it is one record like
    every other line, so a log collector reading JSON never meets a line it cannot parse.
    """
    if fmt == "json":
        record = logging.LogRecord(logger, logging.INFO, __file__, 0, message, None, None)
        line = JsonFormatter().format(record)
    else:
        line = message
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
