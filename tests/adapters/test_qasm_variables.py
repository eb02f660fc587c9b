"""OpenQASM 3 classical variables, assignments and constant conditions: read, run, refused.

Round trips: a circuit built in Qiskit is written by ``qiskit.qasm3.dumps``, read back by
``qrelay_qasm.from_qasm3`` and run on the Aer engine the workers use; its distribution is
compared (TVD < 0.03 at 4,000 seeded shots) with the Qiskit-built circuit run on
``AerSimulator`` where Aer runs it as it is, and otherwise (variables, a ``switch`` on an
expression, which Aer itself does not run) through the Qiskit adapter on the same engine.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qrelay.errors import ConversionError

from .test_qasm_switch import SHOTS, TVD, _ours, _reference, _total_variation, switch2, teleport

qrelay_qasm = pytest.importorskip("qrelay_qasm")
qiskit = pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm3  # noqa: E402
from qiskit.circuit.classical import expr, types  # noqa: E402


def while_true_with_break() -> QuantumCircuit:
    """Try until qubit 0 reads 1, flipping qubit 1 after each failed try."""
    c, out = ClassicalRegister(1, "c"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(2, "q"), c, out)
    with qc.while_loop(expr.lift(True)):
        qc.reset(0)
        qc.ry(1.0, 0)
        qc.measure(0, c[0])
        with qc.if_test(expr.lift(c[0])):
            qc.break_loop()
        qc.x(1)
    qc.measure(1, out[0])
    return qc


def switch_on_expression() -> QuantumCircuit:
    c, out = ClassicalRegister(2, "c"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(3, "q"), c, out)
    qc.h([0, 1])
    qc.measure([0, 1], [0, 1])
    with qc.switch(expr.bit_xor(c, 3)) as case:
        with case(0, 1):
            qc.ry(0.6, 2)
        with case(case.DEFAULT):
            qc.x(2)
    qc.measure(2, out[0])
    return qc


def counted_repeat_until_success() -> QuantumCircuit:
    """A bool variable keeps the loop going, a uint one keeps the parity of its turns."""
    flag, turns = ClassicalRegister(1, "flag"), ClassicalRegister(2, "turns")
    qc = QuantumCircuit(QuantumRegister(2, "q"), flag, turns)
    again = qc.add_var("again", True)
    count = qc.add_var("count", expr.lift(0, types.Uint(2)))
    with qc.while_loop(again):
        qc.reset(0)
        qc.h(0)
        qc.measure(0, flag[0])
        qc.store(again, flag[0])
        qc.store(count, expr.bit_xor(count, 1))
    with qc.if_test(expr.logic_and(expr.logic_not(again), expr.equal(count, 1))):
        qc.x(1)
    qc.store(turns, count)
    return qc


def seen_in_a_for_loop() -> QuantumCircuit:
    c, out = ClassicalRegister(1, "c"), ClassicalRegister(1, "out")
    qc = QuantumCircuit(QuantumRegister(2, "q"), c, out)
    seen = qc.add_var("seen", False)
    with qc.for_loop(range(3)):
        qc.reset(0)
        qc.ry(0.5, 0)
        qc.measure(0, c[0])
        qc.store(seen, expr.logic_or(seen, c[0]))
    with qc.if_test(seen):
        qc.x(1)
    qc.measure(1, out[0])
    return qc


def _through_the_adapter(qc: QuantumCircuit, seed: int) -> dict[str, int]:
    from qrelay_qiskit.convert import from_qiskit
    from qrelay_qiskit.engine import AerEngine

    (readout,) = AerEngine().run(from_qiskit(qc), shots=SHOTS, seed=seed)
    return readout.counts()


@pytest.mark.parametrize(
    ("make", "aer_runs_it"),
    [
        (switch2, True),
        (teleport, True),
        (while_true_with_break, True),
        (switch_on_expression, False),
        (counted_repeat_until_success, False),
        (seen_in_a_for_loop, False),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_qasm3_dumps_reads_back_with_the_same_distribution(
    make: Callable[[], QuantumCircuit], aer_runs_it: bool
) -> None:
    qc = make()
    ours = _ours(qasm3.dumps(qc), seed=21)
    reference = _reference(qc, seed=22) if aer_runs_it else _through_the_adapter(qc, seed=22)
    assert sum(ours.values()) == SHOTS
    assert _total_variation(ours, reference) < TVD


def test_the_switch_variable_of_qasm3_dumps_is_read_as_a_variable() -> None:
    text = qasm3.dumps(switch2())
    assert "int switch_dummy;" in text
    circuit = qrelay_qasm.from_qasm3(text)
    (variable,) = circuit.variables
    assert (variable.name, variable.type, variable.width) == ("switch_dummy", "uint", 32)
    store, switch = [inst for inst in circuit.instructions if inst["op"] in ("store", "switch")]
    assert store["rvalue"] == {"op": "cast", "args": [{"register": "c"}], "width": 32}
    assert switch["test"] == {"var": "switch_dummy"}


def test_known_outcomes_of_variables_and_while_true() -> None:
    """The loop turns until qubit 0 reads 1 (probability sin^2(0.5) = 0.2298 a turn): out
    is 1 after an odd number of failed turns, 1 - p over 2 - p = 0.4351 of shots. The
    counter is odd after an odd number of turns: 1/2 + 1/8 + ... = 2/3 of shots."""
    counts = _ours(qasm3.dumps(while_true_with_break()), seed=5)
    ones = sum(n for key, n in counts.items() if key.split()[1] == "1")
    assert abs(ones / SHOTS - 0.4351) < 0.03
    counts = _ours(qasm3.dumps(counted_repeat_until_success()), seed=5)
    odd = sum(n for key, n in counts.items() if key.split()[1] in ("01", "11"))
    assert abs(odd / SHOTS - 2 / 3) < 0.03


HEADER = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
"""


def test_declarations_assignments_and_casts_become_stores() -> None:
    text = (
        HEADER
        + """uint[4] v = 3;
bool b = c[0] && true;
int[8] n;
bit flag = !b;
c[0] = measure q[0];
v &= 1;
v |= uint[4](c);
v ^= 2;
b = bool(v) || c[1];
c[1] = b;
c = v == 3;
n = c;
if (v > 2 && b) { x q[1]; } else { flag = false; }
"""
    )
    circuit = qrelay_qasm.from_qasm3(text)
    declared = [(var.name, var.type, var.width) for var in circuit.variables]
    assert declared == [("v", "uint", 4), ("b", "bool", None), ("n", "uint", 8)]
    stores = [inst for inst in circuit.instructions if inst["op"] == "store"]
    assert [store["lvalue"] for store in stores] == [
        {"var": "v"},
        {"var": "b"},
        {"clbit": 2},  # the lone bit flag, after c's two
        {"var": "v"},
        {"var": "v"},
        {"var": "v"},
        {"var": "b"},
        {"clbit": 1},
        {"register": "c"},
        {"var": "n"},
    ]
    assert stores[0]["rvalue"] == {"lit": 3, "width": 4}
    assert stores[3]["rvalue"] == {"op": "bit_and", "args": [{"var": "v"}, {"lit": 1, "width": 4}]}
    assert stores[8]["rvalue"] == {"op": "cast", "args": [{"op": "equal", "args": [
        {"var": "v"}, {"lit": 3, "width": 4}]}], "width": 2}  # fmt: skip
    (branch,) = [inst for inst in circuit.instructions if inst["op"] == "if"]
    assert branch["else_body"][-1]["op"] == "store"


def test_variables_steer_a_program_on_aer() -> None:
    """v ends 3 exactly when c[0] read 1; the branch on it copies c[0] to qubit 1."""
    text = (
        HEADER
        + """uint[2] v = 0;
h q[0];
c[0] = measure q[0];
if (c[0]) { v = 3; } else { v ^= 1; }
switch (v) { case 3 { x q[1]; } case 1 { } }
c[1] = measure q[1];
"""
    )
    counts = _ours(text, seed=9)
    assert set(counts) == {"00", "11"}
    assert abs(counts["11"] / SHOTS - 0.5) < 0.03


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("float f = 1.0;", r"line 5, column 1: float f: variables of type 'float'"),
        ("angle[8] a;", r"line 5, column 1: angle a: variables of type 'angle'"),
        ("def f(bit b) { x q[0]; }", r"line 5, column 1: subroutines \(def\)"),
        ("extern f(int) -> int;", r"line 5, column 1: extern functions"),
        ("const int n = 2;", r"line 5, column 1: const declarations"),
        ("int x = 0;\nx += 1;", r"line 6, column 1: assignment '\+=': only =, &="),
        ("int x = 0;\nx = x + 1;", r"line 6, column 5: assignment: operator '\+' is not"),
        ("int x = 0;\nx = f(1);", r"line 6, column 5: function calls"),
        ("bool b;\nb = measure q[0];", r"line 6, column 1: measure into variable 'b'"),
        ("bool b = measure q[0];", r"line 5, column 1: measure into variable 'b'"),
        ("if (c[0]) { int x = 1; }", r"line 5, column 13: x: a classical variable is declared"),
        ("uint[65] v;", r"line 5, column 1: v: a width must be an integer literal from 1 to"),
        ("uint[2] v = 4;", r"line 5, column 13: assignment: 4 does not fit uint\[2\]"),
        ("int[2] v = 2;", r"line 5, column 12: assignment: 2 does not fit int\[2\] \(int is"),
        ("uint[1] v = c;", r"line 5, column 13: assignment: a uint\[2\] value does not fit"),
        ("int[2] v = c;", r"line 5, column 12: assignment: a uint\[2\] value does not fit int"),
        ("y = 1;", r"line 5, column 1: assignment: 'y' is not a declared bit or variable"),
        ("c[0] = z;", r"line 5, column 8: assignment: 'z' is not a declared"),
        ("uint[2] v = 1;\nif (v) { x q[0]; }", r"line 6, column 5: condition: must be a bool"),
        ("bool b;\nb = 1;\nuint[2] v;\nb = v;\nv = b;", None),
        ("x = 1;\nint x;", r"line 5, column 1: assignment: 'x' is not a declared"),
        ("end;", r"line 5, column 1: end is not supported"),
        ('bit[3] r = "101";\nr ^= "011";\nuint[3] v = r;', None),
        ("switch (c) { case 0 { float f; } }", r"line 5, column 23: float f: variables"),
    ],
)
def test_what_is_not_read_is_refused_naming_the_line(body: str, message: str | None) -> None:
    if message is None:
        qrelay_qasm.from_qasm3(HEADER + body + "\n")  # bool and uint convert both ways
        return
    with pytest.raises(ConversionError, match=message):
        qrelay_qasm.from_qasm3(HEADER + body + "\n")


def test_refusals_come_before_any_conversion() -> None:
    """An unsupported statement at the end is refused before the program's blocks, or the
    importer, see it (a program past the block bound is refused on its subroutine)."""
    from qrelay_qasm.dynamic import MAX_BLOCKS

    cases = " ".join(f"case {n} {{ x q[0]; }}" for n in range(MAX_BLOCKS + 1))
    text = HEADER + f"switch (c) {{ {cases} }}\ndef f() {{ }}\n"
    with pytest.raises(ConversionError, match=r"line 6, column 1: subroutines"):
        qrelay_qasm.from_qasm3(text)


def test_variables_before_the_qubits_are_declared() -> None:
    """``qasm3.dumps`` declares variables first; their initialisers run in order."""
    text = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[1] c;\nuint[2] v = 2;\nbool b = true;\n'
        "qubit[1] q;\nif (b && v == 2) { x q[0]; }\nc[0] = measure q[0];\n"
    )
    assert _ours(text, seed=1) == {"1": SHOTS}
    with pytest.raises(ConversionError, match=r"line 4, column 1: control flow or a store"):
        qrelay_qasm.from_qasm3("OPENQASM 3.0;\nbit[1] c;\nbit[1] d;\nbool b = true;\n")


def test_continue_in_a_loop_read_here() -> None:
    """n toggles 1, 0, 1: the turn with n == 0 skips its x, so x runs twice and q[0]
    reads 0 (three times, without the continue, would leave it 1)."""
    text = (
        HEADER
        + """uint[2] n = 0;
for int i in [0:2] { n ^= 1; if (n == 0) continue; x q[0]; }
c[0] = measure q[0];
"""
    )
    circuit = qrelay_qasm.from_qasm3(text)
    (loop,) = [inst for inst in circuit.instructions if inst["op"] == "for"]
    assert loop["body"][1]["body"] == [{"op": "continue", "qubits": []}]
    assert _ours(text, seed=2) == {"00": SHOTS}


def test_what_is_read_writes_back_and_reads_the_same() -> None:
    circuit = qrelay_qasm.from_qasm3(qasm3.dumps(counted_repeat_until_success()))
    again = qrelay_qasm.from_qasm3(qrelay_qasm.to_qasm3(circuit))
    assert again.instructions == circuit.instructions
    assert again.variables == circuit.variables
