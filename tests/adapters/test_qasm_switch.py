"""OpenQASM 3 ``switch`` and compound conditions: read, run against Aer, bounded, refused.

Each program written in OpenQASM 3 is imported, run on the Aer engine the workers use,
and compared with the same program built in Qiskit and run on ``AerSimulator`` (seeded on
both sides): the distributions stay within TVD 0.03 at 4,000 shots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from qrelay.errors import ConversionError, PayloadError
from qrelay.payload import InstructionBudget

qrelay_qasm = pytest.importorskip("qrelay_qasm")
qiskit = pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit.classical import expr  # noqa: E402
from tests.dynamic_programs import and_of_two_clbits  # noqa: E402
from tests.dynamic_programs import switch_on_two_bits as switch2  # noqa: E402
from tests.dynamic_programs import teleport_with_switch as teleport  # noqa: E402

SHOTS = 4000
TVD = 0.03

HEADER = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
"""

SWITCH2 = (
    HEADER
    + """bit[2] c;
bit[1] out;
h q[0];
ry(1.2) q[1];
c[0] = measure q[0];
c[1] = measure q[1];
switch (c) {
  case 0 { x q[2]; }
  case 1 { h q[2]; }
  case 2 { ry(0.5) q[2]; }
  default { ry(2.0) q[2]; }
}
out[0] = measure q[2];
"""
)

TELEPORT = (
    HEADER
    + """bit[2] m;
bit[1] out;
ry(1.1) q[0];
rz(0.3) q[0];
h q[1];
cx q[1], q[2];
cx q[0], q[1];
h q[0];
m[0] = measure q[0];
m[1] = measure q[1];
switch (m) {
  case 1 { z q[2]; }
  case 2 { x q[2]; }
  case 3 { x q[2]; z q[2]; }
}
ry(-1.1) q[2];
out[0] = measure q[2];
"""
)

AND = (
    HEADER
    + """bit[2] c;
bit[1] out;
h q[0];
ry(2.1) q[1];
c[0] = measure q[0];
c[1] = measure q[1];
if (c[0] && c[1]) { x q[2]; } else { ry(0.4) q[2]; }
out[0] = measure q[2];
"""
)

LOGIC = (
    HEADER
    + """bit[2] c;
bit[1] out;
h q[0];
h q[1];
c[0] = measure q[0];
c[1] = measure q[1];
if (!(c[0] || c[1]) || c >= 3) { x q[2]; }
if (c != 1 && !c[1]) { h q[2]; }
out[0] = measure q[2];
"""
)


def _start(name: str) -> tuple[QuantumCircuit, ClassicalRegister, ClassicalRegister]:
    c, out = ClassicalRegister(2, name), ClassicalRegister(1, "out")
    return QuantumCircuit(QuantumRegister(3, "q"), c, out), c, out


def logic() -> QuantumCircuit:
    qc, c, out = _start("c")
    qc.h([0, 1])
    qc.measure([0, 1], [0, 1])
    neither = expr.logic_not(expr.logic_or(c[0], c[1]))
    with qc.if_test(expr.logic_or(neither, expr.greater_equal(c, 3))):
        qc.x(2)
    with qc.if_test(expr.logic_and(expr.not_equal(c, 1), expr.logic_not(c[1]))):
        qc.h(2)
    qc.measure(2, out[0])
    return qc


def _total_variation(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def _ours(text: str, seed: int) -> dict[str, int]:
    from qrelay_qiskit.engine import AerEngine

    (readout,) = AerEngine().run(qrelay_qasm.from_qasm3(text), shots=SHOTS, seed=seed)
    return readout.counts()


def _reference(qc: QuantumCircuit, seed: int) -> dict[str, int]:
    """Aer's counts keyed as a readout keys them (registers in declaration order)."""
    from qiskit_aer import AerSimulator

    counts = AerSimulator().run(qc, shots=SHOTS, seed_simulator=seed).result().get_counts()
    return {" ".join(reversed(key.split())): n for key, n in counts.items()}


@pytest.mark.parametrize(
    ("text", "make"),
    [(SWITCH2, switch2), (TELEPORT, teleport), (AND, and_of_two_clbits), (LOGIC, logic)],
    ids=["switch2", "teleport_switch", "and", "logic"],
)
def test_distribution_matches_the_qiskit_circuit_on_aer(
    text: str, make: Callable[[], QuantumCircuit]
) -> None:
    ours, reference = _ours(text, seed=11), _reference(make(), seed=12)
    assert sum(ours.values()) == SHOTS
    assert _total_variation(ours, reference) < TVD


def test_teleportation_with_switch_does_its_job() -> None:
    """The teleported state, its ``ry`` undone, reads 1 only through the ``rz`` left in it:
    with probability sin^2(1.1) sin^2(0.15) = 0.0177."""
    counts = _ours(TELEPORT, seed=3)
    ones = sum(n for key, n in counts.items() if key.split()[1] == "1")
    assert abs(ones / SHOTS - 0.0177) < 0.012


def test_the_blocks_become_payload_blocks() -> None:
    circuit = qrelay_qasm.from_qasm3(SWITCH2)
    (switch,) = [inst for inst in circuit.instructions if inst["op"] == "switch"]
    assert switch["test"] == {"register": "c"}
    assert [case["values"] for case in switch["cases"]] == [[0], [1], [2]]
    assert switch["default"] == [{"op": "ry", "qubits": [2], "params": [2.0]}]
    (branch,) = [inst for inst in qrelay_qasm.from_qasm3(AND).instructions if inst["op"] == "if"]
    assert branch["test"] == {"op": "logic_and", "args": [{"clbit": 0}, {"clbit": 1}]}
    assert branch["else_body"] == [{"op": "ry", "qubits": [2], "params": [0.4]}]


def test_nested_switches_and_a_compound_while_are_read() -> None:
    text = (
        HEADER
        + """bit[2] c;
bit b;
c[0] = measure q[0];
b = measure q[1];
switch (c) {
  case 0 { if (b || c[1]) { switch (c) { case 1 { x q[2]; } } } }
  default { while (b && !c[0]) { reset q[1]; b = measure q[1]; } }
}
"""
    )
    circuit = qrelay_qasm.from_qasm3(text)
    ops = [inst["op"] for inst in circuit.iter_instructions()]
    assert ops.count("switch") == 2
    assert ops.count("if") == 1
    assert ops.count("while") == 1
    (outer,) = [inst for inst in circuit.instructions if inst["op"] == "switch"]
    (loop,) = outer["default"]
    assert loop["test"]["args"][0] == {"clbit": 2}  # the lone bit b, after c's two


def test_plain_programs_still_go_through_the_importer_alone() -> None:
    """A plain ``if`` is the importer's alone, and keeps its payload.v1 condition."""
    circuit = qrelay_qasm.from_qasm3(
        HEADER + "bit[1] c;\nc[0] = measure q[0];\nif (c[0]) { x q[1]; }"
    )
    (branch,) = [inst for inst in circuit.instructions if inst["op"] == "if"]
    assert "condition" in branch


def test_the_budget_counts_every_case() -> None:
    budget = InstructionBudget(10)
    qrelay_qasm.from_qasm3(SWITCH2, budget=budget)
    assert budget.count == 10  # five gates and measures, the switch, four case bodies
    with pytest.raises(PayloadError, match="past the limit of 9"):
        qrelay_qasm.from_qasm3(SWITCH2, budget=InstructionBudget(9))


def _program(body: str) -> str:
    return HEADER + "bit[2] c;\nc[0] = measure q[0];\n" + body + "\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("if (d && c[0]) { x q[0]; }", r"line 6, column 5: condition: 'd' is not a declared"),
        ("if (c | 1) { x q[0]; }", r"line 6, column 5: condition: must be a bool"),
        ("if (c[0] && c + 1 == 2) { x q[0]; }", r"line 6, column \d+: .*operator '\+'"),
        ("if (c[0] && c[7]) { x q[0]; }", r"line 6, column 13: condition: a bit of a declared"),
        ("switch (c) { case c[0] { x q[0]; } }", r"line 6, column 19: switch: a case value"),
        ("switch (c) { case 0 { bit d; } }", r"line 6, column 23: a declaration inside"),
        ("switch (c) { case 0 { qubit r; } }", r"line 6, column 23: a declaration inside"),
        (
            "for int i in [0:1] { switch (c) { case 0 { rx(i) q[0]; } } }",
            r"line 6, column 1: for loop: its body reads the loop variable 'i'",
        ),
        ("switch (c) { case 0 { foo q[0]; } }", r"line 6, column 23: gate 'foo' is not defined"),
    ],
)
def test_bad_programs_are_refused_naming_line_and_construct(body: str, message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        qrelay_qasm.from_qasm3(_program(body))


def test_deep_nesting_is_refused_before_any_block_is_converted() -> None:
    from qrelay_qasm.dynamic import MAX_NESTING

    depth = MAX_NESTING + 1
    body = "switch (c) { case 0 { " * depth + "x q[0];" + " } }" * depth
    with pytest.raises(ConversionError, match=rf"nested deeper than {MAX_NESTING} levels"):
        qrelay_qasm.from_qasm3(_program(body))
    inside = "switch (c) { case 0 { " * MAX_NESTING + "x q[0];" + " } }" * MAX_NESTING
    ops = [inst["op"] for inst in qrelay_qasm.from_qasm3(_program(inside)).iter_instructions()]
    assert ops.count("switch") == MAX_NESTING


def test_a_huge_switch_is_refused_before_any_block_is_converted() -> None:
    from qrelay_qasm.dynamic import MAX_BLOCKS

    cases = " ".join(f"case {n} {{ x q[0]; }}" for n in range(MAX_BLOCKS + 1))
    with pytest.raises(ConversionError, match=rf"line 6, column 1: more than {MAX_BLOCKS} blocks"):
        qrelay_qasm.from_qasm3(_program(f"switch (c) {{ {cases} }}"))


def test_input_parameters_in_blocks_are_the_programs() -> None:
    """Each block is converted on its own; its ``input float`` is the program's one."""
    text = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\ninput float phi;\n'
        "qubit[2] q;\nbit[2] c;\nrx(theta) q[0];\nc[0] = measure q[0];\n"
        "switch (c) { case 1 { rx(theta) q[1]; if (c[0] || c[1]) { rz(phi) q[0]; } }"
        " default { ry(theta) q[1]; } }\n"
    )
    circuit = qrelay_qasm.from_qasm3(text)
    assert circuit.parameters == ["phi", "theta"]
    (switch,) = [inst for inst in circuit.instructions if inst["op"] == "switch"]
    (case,) = switch["cases"]
    assert case["body"][0]["params"] == ["theta"]
    assert case["body"][1]["body"][0]["params"] == ["phi"]
    assert switch["default"][0]["params"] == ["theta"]


def test_blocks_after_many_declarations_are_refused_before_any_is_converted() -> None:
    """Each block is converted after the declarations before it; their product is bounded."""
    from qrelay_qasm.dynamic import MAX_REPEATED_STATEMENTS

    gates = 2 * MAX_REPEATED_STATEMENTS // (3 * 100)
    definitions = "".join(f"gate g{n} a {{ h a; x a; }}\n" for n in range(gates))
    cases = " ".join(f"case {n} {{ g0 q[0]; }}" for n in range(100))
    text = HEADER + "bit[8] c;\n" + definitions + f"switch (c) {{ {cases} }}\n"
    line = 5 + gates
    with pytest.raises(
        ConversionError, match=rf"line {line}, column 1: switch: .* past the limit of"
    ):
        qrelay_qasm.from_qasm3(text)
    fewer = " ".join(f"case {n} {{ g0 q[0]; }}" for n in range(10))
    circuit = qrelay_qasm.from_qasm3(text.replace(cases, fewer))
    (switch,) = [inst for inst in circuit.instructions if inst["op"] == "switch"]
    assert len(switch["cases"]) == 10


def test_nesting_too_deep_to_parse_is_refused_before_parsing() -> None:
    """The reference parser recurses per level; past the bound the answer names the place
    instead of Python's recursion limit. Braces in comments do not count."""
    from qrelay_qasm.bounds import MAX_PARSE_NESTING

    deep = "switch (c) { case 0 { " * 300 + "x q[0];" + " } }" * 300
    column = 1 + len("switch (c) { case 0 { ") * (MAX_PARSE_NESTING // 2) + len("switch (c) ")
    with pytest.raises(
        ConversionError, match=rf"line 6, column {column}: '\{{' nests deeper than 64 levels"
    ):
        qrelay_qasm.from_qasm3(_program(deep))
    parens = "if (" + "(" * 100 + "c[0]" + ")" * 100 + ") { x q[0]; }"
    with pytest.raises(ConversionError, match=r"line 6, column 68: '\(' nests deeper than"):
        qrelay_qasm.from_qasm3(_program(parens))
    commented = _program("// " + "{" * 100 + "\n/* " + "(" * 100 + " */ x q[0];")
    assert [inst["op"] for inst in qrelay_qasm.from_qasm3(commented).instructions][-1] == "x"
