"""Property tests on random circuits: round trips keep operators and measurement mappings.

Qubit order across frameworks (documented in ``qrelay_cirq.convert``): payload qubit i is
Qiskit qubit i and the i-th Cirq qubit; Qiskit's operator is little-endian and Cirq's
big-endian, so ``Operator(qc) == cirq.unitary(c, qubit_order=reversed(qubits))``.
"""

from __future__ import annotations

import math
from typing import Any

import cirq
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import ClassicalRegister, QuantumRegister
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator

import qrelay_qasm
from qrelay.payload import Circuit
from qrelay_cirq.convert import from_cirq, register_arrays, to_cirq
from qrelay_qiskit.convert import from_qiskit, to_qiskit

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_QISKIT_GATES = sorted(
    (name, gate)
    for name, gate in get_standard_gate_name_mapping().items()
    if name not in {"measure", "reset", "delay", "global_phase"} and gate.num_qubits <= 3
)
_ANGLES = st.floats(min_value=-2 * math.pi, max_value=2 * math.pi, allow_nan=False)


@st.composite
def qiskit_gates(draw: Any, num_qubits: int) -> list[tuple[Any, list[int]]]:
    gates = []
    for _ in range(draw(st.integers(0, 12))):
        _name, template = draw(st.sampled_from(_QISKIT_GATES))
        if template.num_qubits > num_qubits:
            continue
        qubits = draw(st.permutations(range(num_qubits)))[: template.num_qubits]
        params = [draw(_ANGLES) for _ in template.params]
        gate = type(template)(*params) if params else template
        gates.append((gate, list(qubits)))
    return gates


@st.composite
def qiskit_circuits(draw: Any) -> tuple[QuantumCircuit, QuantumCircuit]:
    """A unitary circuit, and the same circuit followed by measurements into two registers."""
    n = draw(st.integers(1, 4))
    qr = QuantumRegister(n, "q")
    ca = ClassicalRegister(draw(st.integers(1, 3)), "ca")
    cb = ClassicalRegister(draw(st.integers(1, 3)), "cb")
    unitary = QuantumCircuit(qr, global_phase=draw(_ANGLES))
    for gate, qubits in draw(qiskit_gates(n)):
        unitary.append(gate, qubits)
    measured = unitary.copy()
    measured.add_register(ca, cb)
    for q in range(n):
        if q == 0 or draw(st.booleans()):
            measured.measure(q, draw(st.integers(0, measured.num_clbits - 1)))
    return unitary, measured


def _measure_map(qc: QuantumCircuit) -> list[tuple[int, int]]:
    return [
        (qc.find_bit(ci.qubits[0]).index, qc.find_bit(ci.clbits[0]).index)
        for ci in qc.data
        if ci.name == "measure"
    ]


@SETTINGS
@given(qiskit_circuits())
def test_qiskit_round_trip_keeps_operator_and_measurements(
    circuits: tuple[QuantumCircuit, QuantumCircuit],
) -> None:
    unitary, measured = circuits
    payload = from_qiskit(unitary)
    back = to_qiskit(Circuit.model_validate_json(payload.model_dump_json()))
    assert Operator(unitary).equiv(Operator(back))
    assert np.allclose(Operator(unitary).data, Operator(back).data, atol=1e-8)  # phase too
    # the unvalidated fast path builds the same, valid circuit
    assert Circuit.model_validate(from_qiskit(unitary, validate=False).model_dump()) == payload
    back_measured = to_qiskit(from_qiskit(measured))
    assert _measure_map(back_measured) == _measure_map(measured)
    assert [(r.name, r.size) for r in back_measured.cregs] == [
        ("ca", measured.cregs[0].size),
        ("cb", measured.cregs[1].size),
    ]


@SETTINGS
@given(qiskit_circuits())
def test_qiskit_to_cirq_same_unitary_and_register_bits(
    circuits: tuple[QuantumCircuit, QuantumCircuit],
) -> None:
    unitary, measured = circuits
    n = unitary.num_qubits
    circuit = to_cirq(from_qiskit(unitary))
    qubits = cirq.LineQubit.range(n)
    got = circuit.unitary(qubit_order=list(reversed(qubits)))
    assert np.allclose(Operator(unitary).data, got, atol=1e-7)
    # measurement bits: prepare a basis state, measure as the Qiskit circuit does
    basis = QuantumCircuit(*measured.qregs, *measured.cregs)
    pattern = [q % 2 for q in range(n)]
    for q, bit in enumerate(pattern):
        if bit:
            basis.x(q)
    for ci in measured.data:
        if ci.name == "measure":
            basis.append(ci)
    payload = from_qiskit(basis)
    result = cirq.Simulator().run(to_cirq(payload), repetitions=1)
    arrays = register_arrays(payload, result.records)
    expected = {reg.name: [0] * reg.size for reg in payload.registers}
    for q, clbit in _measure_map(basis):
        name, bit = payload.clbit_location(clbit)
        expected[name][bit] = pattern[q]
    assert {name: array[0].tolist() for name, array in arrays.items()} == expected


_CIRQ_FAMILIES: list[Any] = [
    lambda d: cirq.XPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.YPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.ZPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.HPowGate(exponent=d(_EXP)),
    lambda d: cirq.rx(d(_ANGLES)),
    lambda d: cirq.CZPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.CXPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.SwapPowGate(exponent=d(_EXP)),
    lambda d: cirq.ISwapPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.FSimGate(theta=d(_ANGLES), phi=d(_ANGLES)),
    lambda d: cirq.PhasedXPowGate(phase_exponent=d(_EXP), exponent=d(_EXP)),
    lambda d: cirq.PhasedXZGate(
        x_exponent=d(_EXP), z_exponent=d(_EXP), axis_phase_exponent=d(_EXP)
    ),
    lambda d: cirq.XXPowGate(exponent=d(_EXP), global_shift=d(_SHIFT)),
    lambda d: cirq.CCX,
    lambda d: cirq.CSWAP,
    lambda d: cirq.CCZ ** d(_EXP),
]
_EXP = st.floats(min_value=-2, max_value=2, allow_nan=False)
_SHIFT = st.sampled_from([0.0, -0.5, 0.25])


@st.composite
def cirq_circuits(draw: Any) -> cirq.Circuit:
    qubits = draw(
        st.sampled_from(
            [
                cirq.LineQubit.range(3),
                [cirq.GridQubit(0, 0), cirq.GridQubit(0, 1), cirq.GridQubit(1, 0)],
                [cirq.NamedQubit("b"), cirq.NamedQubit("a"), cirq.LineQubit(4)],
            ]
        )
    )
    ops = [cirq.I(q) for q in qubits]
    for _ in range(draw(st.integers(1, 10))):
        gate = draw(st.sampled_from(_CIRQ_FAMILIES))(draw)
        chosen = draw(st.permutations(qubits))[: gate.num_qubits()]
        ops.append(gate.on(*chosen))
    return cirq.Circuit(ops)


@SETTINGS
@given(cirq_circuits(), st.booleans())
def test_cirq_round_trip_keeps_unitary_and_keys(circuit: cirq.Circuit, measure: bool) -> None:
    order = sorted(circuit.all_qubits())
    back = to_cirq(Circuit.model_validate_json(from_cirq(circuit).model_dump_json()))
    assert cirq.approx_eq(
        circuit.unitary(qubit_order=order), back.unitary(qubit_order=order), atol=1e-7
    )
    if measure:
        measured = circuit + cirq.Circuit(
            cirq.measure(*order[:2], key="k", invert_mask=(True,)),
            cirq.measure(order[2], key="k2"),
            cirq.measure(*order[:2], key="k"),
        )
        back = to_cirq(from_cirq(measured))
        ours = cirq.Simulator(seed=1).run(back, repetitions=20)
        theirs = cirq.Simulator(seed=1).run(measured, repetitions=20)
        assert {k: v.shape for k, v in ours.records.items()} == {
            k: v.shape for k, v in theirs.records.items()
        }


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qiskit_circuits(), st.sampled_from([2, 3]))
def test_qasm_text_payload_text_payload_is_a_fixed_point(
    circuits: tuple[QuantumCircuit, QuantumCircuit], version: int
) -> None:
    _, measured = circuits
    write = qrelay_qasm.to_qasm2 if version == 2 else qrelay_qasm.to_qasm3
    text = write(from_qiskit(measured))
    first = qrelay_qasm.loads(text)
    second = qrelay_qasm.loads(write(first))
    assert second == first
