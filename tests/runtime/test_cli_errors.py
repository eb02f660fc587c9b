"""Every mistake a user can make on the command line is one line, ``qrelay: error: ...``.

No traceback, no pydantic text with its URL: the line names the flag's field and what is
allowed, the URL of a service that is not there and where it came from, the database
URL of an operator command (its password masked).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qrelay.cli import main

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\n'


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("qrelay: error: "), err
    assert "Traceback" not in err
    assert "errors.pydantic.dev" not in err
    return lines[0]


@pytest.fixture
def qasm(tmp_path: Path) -> Path:
    path = tmp_path / "one.qasm"
    path.write_text(BELL, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--shots", "0"], ["shots", "1 to 10000000"]),
        (["--shots", "-5"], ["shots", "1 to 10000000"]),
        (["--shots", "1000000000"], ["shots", "1 to 10000000"]),
    ],
)
def test_run_with_bad_shots(
    qasm: Path, flags: list[str], needles: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(qasm), *flags]) == 1
    line = _one_error_line(capsys.readouterr().err)
    for needle in needles:
        assert needle in line


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--status", "bogus"], ["status", "'completed'"]),
        (["--limit", "0"], ["limit", "1 to 500"]),
    ],
)
def test_jobs_with_bad_filters(
    flags: list[str], needles: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", *flags]) == 1
    line = _one_error_line(capsys.readouterr().err)
    for needle in needles:
        assert needle in line


def test_an_empty_qasm_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.qasm"
    empty.write_text("\n  \n", encoding="utf-8")
    assert main(["run", str(empty)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "empty.qasm" in line
    assert "the file is empty" in line


def test_a_url_without_a_scheme_fails_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--url", "127.0.0.1:1"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "'127.0.0.1:1'" in line
    assert "--url" in line
    assert "http://127.0.0.1:1" in line


def test_a_refused_connection_names_the_url_and_its_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QRELAY_URL", "http://127.0.0.1:1")
    started = time.monotonic()
    assert main(["targets"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "http://127.0.0.1:1" in line
    assert "QRELAY_URL" in line
    assert time.monotonic() - started < 10  # a functional bound: it does not hang


def test_a_missing_config_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QRELAY_CONFIG", str(tmp_path / "nope.toml"))
    assert main(["targets"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "nope.toml" in line


@pytest.mark.parametrize(
    "command",
    [
        ["db", "upgrade"],
        ["admin", "create", "--email", "ops@example.org", "--name", "Ops"],
        ["serve", "--port", "1"],
    ],
)
def test_operator_commands_name_a_bad_database(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sqlalchemy", reason="the service is not installed")
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    assert main([*command, "--database-url", url]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert url in line
    assert "unable to open database file" in line


def test_a_database_password_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sqlalchemy", reason="the service is not installed")
    url = "postgresql+psycopg://qrelay:hunter2@127.0.0.1:1/qrelay"
    assert main(["db", "upgrade", "--database-url", url]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "hunter2" not in line
    assert "postgresql+psycopg://qrelay:***@127.0.0.1:1/qrelay" in line


def test_the_installed_command_prints_one_line(tmp_path: Path) -> None:
    """The real ``qrelay`` process, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["QRELAY_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "qrelay"), "run", "-", "--shots", "0"],
        input=BELL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    line = _one_error_line(proc.stderr)
    assert "shots" in line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("qrelay ")
