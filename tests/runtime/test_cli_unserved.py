"""A service with no worker: the commands say that no worker serves the target.

The service is the real app on a SQLite file of its own, on loopback, with no worker at
all, so every catalog target is offline and a job waits forever.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from qrelay.cli import main

QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\n'


@pytest.fixture(scope="module")
def lonely(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """``--url`` and ``--token`` of a service that has no worker."""
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    from qrelay.embedded import _serve_http
    from qrelay.service.app import create_app
    from qrelay.settings import ServiceSettings

    home = tmp_path_factory.mktemp("no-workers")
    token = "qr_" + secrets.token_urlsafe(24)
    http = _serve_http(create_app(ServiceSettings(home=home, admin_token=token)))
    yield ["--url", http.url, "--token", token]
    http.stop()


def test_targets_show_that_no_worker_serves_them(
    lonely: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["targets", *lonely]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0][:5] == ["NAME", "QUBITS", "KIND", "STATUS", "WORKER"]
    square = next(row for row in rows if row[0] == "square_qpu")
    assert square[3:5] == ["offline", "none"]


def test_a_job_that_no_worker_serves_says_so(
    lonely: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.qasm"
    path.write_text(QASM, encoding="utf-8")
    argv = ["run", str(path), "-t", "square_qpu", "--timeout", "0.5", "--no-progress", *lonely]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("qrelay: error: job ")
    assert "after 0.5 s" in err
    assert "no worker serves 'square_qpu'" in err
    job_id = err.split()[3]
    assert main(["job", job_id, *lonely]) == 0
    assert "waiting: no worker serves 'square_qpu'" in capsys.readouterr().out
    assert main(["cancel", job_id, *lonely]) == 0
