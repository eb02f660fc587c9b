"""OpenQASM jobs cannot read the service's files, nor expand without bound.

Against the app served on loopback (``served``) and one real ``qrelay serve`` process:
an ``include`` of a host file is answered exactly like one of a missing file, and says
nothing of either; programs that expand past a limit (nested gate definitions, huge
registers, broadcasts) are refused naming the limit within a generous bound, while
another user's small OpenQASM job is answered before the hostile one ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Served

pytest.importorskip("qrelay_qasm")

#: A generous functional bound: today's answers come in well under a second.
BOUND = 10.0

BELL2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


def nested_gates(levels: int, version: int = 2) -> str:
    """A program of ``levels`` gate definitions, each calling the one before twice."""
    if version == 2:
        head = ["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[1];"]
    else:
        head = ["OPENQASM 3.0;", 'include "stdgates.inc";', "qubit[1] q;"]
    lines = [*head, "gate g0 a { x a; x a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}" for i in range(1, levels + 1)]
    lines.append(f"g{levels} q[0];")
    return "\n".join(lines) + "\n"


def qasm_job(text: str) -> dict[str, Any]:
    kind = "qasm3" if text.startswith("OPENQASM 3") else "qasm2"
    return {"target": "aer_simulator", "circuit_type": kind, "qasm": [text], "shots": 10}


def post(client: httpx.Client, doc: dict[str, Any], timeout: float = BOUND) -> httpx.Response:
    return client.post(
        "/v1/jobs", json=doc, headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=timeout
    )


def include(name: str, version: int) -> str:
    if version == 2:
        return f'OPENQASM 2.0;\ninclude "{name}";\nqreg q[1];\n'
    return f'OPENQASM 3.0;\ninclude "{name}";\nqubit[1] q;\n'


CLI = "import sys; from qrelay.cli import main; sys.exit(main(sys.argv[1:]))"

#: Files that exist on the host, a relative path to one, and files that do not.
HOST_FILES = ["/etc/passwd", "../../../../../../etc/passwd", "/etc/hostname", "/proc/self/environ"]
MISSING_FILES = ["/no/such/file.inc", "missing.inc", "../../../../../../no/such/file"]


@pytest.mark.parametrize("version", [2, 3])
def test_an_include_of_a_host_file_is_answered_like_a_missing_one(
    served: Served, version: int
) -> None:
    token, _ = served.new_user(balance=0.0)
    client = served.client(token)
    before = served.count_jobs()
    answers = set()
    for name in HOST_FILES + MISSING_FILES:
        r = post(client, qasm_job(include(name, version)))
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["code"] == "validation_error"
        assert "root" not in r.text
        assert name not in problem["detail"]
        answers.add(problem["detail"])
    library = "qelib1.inc" if version == 2 else "stdgates.inc"
    column = 9 if version == 2 else 1
    one = (
        f"qasm[0]: OpenQASM {version}, line 2, column {column}: include: "
        f'only "{library}" can be included in OpenQASM {version}'
    )
    assert answers == {one}
    assert served.count_jobs() == before


def test_the_standard_library_still_resolves(served: Served) -> None:
    token, _ = served.new_user()
    client = served.client(token)
    assert post(client, qasm_job(BELL2)).status_code == 201
    bell3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n'
    assert post(client, qasm_job(bell3)).status_code == 201


@pytest.mark.parametrize("version", [2, 3])
def test_nested_gate_definitions_are_refused_naming_the_limit(served: Served, version: int) -> None:
    token, _ = served.new_user(balance=0.0)
    client = served.client(token)
    before = served.count_jobs()
    text = nested_gates(60, version)  # 2**61 instructions, in under 2 KiB
    r = post(client, qasm_job(text))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "the limit of 1000000 instructions on target 'aer_simulator'" in detail
    assert served.count_jobs() == before


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[100000000];\nh q[0];\n',
            ["line 3", "100000000 qubits", "limit of 10000"],
        ),
        ("OPENQASM 3.0;\nqubit[100000000] q;\nh q[0];\n", ["line 2", "limit of 10000"]),
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\ncreg c[1000000000];\n',
            ["line 3", "1000000000 bits", "limit of 100000"],
        ),
        (
            # 2,000 broadcasts over 1,000 qubits: 2 million instructions in 10 KB
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1000];\n' + "h q;\n" * 2_000,
            ["limit of 1000000 instructions"],
        ),
        (
            "OPENQASM 3.0;\nqubit[1000] q;\n" + "h q;\n" * 2_000,
            ["limit of 1000000 instructions"],
        ),
        (
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\n' + "h q;" * 10_500,
            ["more than 10000 statements"],
        ),
        (
            # one expression of 10,000 terms: the reference parser's time grows faster
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nrx('
            + "+".join(["1"] * 10_000)
            + ") q[0];\n",
            ["longer than 8192 characters"],
        ),
    ],
    ids=[
        "qreg",
        "qubit",
        "creg",
        "qasm2-broadcast",
        "qasm3-broadcast",
        "qasm3-statements",
        "qasm3-long-statement",
    ],
)
def test_registers_broadcasts_and_long_programs_are_bounded_before_parsing(
    served: Served, text: str, words: list[str]
) -> None:
    token, _ = served.new_user(balance=0.0)
    r = post(served.client(token), qasm_job(text))
    assert r.status_code == 422, r.text
    for word in words:
        assert word in r.json()["detail"]


def test_another_users_qasm_is_answered_while_a_hostile_program_converts(
    served: Served,
) -> None:
    """A program under the limit whose expansion is slow holds one converter, not all.

    ``nested_gates(18)`` expands to 2**19 instructions, each definition built anew, which
    takes far longer than the conversion deadline; it is stopped there. Meanwhile another
    user's one-gate program is converted by another converter and answered first.
    """
    hostile_token, _ = served.new_user(balance=0.0)
    other_token, _ = served.new_user()
    hostile_client = served.client(hostile_token)
    other_client = served.client(other_token)
    assert post(other_client, qasm_job(BELL2)).status_code == 201  # the parsers are loaded
    hostile: dict[str, Any] = {}

    def attack() -> None:
        text = nested_gates(18)
        response = post(hostile_client, qasm_job(text), timeout=60.0)
        hostile["response"] = response

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(0.5)
    other = post(other_client, qasm_job(BELL2))
    other_done_first = "response" not in hostile
    thread.join(timeout=60)
    assert other.status_code == 201, other.text
    assert other_done_first, "the small job waited for the hostile one"
    response = hostile["response"]
    assert response.status_code == 422, response.text
    assert "longer than 10 s" in response.json()["detail"]


def test_a_real_service_process_refuses_includes_and_expansion(tmp_path: Path) -> None:
    from tests.reliability.procs import Stack

    stack = Stack(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'qrelay.db'}")
    try:
        stack.start_service()
        client = stack.client(stack.new_user(balance=0.0))
        answers = []
        for name in ("/etc/passwd", "/no/such/file.inc"):
            r = post(client, qasm_job(include(name, 2)))
            assert r.status_code == 422, r.text
            assert "root" not in r.text
            answers.append(r.json()["detail"])
        assert answers[0] == answers[1]
        started = time.monotonic()
        r = post(client, qasm_job(nested_gates(40)))
        assert r.status_code == 422, r.text
        assert "limit of 1000000 instructions" in r.json()["detail"]
        assert time.monotonic() - started < BOUND
        assert stack.service is not None
        assert stack.service.alive()
    finally:
        stack.close()


def test_qrelay_run_resolves_includes_next_to_the_file_only(tmp_path: Path) -> None:
    """The shell reads the user's own files: an include next to the program resolves."""
    folder = tmp_path / "programs"
    folder.mkdir()
    (folder / "mygates.inc").write_text("gate bell a, b { h a; cx a, b; }\n", encoding="utf-8")
    program = folder / "bell.qasm"
    program.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "mygates.inc";\n'
        "qreg q[2];\ncreg c[2];\nbell q[0], q[1];\nmeasure q -> c;\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["QRELAY_HOME"] = str(tmp_path / "home")
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")  # a config that names no service
    env["QRELAY_CONFIG"] = str(config)
    done = subprocess.run(
        [sys.executable, "-c", CLI, "run", str(program), "--shots", "50", "--json"],
        cwd=tmp_path,  # not the program's folder: includes follow the file, not the cwd
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["counts"]
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 50
