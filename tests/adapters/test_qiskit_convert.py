"""Qiskit <-> payload: golden files, registers and memory slots, parameters, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import (
    ClassicalRegister,
    Clbit,
    Gate,
    Parameter,
    ParameterVector,
    Qubit,
)
from qiskit.circuit.library import (
    CU1Gate,
    CU3Gate,
    GlobalPhaseGate,
    QFTGate,
    U1Gate,
    U2Gate,
    U3Gate,
    UnitaryGate,
    get_standard_gate_name_mapping,
)
from qiskit.quantum_info import Operator, random_unitary
from qiskit_aer import AerSimulator
from tests.adapters.golden import check_golden

from qrelay.errors import ConversionError
from qrelay.payload import OPS, Circuit, OpKind
from qrelay_qiskit.convert import from_qiskit, to_qiskit


def _round_trip(qc: QuantumCircuit) -> QuantumCircuit:
    return to_qiskit(Circuit.model_validate_json(from_qiskit(qc).model_dump_json()))


def _measure_map(qc: QuantumCircuit) -> list[tuple[int, int]]:
    return [
        (qc.find_bit(ci.qubits[0]).index, qc.find_bit(ci.clbits[0]).index)
        for ci in qc.data
        if ci.name == "measure"
    ]


# ------------------------------------------------------------------ golden circuits


def multi_register() -> QuantumCircuit:
    a, b = QuantumRegister(2, "a"), QuantumRegister(1, "b")
    c1, c2 = ClassicalRegister(2, "c1"), ClassicalRegister(1, "c2")
    qc = QuantumCircuit(a, b, c1, c2, name="multi_register", metadata={"experiment": 7})
    qc.h(a[0])
    qc.cx(a[0], b[0])
    qc.measure(b[0], c2[0])  # mid-circuit, into the second register
    qc.x(b[0])
    qc.cx(a[0], a[1])
    qc.measure(a[1], c1[0])
    qc.measure(a[0], c1[1])
    return qc


def unused_clbits() -> QuantumCircuit:
    qc = QuantumCircuit(
        [Qubit(), Qubit()],
        [Clbit()],
        ClassicalRegister(3, "r"),
        [Clbit()],
        name="unused_clbits",
    )
    qc.add_register(ClassicalRegister(name="alias", bits=[qc.clbits[4], qc.clbits[0]]))
    qc.h(0)
    qc.measure(0, 4)  # a loose clbit that an aliasing register also holds
    qc.measure(1, 2)  # r[1]; r[0], r[2] and clbit 0 stay unused
    return qc


def _defined_gate() -> Gate:
    body = QuantumCircuit(2, global_phase=0.25)
    body.h(0)
    body.cx(0, 1)
    body.rz(0.5, 1)
    gate = body.to_gate(label=None)
    gate.name = "my_entangler"
    return gate


def every_gate() -> QuantumCircuit:
    qc = QuantumCircuit(4, name="every_gate", global_phase=0.125)
    values = iter(0.1 * k + 0.05 for k in range(1, 200))
    for name, gate in sorted(get_standard_gate_name_mapping().items()):
        if name in {"measure", "reset", "delay", "global_phase"}:
            continue
        params = [next(values) for _ in gate.params]
        op = type(gate)(*params) if params else gate
        qc.append(op, list(range(op.num_qubits)))
    qc.append(U1Gate(0.3), [0])
    qc.append(U2Gate(0.2, 0.4), [1])
    qc.append(U3Gate(0.1, 0.2, 0.3), [2])
    qc.append(CU1Gate(0.7), [0, 3])
    qc.append(CU3Gate(0.1, 0.2, 0.3), [3, 1])
    qc.append(GlobalPhaseGate(0.5), [])
    qc.append(_defined_gate(), [2, 0])
    qc.append(UnitaryGate(random_unitary(4, seed=11)), [3, 1])
    return qc


def parameters() -> QuantumCircuit:
    theta = Parameter("theta")
    v = ParameterVector("v", 3)
    qc = QuantumCircuit(2, 1, name="parameters")
    qc.rx(theta, 0)
    qc.ry(2 * theta + v[0], 1)
    qc.rz(v[1].sin() / 3 - theta**2, 0)
    qc.u(v[2].cos(), (theta * v[0]).exp(), abs(v[1]).log(), 1)
    qc.cp(1.5 - theta, 0, 1)
    qc.rzz(v[0].arctan() + v[1].arcsin() - v[2].arccos(), 0, 1)
    qc.global_phase = theta / 2
    qc.measure(0, 0)
    return qc


def dynamic() -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    c = ClassicalRegister(2, "c")
    flag = ClassicalRegister(1, "flag")
    qc = QuantumCircuit(q, c, flag, name="dynamic")
    qc.h(0)
    qc.measure(0, c[0])
    with qc.if_test((c[0], 1)) as else_:
        qc.x(1)
    with else_:
        qc.y(2)
    qc.measure(1, c[1])
    with qc.if_test((c, 2)):
        qc.z(2)
        qc.measure(2, flag[0])
    qc.reset(0)
    qc.barrier()
    qc.delay(120, 1, unit="ns")
    qc.delay(16, 2, unit="dt")
    qc.measure(2, flag[0])
    return qc


GOLDEN: dict[str, Callable[[], QuantumCircuit]] = {
    "multi_register": multi_register,
    "unused_clbits": unused_clbits,
    "every_gate": every_gate,
    "parameters": parameters,
    "dynamic": dynamic,
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name: str) -> None:
    qc = GOLDEN[name]()
    golden = check_golden("qiskit", name, from_qiskit(qc))
    back = to_qiskit(golden)
    assert back.name == qc.name
    assert back.metadata == qc.metadata
    assert [(r.name, len(r)) for r in back.cregs] == [(r.name, len(r)) for r in qc.cregs]
    assert [(r.name, len(r)) for r in back.qregs] == [(r.name, len(r)) for r in qc.qregs]
    assert back.num_clbits == qc.num_clbits
    assert _measure_map(back) == _measure_map(qc)
    if not qc.parameters and not qc.clbits:
        assert np.allclose(Operator(qc).data, Operator(back).data)


def test_every_standard_gate_maps_to_its_op() -> None:
    payload = from_qiskit(every_gate())
    used = {inst["op"] for inst in payload.instructions}
    gate_ops = {name for name, spec in OPS.items() if spec.kind is OpKind.GATE} - {"fsim"}
    assert gate_ops <= used
    assert "unitary" in used


def test_every_gate_keeps_operator_with_global_phase() -> None:
    qc = every_gate()
    back = _round_trip(qc)
    assert np.allclose(Operator(qc).data, Operator(back).data)


def test_written_gates_report_their_own_parameters_every_time() -> None:
    """The writer copies one template instruction per standard gate; every copy's gate (the
    operation object Qiskit hands out, and the instruction's params) carries the copy's
    own values and qubits, on every call, also after a caller has read the operations."""
    payload = Circuit.model_validate_json(from_qiskit(every_gate()).model_dump_json())
    gates = [inst for inst in payload.instructions if inst["op"] != "unitary"]
    assert sum(1 for inst in gates if inst.get("params")) > 20
    for _ in range(2):
        back = to_qiskit(payload)
        written = [ci for ci in back.data if ci.operation.name != "unitary"]
        assert len(written) == len(gates)
        for ci, inst in zip(written, gates, strict=True):
            assert ci.operation.name == inst["op"]
            assert [float(p) for p in ci.operation.params] == inst.get("params", [])
            assert [float(p) for p in ci.params] == inst.get("params", [])
            assert [back.find_bit(q).index for q in ci.qubits] == inst["qubits"]
    symbol = Parameter("s")
    sym = QuantumCircuit(2)
    sym.crz(2 * symbol, 0, 1)
    sym.rx(symbol, 1)
    sym_back = to_qiskit(from_qiskit(sym))
    assert [str(ci.operation.params[0]) for ci in sym_back.data] == ["2*s", "s"]
    assert [p.name for p in sym_back.parameters] == ["s"]
    bound = sym_back.assign_parameters({sym_back.parameters[0]: 0.25})
    assert [float(ci.operation.params[0]) for ci in bound.data] == [0.5, 0.25]


def test_multi_register_counts_land_in_the_same_slots() -> None:
    qc = multi_register()
    back = _round_trip(qc)
    sim = AerSimulator(seed_simulator=5)
    ours = sim.run(back, shots=200).result().get_counts()
    theirs = sim.run(qc, shots=200).result().get_counts()
    assert ours == theirs
    assert set(ours) <= {"0 00", "1 11"}


def test_loose_clbits_keep_memory_slots_and_registers() -> None:
    qc = unused_clbits()
    payload = from_qiskit(qc)
    # payload registers tile the clbits in Qiskit order, so global clbit == memory slot
    assert payload.num_clbits == qc.num_clbits
    assert [(reg.name, reg.size) for reg in payload.registers] == [
        ("_clbits0", 1),
        ("r", 3),
        ("_clbits4", 1),
    ]
    assert payload.metadata["qiskit.cregs"] == [["r", [1, 2, 3]], ["alias", [4, 0]]]
    back = to_qiskit(payload)
    assert [back.find_bit(b).index for b in back.cregs[1]] == [4, 0]
    assert _measure_map(back) == [(0, 4), (1, 2)]


def test_parameters_keep_names_and_values() -> None:
    qc = parameters()
    payload = from_qiskit(qc)
    assert payload.parameters == ["theta", "v[0]", "v[1]", "v[2]"]
    assert payload.metadata["qiskit.parameter_vectors"] == {"v": 3}
    back = to_qiskit(payload)
    assert [p.name for p in back.parameters] == [p.name for p in qc.parameters]
    assert type(back.parameters[1]).__name__ == "ParameterVectorElement"
    values = {"theta": 0.3, "v[0]": -0.2, "v[1]": 0.45, "v[2]": 0.8}
    expected = qc.remove_final_measurements(inplace=False).assign_parameters(
        {p: values[p.name] for p in qc.parameters}
    )
    bound = to_qiskit(payload, bindings_row=values).remove_final_measurements(inplace=False)
    assert not bound.parameters
    assert np.allclose(Operator(expected).data, Operator(bound).data)
    unbound = back.remove_final_measurements(inplace=False).assign_parameters(
        {p: values[p.name] for p in back.parameters}
    )
    assert np.allclose(Operator(expected).data, Operator(unbound).data)


def test_dynamic_circuit_runs_the_same_on_aer() -> None:
    qc = dynamic()
    back = _round_trip(qc)
    ops = [ci.name for ci in back.data]
    assert ops.count("if_else") == 2
    delays = [ci.operation for ci in back.data if ci.name == "delay"]
    assert [(d.duration, d.unit) for d in delays] == [(120.0, "ns"), (16, "dt")]
    sim = AerSimulator(seed_simulator=3)
    ours = sim.run(back, shots=300).result().get_counts()
    theirs = sim.run(qc, shots=300).result().get_counts()
    assert ours == theirs


def test_if_else_payload_shape() -> None:
    payload = from_qiskit(dynamic())
    ifs = [inst for inst in payload.instructions if inst["op"] == "if"]
    assert ifs[0]["condition"] == {"clbit": 0, "value": 1}
    assert ifs[0]["body"] == [{"op": "x", "qubits": [1]}]
    assert ifs[0]["else_body"] == [{"op": "y", "qubits": [2]}]
    assert ifs[1]["condition"] == {"register": "c", "value": 2}
    assert ifs[1]["body"][1] == {"op": "measure", "qubits": [2], "clbits": [2]}


def test_opaque_gate_becomes_unitary_and_parameterised_opaque_is_refused() -> None:
    class Opaque(Gate):  # type: ignore[misc]
        def __init__(self, *params: object) -> None:
            super().__init__("opaque", 1, list(params))

        def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
            return np.array([[0, 1], [1, 0]], dtype=complex)

    qc = QuantumCircuit(2)
    qc.append(Opaque(), [1])
    payload = from_qiskit(qc)
    assert payload.instructions[0]["op"] == "unitary"
    assert payload.instructions[0]["qubits"] == [1]
    assert np.allclose(Operator(to_qiskit(payload)).data, Operator(qc).data)

    bad = QuantumCircuit(2)
    bad.h(0)
    bad.append(Gate("mystery", 1, [Parameter("a")]), [0])
    with pytest.raises(ConversionError, match=r"instruction 1 \(mystery\)"):
        from_qiskit(bad)


def test_decomposition_through_definitions_keeps_operator() -> None:
    qc = QuantumCircuit(3)
    qc.append(QFTGate(3), [0, 1, 2])
    qc.mcx([0, 1], 2)
    payload = from_qiskit(qc)
    assert all(inst["op"] in OPS for inst in payload.instructions)
    assert np.allclose(Operator(qc).data, Operator(to_qiskit(payload)).data)


def test_unsupported_control_flow_names_the_instruction() -> None:
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    with qc.box():
        qc.x(0)
    with pytest.raises(ConversionError, match=r"instruction 1 \(box\)"):
        from_qiskit(qc)


def test_global_phase_gate_and_non_finite_parameter() -> None:
    qc = QuantumCircuit(1)
    qc.append(GlobalPhaseGate(0.1), [])
    qc.rx(0.2, 0)
    payload = from_qiskit(qc)
    assert math.isclose(float(payload.global_phase), 0.1)  # type: ignore[arg-type]
    qc2 = QuantumCircuit(1)
    qc2.rx(float("nan"), 0)
    with pytest.raises(ConversionError, match="not finite"):
        from_qiskit(qc2)


def test_legacy_gates_take_their_op_with_symbols_and_refuse_non_finite_values() -> None:
    theta = Parameter("theta")
    qc = QuantumCircuit([Qubit(), Qubit()])  # loose qubits: read through the qubit map
    qc.append(U2Gate(theta, 0.4), [1])
    qc.append(CU1Gate(theta), [1, 0])
    assert from_qiskit(qc).instructions == [
        {"op": "u", "qubits": [1], "params": [math.pi / 2, "theta", 0.4]},
        {"op": "cp", "qubits": [1, 0], "params": ["theta"]},
    ]
    bad = QuantumCircuit(1)
    bad.append(U1Gate(float("inf")), [0])
    with pytest.raises(ConversionError, match=r"instruction 0 \(u1\): .*not finite"):
        from_qiskit(bad, validate=False)


def test_bindings_row_missing_symbol_names_it() -> None:
    payload = from_qiskit(parameters())
    with pytest.raises(ConversionError, match="theta"):
        to_qiskit(payload, bindings_row={"v[0]": 1.0, "v[1]": 1.0, "v[2]": 1.0})


def test_payload_from_elsewhere_gets_default_registers() -> None:
    payload = Circuit(
        num_qubits=2,
        registers=[{"name": "m", "size": 2}],
        instructions=[
            {"op": "fsim", "qubits": [0, 1], "params": [0.3, 0.2]},
            {"op": "measure", "qubits": [1], "clbits": [0]},
        ],
    )
    qc = to_qiskit(payload)
    assert [r.name for r in qc.qregs] == ["q"]
    assert [r.name for r in qc.cregs] == ["m"]
    assert from_qiskit(qc).instructions == payload.instructions


def test_if_else_with_classical_expressions() -> None:
    from qiskit.circuit.classical import expr

    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test(expr.equal(qc.cregs[0], 1)):
        qc.x(1)
    with qc.if_test(expr.logic_not(qc.clbits[0])):
        qc.z(1)
    with qc.if_test(expr.not_equal(qc.cregs[0], 1)):
        qc.y(1)
    qc.measure(1, 1)
    payload = from_qiskit(qc)
    ifs = [inst for inst in payload.instructions if inst["op"] == "if"]
    assert [i["condition"] for i in ifs] == [
        {"register": "c", "value": 1},
        {"clbit": 0, "value": 0},
        {"register": "c", "value": 1},
    ]
    assert ifs[2]["body"] == []
    assert ifs[2]["else_body"] == [{"op": "y", "qubits": [1]}]
    sim = AerSimulator(seed_simulator=8)
    assert (
        sim.run(to_qiskit(payload), shots=200).result().get_counts()
        == sim.run(qc, shots=200).result().get_counts()
    )
