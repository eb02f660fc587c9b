"""The ``qrelay`` user commands, run in-process against the embedded default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qrelay.cli import main
from qrelay.payload import NewJob
from qrelay.runtime import Client

from .circuits import flip

BELL_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
x q[0];
cx q[0], q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""


def test_run_prints_counts_and_a_histogram(
    stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM, encoding="utf-8")
    assert main(["run", str(path), "--target", "aer_simulator", "--shots", "200"]) == 0
    out = capsys.readouterr().out
    assert "200 shots" in out
    assert "11 | ####" in out
    assert main(["run", str(path), "--shots", "30", "--json", "--no-progress"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["counts"] == {"11": 30}


DYNAMIC_QASM = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[1] flag;
bit[1] out;
h q[0];
flag[0] = measure q[0];
while (flag[0] == true) { reset q[0]; h q[0]; flag[0] = measure q[0]; }
for int i in [0:1] { x q[1]; }
if (flag[0]) { h q[1]; } else { x q[1]; }
out[0] = measure q[1];
"""


def test_run_takes_openqasm_3_control_flow(
    stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loop ends with flag 0; x twice then x again leaves out at 1 on every shot."""
    path = tmp_path / "dynamic.qasm"
    path.write_text(DYNAMIC_QASM, encoding="utf-8")
    argv = ["run", str(path), "-t", "aer_simulator", "--shots", "50", "--json", "--no-progress"]
    assert main(argv) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["counts"] == {"0 1": 50}  # flag, then out


SWITCH_QASM = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[2] c;
bit[2] out;
x q[0];
c[0] = measure q[0];
c[1] = measure q[1];
switch (c) { case 1 { x q[1]; } case 2, 3 { h q[1]; } default { h q[2]; } }
if (c[0] && !c[1] || c > 2) { x q[2]; }
out[0] = measure q[1];
out[1] = measure q[2];
"""


def test_run_takes_openqasm_3_switch_and_compound_conditions(
    stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """c reads 1: the switch takes case 1 and the condition holds, so both outs read 1."""
    path = tmp_path / "switch.qasm"
    path.write_text(SWITCH_QASM, encoding="utf-8")
    argv = ["run", str(path), "-t", "aer_simulator", "--shots", "50", "--json", "--no-progress"]
    assert main(argv) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["counts"] == {"01 11": 50}  # c, then out


VARIABLES_QASM = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] c;
bit[2] out;
int switch_dummy;
qubit[3] q;
uint[2] tries = 0;
bool done = false;
x q[0];
while (true) {
  c[0] = measure q[0];
  tries ^= 1;
  if (c[0]) break;
}
switch_dummy = c;
switch (switch_dummy) { case 1 { x q[1]; } default { } }
done = tries == 1 && c[0];
if (done) { x q[2]; }
out[0] = measure q[1];
out[1] = measure q[2];
"""


def test_run_takes_openqasm_3_variables_and_while_true(
    stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loop ends on its first turn (c[0] reads 1), so tries is 1, the switch on the
    variable takes case 1 and done holds: both outs read 1. The service converts the
    same text (a QASM submission) to the same result."""
    path = tmp_path / "variables.qasm"
    path.write_text(VARIABLES_QASM, encoding="utf-8")
    argv = ["run", str(path), "-t", "aer_simulator", "--shots", "50", "--json", "--no-progress"]
    assert main(argv) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["counts"] == {"01 11": 50}  # c, then out
    from qrelay.payload.parsing import parse
    from qrelay.runtime import decode

    submitted = {"target": "aer_simulator", "circuit_type": "qasm3", "qasm": [VARIABLES_QASM]}
    with Client() as client:
        results = client.submit(parse(NewJob, submitted | {"shots": 40})).result(300)
    (readout,) = results.readouts[0] or []
    assert decode.counts(readout) == {"01 11": 40}


BIT_FLIP_QASM = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] syndrome;
bit[1] out;
int syn;
qubit[5] q;
ry(0.8) q[0];
cx q[0], q[1];
cx q[0], q[2];
x q[1];
cx q[0], q[3];
cx q[1], q[3];
cx q[1], q[4];
cx q[2], q[4];
syndrome[0] = measure q[3];
syndrome[1] = measure q[4];
syn = syndrome;
switch (syn) { case 1 { x q[0]; } case 3 { x q[1]; } case 2 { x q[2]; } }
cx q[0], q[2];
cx q[0], q[1];
out[0] = measure q[0];
"""


def test_run_takes_an_openqasm_3_bit_flip_code_to_heavyhex(
    stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The syndrome, switched on through a variable, names qubit 1 on most shots despite
    the device's noise, and the corrected logical qubit reads 1 on a minority of shots
    (sin^2(0.4) = 0.15 without noise; the distribution against the device's noisy
    simulation is tested in tests/frontends/test_dynamic_circuits.py)."""
    path = tmp_path / "bit_flip.qasm"
    path.write_text(BIT_FLIP_QASM, encoding="utf-8")
    argv = ["run", str(path), "-t", "heavyhex_qpu", "--shots", "2000", "--json", "--no-progress"]
    assert main(argv) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert sum(counts.values()) == 2000
    found = sum(n for key, n in counts.items() if key.startswith("11")) / 2000
    assert found > 0.75
    ones = sum(n for key, n in counts.items() if key.endswith("1")) / 2000
    assert 0.1 < ones < 0.35


def test_run_refuses_a_missing_file(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "no-such-file.qasm"]) == 1
    assert "no-such-file.qasm" in capsys.readouterr().err


def test_an_unknown_target_lists_the_known_ones(stack: Any) -> None:
    from qrelay.errors import NotFoundError

    with (
        Client() as client,
        pytest.raises(NotFoundError, match=r"no target 'nope' \(known: .*square_qpu"),
    ):
        client.target("nope")


@pytest.mark.parametrize(
    ("command", "needles"),
    [
        (["jobs"], ["--status STATUS", "completed, failed, cancelled"]),
        (["job"], ["JOB_ID", "the job's id"]),
        (["cancel"], ["ids of the jobs to cancel"]),
        (["run"], ["the OpenQASM file", "--token-file PATH"]),
        (["admin", "user", "balance"], ["user id or email", "the new balance"]),
    ],
)
def test_help_names_positionals_and_status_values(
    command: list[str], needles: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for needle in needles:
        assert needle in out


def test_targets_table_and_show(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["NAME", "QUBITS", "KIND"]
    assert "square_qpu" in out
    assert main(["targets", "--show", "square_qpu"]) == 0
    assert "12---13---14---15" in capsys.readouterr().out


def test_jobs_job_cancel_balance(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with Client() as client:
        job = client.submit(NewJob(target="aer_simulator", circuits=[flip(2)], shots=8))
        job.wait(timeout=60)
    assert main(["jobs", "--limit", "100"]) == 0
    assert job.job_id in capsys.readouterr().out
    assert main(["job", job.job_id]) == 0
    out = capsys.readouterr().out
    assert "completed" in out
    assert "10 | " in out
    assert main(["cancel", job.job_id, "missing-job"]) == 1
    out = capsys.readouterr().out
    assert f"{job.job_id}: already ended" in out
    assert "missing-job: not found" in out
    assert main(["balance"]) == 0
    out = capsys.readouterr().out
    float(out.split()[0])
    assert "not charged" in out  # the embedded default's user is its administrator
