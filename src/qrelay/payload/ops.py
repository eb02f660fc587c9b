"""The one registry of operations a payload circuit may hold.

Every converter (Qiskit, Cirq, OpenQASM), the validator, the docs and the devices read
this table; adding an op here is the one place to start (see ``docs/extending.md``).

Semantics follow the OpenQASM 3 standard library and Qiskit's gate definitions: angles
are in radians, matrices are in the convention where qubit 0 of the instruction is the
least significant bit of the matrix index (Qiskit's order).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final


class OpKind(str, Enum):
    """What an operation does to the machine, which decides how it is validated."""

    GATE = "gate"
    MEASURE = "measure"
    RESET = "reset"
    BARRIER = "barrier"
    DELAY = "delay"
    UNITARY = "unitary"
    CONTROL = "control"
    JUMP = "jump"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class OpSpec:
    """One operation: its arity, its parameters and how OpenQASM spells it.

    ``num_qubits`` is ``None`` for ops that take any number of qubits (barrier, unitary).
    """

    name: str
    kind: OpKind
    num_qubits: int | None
    params: tuple[str, ...] = ()
    num_clbits: int = 0
    qasm3: str | None = None
    qasm2: str | None = None
    summary: str = ""

    @property
    def num_params(self) -> int:
        return len(self.params)


def _g(
    name: str,
    nq: int,
    params: tuple[str, ...] = (),
    summary: str = "",
    *,
    qasm3: str | None = "",
    qasm2: str | None = "",
) -> OpSpec:
    return OpSpec(
        name=name,
        kind=OpKind.GATE,
        num_qubits=nq,
        params=params,
        qasm3=name if qasm3 == "" else qasm3,
        qasm2=name if qasm2 == "" else qasm2,
        summary=summary,
    )


_T = ("theta",)
_SPECS: Final[tuple[OpSpec, ...]] = (
    _g("id", 1, (), "identity", qasm3="id"),
    _g("x", 1, (), "Pauli X"),
    _g("y", 1, (), "Pauli Y"),
    _g("z", 1, (), "Pauli Z"),
    _g("h", 1, (), "Hadamard"),
    _g("s", 1, (), "sqrt(Z)"),
    _g("sdg", 1, (), "inverse of s"),
    _g("t", 1, (), "fourth root of Z"),
    _g("tdg", 1, (), "inverse of t"),
    _g("sx", 1, (), "sqrt(X)"),
    _g("sxdg", 1, (), "inverse of sx"),
    _g("rx", 1, _T, "rotation about X"),
    _g("ry", 1, _T, "rotation about Y"),
    _g("rz", 1, ("phi",), "rotation about Z"),
    _g("p", 1, ("lambda",), "phase gate", qasm2="u1"),
    _g("u", 1, ("theta", "phi", "lambda"), "general single-qubit gate U(θ,φ,λ)", qasm2="u3"),
    _g("r", 1, ("theta", "phi"), "rotation θ about cos(φ)X + sin(φ)Y", qasm3=None, qasm2=None),
    _g("cx", 2, (), "controlled X"),
    _g("cy", 2, (), "controlled Y"),
    _g("cz", 2, (), "controlled Z"),
    _g("ch", 2, (), "controlled Hadamard"),
    _g("cs", 2, (), "controlled S", qasm2=None),
    _g("csdg", 2, (), "controlled S†", qasm2=None),
    _g("csx", 2, (), "controlled sqrt(X)", qasm2=None),
    _g("cp", 2, ("lambda",), "controlled phase", qasm2="cu1"),
    _g("crx", 2, _T, "controlled RX"),
    _g("cry", 2, _T, "controlled RY"),
    _g("crz", 2, _T, "controlled RZ"),
    _g("cu", 2, ("theta", "phi", "lambda", "gamma"), "controlled U with phase gamma", qasm2=None),
    _g("swap", 2, (), "swap"),
    _g("iswap", 2, (), "iSWAP", qasm3=None, qasm2=None),
    _g("ecr", 2, (), "echoed cross-resonance", qasm3=None, qasm2=None),
    _g("dcx", 2, (), "double CNOT", qasm3=None, qasm2=None),
    _g("rxx", 2, _T, "XX rotation (Mølmer-Sørensen type)", qasm3=None),
    _g("ryy", 2, _T, "YY rotation", qasm3=None),
    _g("rzz", 2, _T, "ZZ rotation", qasm3=None),
    _g("rzx", 2, _T, "ZX rotation", qasm3=None, qasm2=None),
    _g("xx_plus_yy", 2, ("theta", "beta"), "XX+YY interaction", qasm3=None, qasm2=None),
    _g("xx_minus_yy", 2, ("theta", "beta"), "XX-YY interaction", qasm3=None, qasm2=None),
    _g(
        "fsim",
        2,
        ("theta", "phi"),
        "fermionic simulation gate (Cirq FSimGate)",
        qasm3=None,
        qasm2=None,
    ),
    _g("ccx", 3, (), "Toffoli"),
    _g("ccz", 3, (), "doubly controlled Z", qasm3=None, qasm2=None),
    _g("cswap", 3, (), "Fredkin"),
    _g("rccx", 3, (), "relative-phase Toffoli", qasm3=None),
    _g("c3sx", 4, (), "triply controlled sqrt(X)", qasm3=None, qasm2="c3sqrtx"),
    _g("rcccx", 4, (), "relative-phase triply controlled X", qasm3=None, qasm2="rc3x"),
    OpSpec(
        "measure",
        OpKind.MEASURE,
        1,
        num_clbits=1,
        qasm3="measure",
        qasm2="measure",
        summary="measure a qubit into a classical bit",
    ),
    OpSpec("reset", OpKind.RESET, 1, qasm3="reset", qasm2="reset", summary="reset to |0>"),
    OpSpec(
        "barrier",
        OpKind.BARRIER,
        None,
        qasm3="barrier",
        qasm2="barrier",
        summary="scheduling barrier over any qubits",
    ),
    OpSpec(
        "delay",
        OpKind.DELAY,
        1,
        ("duration",),
        qasm3="delay",
        summary="idle for a duration in the instruction's unit",
    ),
    OpSpec("unitary", OpKind.UNITARY, None, summary="an explicit unitary matrix on any qubits"),
    OpSpec(
        "if",
        OpKind.CONTROL,
        None,
        summary="run a body when a condition holds, else an optional else body",
    ),
    OpSpec("while", OpKind.CONTROL, None, summary="run a body while a condition holds (v2)"),
    OpSpec("for", OpKind.CONTROL, None, summary="run a body once per value of a range (v2)"),
    OpSpec("switch", OpKind.CONTROL, None, summary="run the case matching a value (v2)"),
    OpSpec("break", OpKind.JUMP, None, summary="leave the innermost loop (v2)"),
    OpSpec("continue", OpKind.JUMP, None, summary="start the innermost loop's next turn (v2)"),
    OpSpec("store", OpKind.STORE, None, summary="set a clbit, register or variable (v2)"),
)

#: The registry: op name to its spec. Read-only.
OPS: Final = MappingProxyType({spec.name: spec for spec in _SPECS})

#: Units a ``delay`` may use (OpenQASM 3 durations, plus ``dt`` of the target).
DELAY_UNITS: Final = frozenset({"dt", "s", "ms", "us", "ns", "ps"})


def op_spec(name: str) -> OpSpec:
    """Return the spec of ``name``, or raise a ``PayloadError`` that lists what is known."""
    try:
        return OPS[name]
    except KeyError:
        from qrelay.errors import PayloadError

        raise PayloadError(f"unknown op {name!r}; known ops: {', '.join(sorted(OPS))}") from None


def gate_names() -> frozenset[str]:
    """The names of the unitary gates with a fixed arity."""
    return frozenset(name for name, spec in OPS.items() if spec.kind is OpKind.GATE)
