"""What qrelay writes on disk is private to its owner: ``QRELAY_HOME`` 0700, files 0600.

``QRELAY_HOME`` holds the embedded default's database and its user's token; the SQLite
database of ``qrelay serve`` holds every user's jobs and token hashes. Under the usual
umask of 022 they were created readable by every local user. Each case runs in a real
subprocess with that umask: the embedded default running a job, and ``qrelay serve``.
"""

from __future__ import annotations

import os
import secrets
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

EMBEDDED = textwrap.dedent(
    """
    import os
    os.umask(0o022)
    from qrelay.payload import NewJob
    from qrelay.runtime import Client
    circuit = {"num_qubits": 1, "registers": [{"name": "c", "size": 1}],
               "instructions": [{"op": "measure", "qubits": [0], "clbits": [0]}]}
    with Client() as client:
        client.submit(NewJob(target="aer_simulator", circuits=[circuit], shots=3)).wait(timeout=60)
    """
)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QRELAY_URL", "QRELAY_TOKEN")}
    env["QRELAY_HOME"] = str(home)
    return env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(home: Path) -> dict[str, str]:
    """Every entry under ``home`` (and ``home``), with its mode in octal."""
    found = {".": oct(_mode(home))}
    for path in sorted(home.rglob("*")):
        found[str(path.relative_to(home))] = oct(_mode(path))
    return found


def _private(modes: dict[str, str], home: Path) -> None:
    for name, mode in modes.items():
        path = home / name
        want = 0o700 if path.is_dir() else 0o600
        assert int(mode, 8) & 0o077 == 0, f"{name} is {mode}, not {oct(want)}: {modes}"


def test_the_embedded_default_keeps_its_home_private(tmp_path: Path) -> None:
    home = tmp_path / "data" / "qrelay"
    done = subprocess.run(
        [sys.executable, "-c", EMBEDDED],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modes = _modes(home)
    assert "qrelay.db" in modes
    assert "embedded.json" in modes  # the token
    assert modes["."] == "0o700"
    _private(modes, home)


def test_qrelay_serve_creates_its_sqlite_database_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "adm_" + secrets.token_urlsafe(16)
    env = _env(home) | {"QRELAY_ADMIN_TOKEN": token}
    qrelay = Path(sys.executable).parent / "qrelay"
    proc = subprocess.Popen(
        ["sh", "-c", 'umask 022 && exec "$0" "$@"', str(qrelay), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
            try:
                r = httpx.get(url + "/v1/me", headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "qrelay serve did not answer"
            time.sleep(0.1)
        modes = _modes(home)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # `qrelay serve` keeps its database apart from the embedded default's
    assert {"service/qrelay.db", "service/qrelay.db-wal"} <= set(modes), modes
    assert modes["."] == "0o700"
    assert modes["service"] == "0o700"
    _private(modes, home)
