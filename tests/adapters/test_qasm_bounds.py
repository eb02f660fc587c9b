"""The OpenQASM reader counts what a program expands to, exactly, and stops at the limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qrelay.errors import ConversionError, PayloadError
from qrelay.payload import InstructionBudget
from qrelay.payload.limits import instruction_count

qrelay_qasm = pytest.importorskip("qrelay_qasm")

NESTED2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
gate pair a, b { h a; cx a, b; }
gate twice a, b { pair a, b; pair b, a; }
gate four a, b, c { twice a, b; twice b, c; rzz(0.5) a, c; }
four q[0], q[1], q[2];
h q;
measure q -> c;
if (c == 1) four q[2], q[1], q[0];
"""

NESTED3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
gate pair a, b { h a; cx a, b; }
gate twice a, b { pair a, b; pair b, a; }
twice q[0], q[1];
h q;
c = measure q;
if (c[0]) { twice q[0], q[2]; } else { x q; }
"""


@pytest.mark.parametrize("text", [NESTED2, NESTED3], ids=["qasm2", "qasm3"])
def test_the_budget_counts_exactly_what_the_program_becomes(text: str) -> None:
    budget = InstructionBudget(1_000)
    circuit = qrelay_qasm.loads(text, budget=budget)
    assert budget.count == instruction_count(circuit)


@pytest.mark.parametrize("text", [NESTED2, NESTED3], ids=["qasm2", "qasm3"])
def test_a_program_one_over_the_limit_is_refused_naming_it(text: str) -> None:
    size = instruction_count(qrelay_qasm.loads(text))
    assert qrelay_qasm.loads(text, budget=InstructionBudget(size)) is not None
    with pytest.raises(PayloadError, match=f"limit of {size - 1} instructions on target 'x'"):
        qrelay_qasm.loads(text, budget=InstructionBudget(size - 1, where="on target 'x'"))


def test_deep_definitions_are_refused_before_they_recurse() -> None:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[1];", "gate g0 a { x a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; }}" for i in range(1, 200)]
    lines.append("g199 q[0];")
    with pytest.raises(PayloadError, match="nest deeper than 64 levels"):
        qrelay_qasm.loads("\n".join(lines))


def test_include_dirs_resolve_files_there_only(tmp_path: Path) -> None:
    (tmp_path / "mine.inc").write_text("gate mine a { x a; }\n", encoding="utf-8")
    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "mine.inc";\nqreg q[1];\nmine q[0];\n'
    circuit = qrelay_qasm.loads(text, include_dirs=[tmp_path])
    assert [i["op"] for i in circuit.iter_instructions()] == ["x"]
    with pytest.raises(ConversionError, match=re.escape('only "qelib1.inc" can be included')):
        qrelay_qasm.loads(text)
