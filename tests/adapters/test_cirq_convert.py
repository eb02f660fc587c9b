"""Cirq <-> payload: golden files, qubit identities, keys and instances, control, errors."""

from __future__ import annotations

from collections.abc import Callable

import cirq
import numpy as np
import pytest
import sympy
from tests.adapters.golden import check_golden

from qrelay.errors import ConversionError
from qrelay.payload import Circuit
from qrelay_cirq.convert import (
    from_cirq,
    measurement_plan,
    qubit_from_label,
    qubit_label,
    register_arrays,
    to_cirq,
)

A, B = cirq.LineQubit.range(2)
G = cirq.GridQubit(1, 2)
N = cirq.NamedQubit("anc")


def _round_trip(circuit: cirq.Circuit) -> cirq.Circuit:
    return to_cirq(Circuit.model_validate_json(from_cirq(circuit).model_dump_json()))


# ------------------------------------------------------------------ golden circuits


def repeated_keys() -> cirq.Circuit:
    return cirq.Circuit(
        cirq.H(A),
        cirq.CNOT(A, G),
        cirq.measure(A, G, key="m", invert_mask=(False, True)),
        cirq.X(N),
        cirq.measure(N, key="flag"),
        cirq.H(B),
        cirq.measure(A, B, key="m"),  # the second instance of key "m"
        cirq.measure(G, key="odd key!"),
    )


def gate_families() -> cirq.Circuit:
    return cirq.Circuit(
        cirq.X(A), cirq.Y(B), cirq.Z(G), cirq.H(N), cirq.S(A), cirq.T(B),
        (cirq.S**-1)(G), (cirq.T**-1)(N),
        cirq.XPowGate(exponent=0.3)(A),
        cirq.XPowGate(exponent=0.7, global_shift=0.25)(B),
        cirq.YPowGate(exponent=-0.4, global_shift=-0.5)(G),
        cirq.ZPowGate(exponent=0.6, global_shift=0.1)(N),
        cirq.rx(0.2)(A), cirq.ry(0.3)(B), cirq.rz(0.4)(G),
        (cirq.X**0.5)(N), (cirq.H**0.5)(A),
        cirq.CZ(A, B), cirq.CZPowGate(exponent=0.35)(B, G),
        cirq.CNOT(G, N), cirq.CXPowGate(exponent=0.45, global_shift=0.2)(N, A),
        cirq.SWAP(A, G), cirq.SwapPowGate(exponent=0.5)(B, N),
        cirq.ISWAP(A, N), cirq.ISwapPowGate(exponent=0.3)(G, B),
        cirq.FSimGate(theta=0.4, phi=0.9)(A, B),
        cirq.PhasedXPowGate(phase_exponent=0.25, exponent=0.5)(G),
        cirq.PhasedXZGate(x_exponent=0.3, z_exponent=-0.2, axis_phase_exponent=0.7)(N),
        cirq.CCX(A, B, G), cirq.CSWAP(N, A, B), cirq.CCZ(G, N, A),
        cirq.XX(A, B) ** 0.2, cirq.YY(B, G) ** 0.3, cirq.ZZ(G, N) ** 0.4,
        cirq.MatrixGate(cirq.testing.random_unitary(4, random_state=3))(B, N),
        cirq.H.controlled()(A, G), cirq.rx(0.3).controlled()(N, B),
        cirq.qft(A, B, G),
        cirq.I(N),
        cirq.global_phase_operation(np.exp(0.3j)),
    )  # fmt: skip


def parameters() -> cirq.Circuit:
    x, y = sympy.Symbol("x"), sympy.Symbol("y_1")
    return cirq.Circuit(
        cirq.XPowGate(exponent=x)(A),
        cirq.ZPowGate(exponent=2 * x + y, global_shift=0.5)(B),
        cirq.rz(sympy.sin(x) / 3)(A),
        cirq.CZPowGate(exponent=x * y)(A, B),
        cirq.FSimGate(theta=y, phi=sympy.cos(x))(A, B),
        cirq.PhasedXPowGate(phase_exponent=y, exponent=-x)(B),
        cirq.measure(A, B, key="out"),
    )


def dynamic() -> cirq.Circuit:
    return cirq.Circuit(
        cirq.H(A),
        cirq.measure(A, key="a"),
        cirq.X(B).with_classical_controls("a"),
        cirq.measure(A, B, key="ab", invert_mask=(True,)),
        cirq.Z(G).with_classical_controls("ab"),
        cirq.reset(A),
        cirq.wait(B, nanos=40),
        cirq.measure(G, key="g"),
    )


GOLDEN: dict[str, Callable[[], cirq.Circuit]] = {
    "repeated_keys": repeated_keys,
    "gate_families": gate_families,
    "parameters": parameters,
    "dynamic": dynamic,
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name: str) -> None:
    circuit = GOLDEN[name]()
    golden = check_golden("cirq", name, from_cirq(circuit))
    back = to_cirq(golden)
    assert sorted(back.all_qubits()) == sorted(circuit.all_qubits())
    assert sorted(map(str, cirq.measurement_key_objs(back))) == sorted(
        map(str, cirq.measurement_key_objs(circuit))
    )
    if cirq.has_unitary(circuit):
        assert np.allclose(cirq.unitary(circuit), cirq.unitary(back), atol=1e-8)


def test_qubit_labels_round_trip() -> None:
    for qubit in (cirq.LineQubit(7), cirq.GridQubit(-1, 3), cirq.NamedQubit("a:b c")):
        assert qubit_from_label(qubit_label(qubit)) == qubit
    with pytest.raises(ConversionError, match="LineQubit, GridQubit and NamedQubit"):
        qubit_label(cirq.LineQid(0, dimension=3))
    with pytest.raises(ConversionError, match="expected"):
        qubit_from_label("ring:1")


def test_repeated_keys_layout_and_results() -> None:
    circuit = repeated_keys()
    payload = from_cirq(circuit)
    assert payload.qubit_labels == ["grid:1,2", "line:0", "line:1", "named:anc"]
    layout = [(e.register_name, e.key, e.instance, e.inverted) for e in payload.layout or []]
    # registers follow Cirq's moment order (X(anc) and its measurement come first)
    assert layout == [
        ("flag", "flag", 0, None),
        ("m", "m", 0, [1]),
        ("m__1", "m", 1, None),
        ("odd_key_", "odd key!", 0, None),
    ]
    back = to_cirq(payload)
    result = cirq.Simulator(seed=4).run(back, repetitions=50)
    expected = cirq.Simulator(seed=4).run(circuit, repetitions=50)
    for key in ("m", "flag", "odd key!"):
        assert np.array_equal(result.records[key], expected.records[key])
    arrays = register_arrays(payload, result.records)
    # raw bits: the inverted bit of m (instance 0) is flipped back
    m0 = result.records["m"][:, 0, :]
    assert np.array_equal(arrays["m"][:, 0], m0[:, 0])
    assert np.array_equal(arrays["m"][:, 1], 1 - m0[:, 1])
    assert np.array_equal(arrays["m__1"], result.records["m"][:, 1, :])
    assert arrays["flag"].tolist() == [[1]] * 50


def test_dynamic_circuit_matches_cirq() -> None:
    circuit = dynamic()
    back = _round_trip(circuit)
    ours = cirq.Simulator(seed=9).run(back, repetitions=100)
    theirs = cirq.Simulator(seed=9).run(circuit, repetitions=100)
    for key in ("a", "ab", "g"):
        assert np.array_equal(ours.records[key], theirs.records[key])
    waits = [op for op in back.all_operations() if isinstance(op.gate, cirq.WaitGate)]
    assert waits[0].gate.duration == cirq.Duration(nanos=40)


def test_parameters_keep_symbols() -> None:
    circuit = parameters()
    payload = from_cirq(circuit)
    assert payload.parameters == ["x", "y_1"]
    back = to_cirq(payload)
    assert {s.name for s in cirq.parameter_symbols(back)} == {"x", "y_1"}
    values = {"x": 0.37, "y_1": -0.61}
    unmeasured = cirq.drop_terminal_measurements(circuit)
    expected = cirq.unitary(cirq.resolve_parameters(unmeasured, values))
    got = cirq.unitary(cirq.resolve_parameters(cirq.drop_terminal_measurements(back), values))
    assert np.allclose(expected, got)
    bound = to_cirq(payload, bindings_row=values)
    assert not cirq.is_parameterized(bound)
    assert np.allclose(expected, cirq.unitary(cirq.drop_terminal_measurements(bound)))


def test_confusion_map_and_noise_are_refused() -> None:
    confused = cirq.Circuit(
        cirq.H(A),
        cirq.MeasurementGate(
            1, key="c", confusion_map={(0,): np.array([[0.9, 0.1], [0.2, 0.8]])}
        ).on(A),
    )
    with pytest.raises(ConversionError, match=r"operation 1 .*confusion map"):
        from_cirq(confused)
    with pytest.raises(ConversionError, match="operation 0"):
        from_cirq(cirq.Circuit(cirq.depolarize(0.1)(A)))


def test_payload_without_layout_gets_register_keys() -> None:
    payload = Circuit(
        num_qubits=3,
        registers=[{"name": "c", "size": 2}, {"name": "d", "size": 2}],
        instructions=[
            {"op": "x", "qubits": [0]},
            {"op": "measure", "qubits": [0], "clbits": [1]},
            {"op": "measure", "qubits": [1], "clbits": [0]},
            {"op": "measure", "qubits": [2], "clbits": [3]},
            {"op": "x", "qubits": [2]},
            {"op": "measure", "qubits": [2], "clbits": [3]},
            {"op": "if", "qubits": [], "condition": {"register": "c", "value": 2},
             "body": [{"op": "x", "qubits": [1]}]},
        ],
    )  # fmt: skip
    plan = measurement_plan(payload)
    assert [(g.key, g.instance, g.register, g.bits) for g in plan] == [
        ("c", 0, "c", (0, 1)),
        ("d[1]", 0, "d", (1,)),
        ("d[1]", 1, "d", (1,)),
    ]
    circuit = to_cirq(payload)
    result = cirq.Simulator().run(circuit, repetitions=3)
    arrays = register_arrays(payload, result.records)
    assert arrays["c"].tolist() == [[0, 1]] * 3
    assert arrays["d"].tolist() == [[0, 1]] * 3  # the last write wins


def test_measure_inside_if_is_refused_for_cirq() -> None:
    payload = Circuit(
        num_qubits=1,
        registers=[{"name": "c", "size": 1}],
        instructions=[
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 1},
             "body": [{"op": "measure", "qubits": [0], "clbits": [0]}]},
        ],
    )  # fmt: skip
    with pytest.raises(ConversionError, match=r"instruction 1\.body\.0"):
        to_cirq(payload)


def test_circuit_operations_with_key_paths() -> None:
    sub = cirq.FrozenCircuit(cirq.H(A), cirq.measure(A, key="m"))
    outer = cirq.MeasurementKey.parse_serialized("outer:m")
    circuit = cirq.Circuit(
        cirq.CircuitOperation(sub, repetitions=2, use_repetition_ids=True),
        cirq.CircuitOperation(sub).with_key_path(("outer",)),
        cirq.X(B).with_classical_controls(outer),
        cirq.measure(B, key="b"),
    )
    payload = from_cirq(circuit)
    assert [(e.key, e.instance) for e in payload.layout or []] == [
        ("0:m", 0),
        ("1:m", 0),
        ("outer:m", 0),
        ("b", 0),
    ]
    result = cirq.Simulator(seed=2).run(to_cirq(payload), repetitions=40)
    arrays = register_arrays(payload, result.records)
    assert np.array_equal(arrays["outer:m"], arrays["b"])  # X(B) fires exactly when outer:m


def test_unsupported_qubits_and_missing_keys_are_named() -> None:
    with pytest.raises(ConversionError, match="LineQubit, GridQubit and NamedQubit"):
        from_cirq(cirq.Circuit(cirq.X(cirq.LineQid(0, dimension=2))))
    payload = from_cirq(cirq.Circuit(cirq.measure(A, key="m")))
    with pytest.raises(ConversionError, match="no measurement key 'm'"):
        register_arrays(payload, {"other": np.zeros((3, 1, 1), dtype=np.uint8)})
