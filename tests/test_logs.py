"""The JSON log format: one object per line, with the access log's fields split out."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from qrelay import logs
from qrelay.errors import ConfigurationError


def _record(name: str, msg: str, args: tuple[object, ...], exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            info = sys.exc_info()
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, info)


def test_a_record_is_one_line_of_json() -> None:
    line = logs.JsonFormatter().format(_record("qrelay.x", "task %s\nfailed", ("7",), exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "qrelay.x"
    assert entry["message"] == "task 7\nfailed"
    assert "RuntimeError: boom" in entry["exc_info"]
    assert entry["time"].endswith("+00:00")


def test_the_access_log_carries_its_fields() -> None:
    record = _record(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/v1/jobs", "1.1", 201),
    )
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["method"] == "POST"
    assert entry["path"] == "/v1/jobs"
    assert entry["status"] == 201
    assert entry["message"] == '127.0.0.1:5000 - "POST /v1/jobs HTTP/1.1" 201'


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="log_format: 'xml'"):
        logs.formatter("xml")


def test_the_cli_refuses_an_unknown_format_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qrelay.cli import main

    monkeypatch.setenv("QRELAY_LOG_FORMAT", "xml")
    root = logging.getLogger()
    saved = [(h, h.formatter) for h in root.handlers]
    try:
        assert main(["qpu", "serve", "--devices", "no_such_device"]) == 2  # a configuration error
    finally:
        for handler, fmt in saved:
            handler.setFormatter(fmt)
    assert "log_format: 'xml'" in capsys.readouterr().err
