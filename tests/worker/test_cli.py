"""``qrelay worker``: its arguments and its refusals."""

from __future__ import annotations

import argparse

import pytest

from qrelay.cli import worker as worker_cli
from qrelay.errors import ConfigurationError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="qrelay")
    worker_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_worker_arguments_parse() -> None:
    args = _parse(
        [
            "worker",
            "--url",
            "http://127.0.0.1:1",
            "--token",
            "t",
            "--target",
            "aer_simulator",
            "--target",
            "square_qpu",
            "--qpu-address",
            "127.0.0.1:50051",
        ]
    )
    assert args.target == ["aer_simulator", "square_qpu"]
    assert args.qpu_address == "127.0.0.1:50051"
    assert args.handler is worker_cli._run


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["worker", "--token", "t", "--target", "aer_simulator"], "--url"),
        (["worker", "--url", "http://127.0.0.1:1", "--target", "aer_simulator"], "--token"),
        (["worker", "--url", "http://127.0.0.1:1", "--token", "t"], "--target"),
    ],
)
def test_missing_arguments_are_named(
    argv: list[str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("QRELAY_URL", "QRELAY_TOKEN", "QRELAY_TARGETS"):
        monkeypatch.delenv(var, raising=False)
    args = _parse(argv)
    with pytest.raises(ConfigurationError, match=needle):
        args.handler(args)
