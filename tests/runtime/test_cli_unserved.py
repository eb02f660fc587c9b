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
    from qrelay.service.app import create_app
    from qrelay.service.loopback import serve_loopback
    from qrelay.settings import ServiceSettings

    home = tmp_path_factory.mktemp("no-workers")
    token = "qr_" + secrets.token_urlsafe(24)
    http = serve_loopback(create_app(ServiceSettings(home=home, admin_token=token)))
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


def test_admin_commands_manage_users_and_workers(
    lonely: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = lonely[1]
    admin_file = tmp_path / "admin.token"
    admin_file.write_text(lonely[3] + "\n", encoding="utf-8")
    admin = ["--url", url, "--token-file", str(admin_file)]
    create = ["admin", "user", "create", *admin, "--name", "Ada", "--email", "ada@example.org"]
    assert main([*create, "--balance", "10"]) == 0
    out = capsys.readouterr().out
    first = out.strip()
    assert out == first + "\n"  # the token alone, for a script to capture
    assert first

    assert main(["admin", "user", "list", *admin, "--email", "ada@example.org"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["USER", "ID", "NAME", "EMAIL", "ROLE", "BALANCE", "ACTIVE"]
    assert rows[1][1:] == ["Ada", "ada@example.org", "user", "10", "yes"]

    assert main(["admin", "user", "balance", *admin, "ada@example.org", "2500"]) == 0
    assert capsys.readouterr().out == "ada@example.org: balance 2500\n"
    assert main(["balance", "--url", url, "--token", first]) == 0
    assert capsys.readouterr().out == "2500\n"

    assert main(["admin", "user", "rotate-token", *admin, "ada@example.org"]) == 0
    second = capsys.readouterr().out.strip()
    assert second
    assert second != first
    assert main(["balance", "--url", url, "--token", first]) == 1  # the old token is revoked
    assert "qrelay: error: " in capsys.readouterr().err

    worker = ["admin", "worker", "create", *admin, "--name", "w1", "--target", "aer_simulator"]
    assert main(worker) == 0
    made = capsys.readouterr()
    worker_token = made.out.strip()
    assert worker_token
    worker_id = made.err.split()[1]
    assert main(["admin", "worker", "rotate-token", *admin, worker_id]) == 0
    rotated = capsys.readouterr().out.strip()
    assert rotated
    assert rotated != worker_token
    assert main(["admin", "worker", "revoke", *admin, worker_id]) == 0
    assert f"worker {worker_id} revoked" in capsys.readouterr().err
    assert main(["admin", "worker", "revoke", *admin, "no-such-worker"]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 1

    # a second user with the same email is refused in one line, and nothing changes
    assert main(create) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "ada@example.org" in err
    assert main(["admin", "user", "balance", *admin, "nobody@example.org", "1"]) == 1
    assert "no user with email 'nobody@example.org'" in capsys.readouterr().err


def test_admin_commands_need_a_url_and_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QRELAY_URL", raising=False)
    monkeypatch.delenv("QRELAY_TOKEN", raising=False)
    assert main(["admin", "user", "list"]) == 2
    assert "--url" in capsys.readouterr().err
    empty = tmp_path / "empty.token"
    empty.write_text("\n", encoding="utf-8")
    argv = ["admin", "user", "list", "--url", "http://127.0.0.1:1", "--token-file", str(empty)]
    assert main(argv) == 2
    assert "the file is empty" in capsys.readouterr().err
