"""Cirq gates reach the payload as the plainest equal gate, natively for a CZ device.

Integer powers are the gate itself (``CNOT**-1`` is one CX, not ``p + crx``), and what
Cirq's own compilation for a CZ device produces (``PhasedXZGate``, ``RouteCQC`` output)
is accepted by ``QRelayDevice('square_qpu')`` as it is.
"""

from __future__ import annotations

import cirq
import numpy as np
import pytest
import sympy

from qrelay.qpu.fleet import fleet_device
from qrelay_cirq.convert import from_cirq, to_cirq
from qrelay_cirq.device import QRelayDevice

A, B = cirq.LineQubit.range(2)


def _ops(op: cirq.Operation) -> list[str]:
    return [inst["op"] for inst in from_cirq(cirq.Circuit(op)).instructions]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (cirq.CNOT(A, B) ** -1, ["cx"]),
        (cirq.CZ(A, B) ** -1, ["cz"]),
        (cirq.H(A) ** -1, ["h"]),
        (cirq.X(A) ** 3, ["x"]),
        (cirq.Y(A) ** -1, ["y"]),
        (cirq.Z(A) ** -1.5, ["s"]),
        (cirq.SWAP(A, B) ** -1, ["swap"]),
        (cirq.ISWAP(A, B) ** -3, ["iswap"]),
        (cirq.H(A) ** 2, []),
        (cirq.CZ(A, B) ** 4, []),
        (cirq.XPowGate(exponent=3, global_shift=0.25)(A), ["rx"]),
    ],
)
def test_integer_powers_convert_to_the_gate_both_ways(
    op: cirq.Operation, expected: list[str]
) -> None:
    assert _ops(op) == expected
    back = to_cirq(from_cirq(cirq.Circuit(op)))
    whole = cirq.Circuit(cirq.I(A), cirq.I(B), op)
    again = cirq.Circuit(cirq.I(A), cirq.I(B), *back.all_operations())
    assert np.allclose(cirq.unitary(whole), cirq.unitary(again), atol=1e-9)
    if expected:
        assert len(list(back.all_operations())) <= 2  # the gate (and a global phase)


def test_an_inverse_cnot_compiles_to_one_cz_on_square_qpu() -> None:
    pytest.importorskip("qiskit")
    from qrelay_qiskit.compiler import TranspileCompiler

    payload = from_cirq(cirq.Circuit(cirq.CNOT(A, B) ** -1, cirq.measure(A, B, key="m")))
    compiled = TranspileCompiler().compile(payload, fleet_device("square_qpu")).circuit
    assert [i["op"] for i in compiled.instructions].count("cz") == 1


def test_phased_xz_is_native_rz_rx_rz() -> None:
    gate = cirq.PhasedXZGate(x_exponent=0.3, z_exponent=0.7, axis_phase_exponent=-0.2)
    assert _ops(gate(A)) == ["rz", "rx", "rz"]
    back = to_cirq(from_cirq(cirq.Circuit(gate(A))))
    assert cirq.allclose_up_to_global_phase(cirq.unitary(cirq.Circuit(gate(A))), cirq.unitary(back))
    assert np.allclose(cirq.unitary(cirq.Circuit(gate(A))), cirq.unitary(back))


def _square() -> QRelayDevice:
    return QRelayDevice(fleet_device("square_qpu"))


def test_square_qpu_accepts_cirqs_cz_target_gateset_output() -> None:
    device = _square()
    q = device.qubits
    circuit = cirq.Circuit(
        cirq.H(q[0]),
        cirq.CNOT(q[0], q[1]),
        cirq.CNOT(q[1], q[5]) ** -1,
        cirq.ry(0.3).on(q[5]),
        cirq.measure(q[0], q[1], q[5], key="m"),
    )
    compiled = cirq.optimize_for_target_gateset(circuit, gateset=cirq.CZTargetGateset())
    assert any(isinstance(op.gate, cirq.PhasedXZGate) for op in compiled.all_operations())
    device.validate_circuit(compiled)


def test_square_qpu_accepts_routed_output_on_its_qubits() -> None:
    device = _square()
    line = cirq.LineQubit.range(4)
    circuit = cirq.Circuit(
        cirq.H(line[0]),
        *(cirq.CNOT(line[0], line[i]) for i in range(1, 4)),
        cirq.measure(*line, key="m"),
    )
    router = cirq.RouteCQC(device.metadata.nx_graph)
    routed, _, _ = router.route_circuit(circuit)
    native = cirq.optimize_for_target_gateset(routed, gateset=cirq.CZTargetGateset())
    device.validate_circuit(native)
    with pytest.raises(ValueError, match="not coupled"):
        device.validate_operation(cirq.CZ(device.qubits[0], device.qubits[15]))


def test_device_refuses_feed_forward_unless_the_target_runs_it() -> None:
    q = cirq.GridQubit(0, 0)
    controlled = cirq.X(q).with_classical_controls("m")
    circuit = cirq.Circuit(cirq.measure(q, key="m"), controlled)
    with pytest.raises(ValueError, match=r"classically controlled.*'square_qpu' does not run"):
        QRelayDevice(fleet_device("square_qpu")).validate_circuit(circuit)
    from qrelay.service.catalog import simulator_targets

    cirq_sim = next(t for t in simulator_targets() if t.name == "cirq_simulator")
    QRelayDevice(cirq_sim).validate_operation(
        controlled.transform_qubits(lambda _: cirq.LineQubit(0))
    )


def test_device_validates_loops_and_expression_conditions_by_capability() -> None:
    from qrelay.service.catalog import simulator_targets

    q = cirq.GridQubit(0, 0)
    body = cirq.FrozenCircuit(cirq.reset(q), cirq.X(q), cirq.measure(q, key="m"))
    loop = cirq.CircuitOperation(
        body, repeat_until=cirq.KeyCondition(cirq.MeasurementKey("m")), use_repetition_ids=False
    )
    either = cirq.SympyCondition(sympy.Symbol("m") > 0)
    square = QRelayDevice(fleet_device("square_qpu"))
    with pytest.raises(ValueError, match=r"repeats until m, and device 'square_qpu' does not"):
        square.validate_operation(loop)
    heavyhex = QRelayDevice(fleet_device("heavyhex_qpu"))
    heavyhex_q = heavyhex.qubits[0]
    heavyhex.validate_operation(loop.transform_qubits(lambda _: heavyhex_q))
    with pytest.raises(ValueError, match=r"H\(q\(0\)\) is not native to device 'heavyhex_qpu'"):
        heavyhex.validate_operation(
            loop.replace(
                circuit=cirq.FrozenCircuit(cirq.H(q), cirq.measure(q, key="m"))
            ).transform_qubits(lambda _: heavyhex_q)
        )
    cirq_sim = next(t for t in simulator_targets() if t.name == "cirq_simulator")
    line = cirq.LineQubit(0)
    sim = QRelayDevice(cirq_sim)
    sim.validate_operation(loop.transform_qubits(lambda _: line))
    sim.validate_operation(cirq.X(line).with_classical_controls(either))
    only_if = cirq_sim.capabilities.model_copy(update={"control_flow": ["if"]})
    ifs_only = cirq_sim.model_copy(update={"capabilities": only_if})
    with pytest.raises(ValueError, match="does not run classical expressions as conditions"):
        QRelayDevice(ifs_only).validate_operation(cirq.X(line).with_classical_controls(either))
