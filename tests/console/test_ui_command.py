"""``qrelay ui``: the embedded default's console, served until Ctrl-C.

The command runs as a real process on its own ``QRELAY_HOME``; the test reads the URL it
prints, logs in with the token kept in the home (as the printed hint says), opens the
targets page, and stops it with SIGINT.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from tests.reliability.procs import wait_until

_MAIN = "import sys; from qrelay.cli import main; sys.exit(main(sys.argv[1:]))"


def test_qrelay_ui_prints_its_console_url_and_serves_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env |= {"QRELAY_HOME": str(home), "QRELAY_CONFIG": str(home / "config.toml")}
    out = tmp_path / "out.txt"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "ui"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        url = wait_until(
            lambda: re.search(r"qrelay console: (http://127\.0\.0\.1:\d+/ui/)", out.read_text()),
            120,
            "qrelay ui to print its URL",
        ).group(1)
        assert str(home / "embedded.json") in out.read_text()
        token = json.loads((home / "embedded.json").read_text())["token"]
        assert token not in out.read_text()  # printed only with --show-token
        with httpx.Client(timeout=30) as c:
            login = c.get(url, follow_redirects=True)
            assert login.status_code == 200
            nonce = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert nonce is not None
            r = c.post(f"{url}login", data={"csrf": nonce.group(1), "token": token})
            assert r.status_code == 303
            targets = c.get(f"{url}targets")
            assert targets.status_code == 200
            assert "aer_simulator" in targets.text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
