"""``qrelay qpu serve``: a controller process that answers on loopback and stops on SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from qrelay.cli import qpu as qpu_cli
from qrelay.qpu import api

_SERVE = (
    "import argparse, sys; from qrelay.cli import qpu; p = argparse.ArgumentParser(); "
    "qpu.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))"
)


def test_register_parses_serve_options() -> None:
    parser = argparse.ArgumentParser()
    qpu_cli.register(parser.add_subparsers())
    args = parser.parse_args(["qpu", "serve", "--port", "0", "--devices", "square_qpu, ion_qpu"])
    assert args.host == "127.0.0.1"
    assert args.port == 0
    assert qpu_cli._devices(args.devices) == ["square_qpu", "ion_qpu"]


def test_serve_process_answers_and_stops() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, "qpu", "serve", "--port", "0", "--devices", "ion_qpu"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on 127.0.0.1:" in line
        address = line.split("listening on ")[1].split()[0]
        with api.QpuClient(gateway=address) as client:
            info = api.get_controller_info(client=client)
            assert [d["quantum_processor_id"] for d in info["devices"]] == ["ion_qpu"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
