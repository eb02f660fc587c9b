"""``qrelay calibrations`` and ``qrelay maintenance`` against a real ``qrelay serve``.

The service is a subprocess on a SQLite file of its own, with no worker: the commands
only read and write its calibration history and maintenance windows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.reliability.procs import Stack

from qrelay.cli import main

TARGET = "square_qpu"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], list[str]]]:
    """``--url``/``--token-file`` of the admin, and of a plain user, of a running service."""
    home = tmp_path_factory.mktemp("operate")
    stack = Stack(home=home, database_url=f"sqlite:///{home / 'qrelay.db'}")
    stack.start_service()
    try:
        admin_file = home / "admin.token"
        admin_file.write_text(stack.admin_token + "\n", encoding="utf-8")
        user_file = home / "user.token"
        user_file.write_text(stack.new_user() + "\n", encoding="utf-8")
        yield (
            ["--url", stack.url, "--token-file", str(admin_file)],
            ["--url", stack.url, "--token-file", str(user_file)],
        )
    finally:
        if stack.service is not None:
            stack.service.stop()


def _snapshot(num_qubits: int, t1: float) -> dict[str, object]:
    qubits = [{"t1_us": t1 + i, "t2_us": t1 / 2, "readout_error": 0.01} for i in range(num_qubits)]
    gates = [{"op": "cz", "qubits": [0, 1], "error": 0.02, "duration_ns": 300}]
    return {"qubits": qubits, "gates": gates}


def _qubits(user: list[str], capsys: pytest.CaptureFixture[str]) -> int:
    assert main(["targets", "--show", TARGET, "--json", *user]) == 0
    return int(json.loads(capsys.readouterr().out)["num_qubits"])


def test_post_list_and_show_calibrations(
    served: tuple[list[str], list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, user = served
    n = _qubits(user, capsys)
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(_snapshot(n, 91.0)), encoding="utf-8")
    assert main(["calibrations", "post", TARGET, str(path), *admin]) == 0
    posted = capsys.readouterr()
    cal_id = posted.out.strip()
    assert posted.out == cal_id + "\n"  # the id alone, for a script
    assert f"{TARGET} is at calibration {cal_id}" in posted.err

    assert main(["calibrations", "list", TARGET, *user]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0][:3] == ["ID", "TAKEN", "(UTC)"]
    mine = next(row for row in rows if row[0] == cal_id)
    assert mine[3] == "operator"
    assert float(mine[4]) == pytest.approx(91.0 + (n - 1) / 2, abs=0.05)  # mean T1

    assert main(["calibrations", "list", TARGET, "--json", "--limit", "1", *user]) == 0
    page = json.loads(capsys.readouterr().out)
    assert len(page["calibrations"]) == 1

    assert main(["calibrations", "show", TARGET, cal_id, *user]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{cal_id} of {TARGET}, taken ")
    assert "(operator)" in out.splitlines()[0]
    assert any(line.split()[:2] == ["0", "91.0"] for line in out.splitlines())
    assert any(line.split()[:3] == ["cz", "0-1", "0.02"] for line in out.splitlines())


def test_bad_calibrations_name_the_field_and_change_nothing(
    served: tuple[list[str], list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, user = served
    n = _qubits(user, capsys)
    assert main(["calibrations", "list", TARGET, "--json", *user]) == 0
    before = json.loads(capsys.readouterr().out)

    short = tmp_path / "short.json"
    short.write_text(json.dumps(_snapshot(n - 1, 50.0)), encoding="utf-8")
    assert main(["calibrations", "post", TARGET, str(short), *admin]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "qubits:" in err
    assert f"has {n} qubits" in err

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["calibrations", "post", TARGET, str(broken), *admin]) == 2
    assert "FILE" in capsys.readouterr().err

    good = tmp_path / "good.json"
    good.write_text(json.dumps(_snapshot(n, 70.0)), encoding="utf-8")
    assert main(["calibrations", "post", TARGET, str(good), *user]) == 1  # not an admin
    assert len(capsys.readouterr().err.splitlines()) == 1

    assert main(["calibrations", "list", TARGET, "--from", "yesterday", *user]) == 2
    assert "--from: 'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
    assert main(["calibrations", "list", TARGET, "--limit", "0", *user]) == 2
    assert "--limit:" in capsys.readouterr().err
    assert main(["calibrations", "show", TARGET, "no-such-id", *user]) == 1
    assert "no-such-id" in capsys.readouterr().err
    assert main(["calibrations", "list", "no_such_target", *user]) == 1
    assert "target: no target 'no_such_target'" in capsys.readouterr().err

    assert main(["calibrations", "list", TARGET, "--json", *user]) == 0
    assert json.loads(capsys.readouterr().out) == before


def test_schedule_list_and_cancel_maintenance(
    served: tuple[list[str], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    admin, user = served
    target = "aer_simulator"
    schedule = ["maintenance", "schedule", target, *admin]
    argv = [*schedule, "--from", "2099-01-01T10:00", "--until", "2099-01-01T12:00"]
    assert main([*argv, "--reason", "cryostat service"]) == 0
    made = capsys.readouterr()
    window_id = made.out.strip()
    assert window_id.isdigit()
    assert "from 2099-01-01 10:00:00 to 2099-01-01 12:00:00 UTC" in made.err

    assert main(["maintenance", "list", target, *user]) == 0
    rows = [line.split(maxsplit=5) for line in capsys.readouterr().out.splitlines()]
    assert rows[0][0] == "ID"
    assert rows[1] == [
        window_id,
        "2099-01-01",
        "10:00:00",
        "2099-01-01",
        "12:00:00",
        "cryostat service",
    ]

    assert main(["maintenance", "cancel", target, window_id, *user]) == 1  # not an admin
    capsys.readouterr()
    assert main(["maintenance", "cancel", target, window_id, *admin]) == 0
    assert f"window {window_id} ended" in capsys.readouterr().err
    assert main(["maintenance", "list", target, *user]) == 0
    assert capsys.readouterr().out == f"no maintenance windows for {target}\n"


def test_bad_windows_name_the_option(
    served: tuple[list[str], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    admin, _user = served
    schedule = ["maintenance", "schedule", "aer_simulator", *admin]
    assert main([*schedule, "--until", "soon"]) == 2
    assert "--until: 'soon' is not an ISO 8601 time" in capsys.readouterr().err
    argv = [*schedule, "--from", "2099-01-02", "--until", "2099-01-01"]
    assert main(argv) == 2
    assert "--until: the window ends before it starts" in capsys.readouterr().err
    assert main(["maintenance", "cancel", "aer_simulator", "999999", *admin]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert main(["maintenance", "list", "aer_simulator", *admin]) == 0
    assert capsys.readouterr().out == "no maintenance windows for aer_simulator\n"


def test_maintenance_needs_a_token_and_says_which_command(
    served: tuple[list[str], list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("QRELAY_TOKEN", raising=False)
    url = served[0][:2]
    assert main(["maintenance", "list", "aer_simulator", *url]) == 2
    err = capsys.readouterr().err
    assert err == "qrelay: error: qrelay maintenance: give a token (--token-file or QRELAY_TOKEN)\n"
