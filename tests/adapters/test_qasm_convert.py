"""OpenQASM 2/3 <-> payload: golden files, version detection, round trips, error locations."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from qiskit.quantum_info import Operator
from tests.adapters.golden import check_golden

import qrelay_qasm
from qrelay.errors import ConversionError
from qrelay_qiskit.convert import to_qiskit

QASM2 = """\
OPENQASM 2.0;
include "qelib1.inc";
// two registers, mid-circuit measurement, qelib1 legacy gates
qreg q[3];
qreg anc[1];
creg c[2];
creg flag[1];
h q[0];
u1(0.25) q[1];
u2(0.1, pi/2) q[2];
u3(0.3, 0.2, 0.1) anc[0];
cu1(pi/4) q[0], q[1];
cx q[0], anc[0];
measure anc[0] -> flag[0];
ccx q[0], q[1], q[2];
rzz(0.5) q[1], q[2];
cswap q[0], q[1], q[2];
barrier q;
reset anc[0];
measure q[0] -> c[1];
measure q[2] -> c[0];
"""

QASM3 = """\
OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input float[64] phi;
qubit[3] q;
bit[2] c;
bit[1] d;
h q[0];
rx(theta * 2 + phi) q[1];
cp(pi / 8) q[0], q[2];
cx q[0], q[1];
c[0] = measure q[0];
if (c[0]) {
  x q[2];
} else {
  y q[2];
}
if (c == 2) {
  z q[1];
}
reset q[0];
barrier q;
delay[100ns] q[1];
d[0] = measure q[2];
"""


@pytest.mark.parametrize(("name", "text"), [("qasm2", QASM2), ("qasm3", QASM3)])
def test_golden(name: str, text: str) -> None:
    payload = qrelay_qasm.loads(text)
    golden = check_golden("qasm", name, payload)
    assert golden == payload


def test_version_detection() -> None:
    assert qrelay_qasm.qasm_version(QASM2) == 2
    assert qrelay_qasm.qasm_version("// comment\nOPENQASM 3;\nqubit q;") == 3
    assert qrelay_qasm.qasm_version("qubit q;") == 3
    with pytest.raises(ConversionError, match="OPENQASM 4"):
        qrelay_qasm.qasm_version("\nOPENQASM 4.0;\n")


def test_qasm2_reads_legacy_gates_as_ops() -> None:
    payload = qrelay_qasm.from_qasm2(QASM2)
    ops = [inst["op"] for inst in payload.instructions]
    assert ops[:6] == ["h", "p", "u", "u", "cp", "cx"]
    assert [reg.name for reg in payload.registers] == ["c", "flag"]
    assert [(reg.name, reg.size) for reg in payload.qubit_registers or []] == [("q", 3), ("anc", 1)]


@pytest.mark.parametrize(
    ("to_text", "text"),
    [(qrelay_qasm.to_qasm2, QASM2), (qrelay_qasm.to_qasm3, QASM3)],
)
def test_text_payload_text_is_a_fixed_point(to_text: object, text: str) -> None:
    first = qrelay_qasm.loads(text)
    written = to_text(first)  # type: ignore[operator]
    second = qrelay_qasm.loads(written)
    assert second == first
    assert to_text(second) == written  # type: ignore[operator]


def test_qasm3_parameters_are_inputs() -> None:
    payload = qrelay_qasm.from_qasm3(QASM3)
    assert payload.parameters == ["phi", "theta"]
    assert "input float[64] theta;" in qrelay_qasm.to_qasm3(payload)


def test_qasm2_operator_matches_qiskit() -> None:
    from qiskit import qasm2

    text = QASM2.split("barrier", maxsplit=1)[0].replace("measure anc[0] -> flag[0];\n", "")
    ours = to_qiskit(qrelay_qasm.from_qasm2(text))
    theirs = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert np.allclose(Operator(ours).data, Operator(theirs).data)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (QASM3.replace("cx q[0], q[1];", "cx q[0] q[1];"), 11, 9, "syntax error"),
        (QASM3.replace("cx q[0], q[1];", "foo q[0];"), 11, 1, "'foo' is not defined"),
        (QASM2.replace("ccx q[0]", "cxx q[0]"), 15, 1, "'cxx' is not defined"),
        (QASM2.replace("h q[0];", "h q[0]"), 9, 1, "needed"),
    ],
)
def test_errors_carry_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConversionError) as info:
        qrelay_qasm.loads(text)
    assert info.value.location == ("line", line, "column", column)
    assert f"line {line}, column {column}" in str(info.value)
    assert words in str(info.value)


def test_qasm2_cannot_express_if() -> None:
    payload = qrelay_qasm.from_qasm3(QASM3)
    with pytest.raises(ConversionError, match="OpenQASM 2"):
        qrelay_qasm.to_qasm2(payload)


def test_import_is_lazy() -> None:
    import importlib

    saved = {k: v for k, v in sys.modules.items() if k.startswith("qrelay_qasm")}
    for key in saved:
        del sys.modules[key]
    try:
        module = importlib.import_module("qrelay_qasm")
        assert "qrelay_qasm.convert" not in sys.modules
        assert callable(module.loads)
    finally:
        sys.modules.update(saved)
