"""Translation: native circuits become executables; anything else is refused clearly."""

from __future__ import annotations

import pytest

from qrelay.errors import PayloadError
from qrelay.payload import Circuit
from qrelay.qpu import native
from qrelay.qpu.fleet import fleet_device
from qrelay.qpu.translation import Executable, translate

from ._programs import bell_square, rotations_square


def _circuit(num_qubits: int, *instructions: dict[str, object], clbits: int = 1) -> Circuit:
    return Circuit.model_validate(
        {
            "num_qubits": num_qubits,
            "registers": [{"name": "c", "size": clbits}],
            "instructions": list(instructions),
        }
    )


def test_translate_native_bell() -> None:
    result = translate(bell_square(), 100, "square_qpu")
    assert result.ro_sources == {"c[0]": ("c", 0), "c[1]": ("c", 1)}
    executable = Executable.from_json(result.program)
    assert executable.num_shots == 100
    assert executable.quantum_processor_id == "square_qpu"
    assert executable.calibration_id == fleet_device("square_qpu").calibration_id
    assert executable.circuit == bell_square()


def test_non_native_op_is_refused() -> None:
    circuit = _circuit(1, {"op": "h", "qubits": [0]})
    with pytest.raises(
        PayloadError, match=r"instruction 0 \(h\): 'h' is not a native op of square_qpu"
    ):
        translate(circuit, 10, "square_qpu")


def test_missing_coupling_is_refused() -> None:
    circuit = _circuit(3, {"op": "cz", "qubits": [0, 2]})
    with pytest.raises(PayloadError, match=r"qubits \[0, 2\] are not coupled on square_qpu"):
        translate(circuit, 10, "square_qpu")


def test_wrong_ecr_direction_names_the_reverse() -> None:
    target = fleet_device("heavyhex_qpu")
    a, b = (target.coupling_map or [])[0]
    circuit = _circuit(27, {"op": "ecr", "qubits": [b, a]})
    with pytest.raises(PayloadError, match="the reverse direction exists"):
        translate(circuit, 10, "heavyhex_qpu")


def test_too_many_qubits_and_shots() -> None:
    with pytest.raises(PayloadError, match="ion_qpu has 11"):
        translate(_circuit(12, {"op": "r", "qubits": [11], "params": [1.0, 0.0]}), 10, "ion_qpu")
    with pytest.raises(PayloadError, match="num_shots"):
        translate(bell_square(), 0, "square_qpu")


def test_feed_forward_is_refused() -> None:
    circuit = _circuit(
        1,
        {"op": "measure", "qubits": [0], "clbits": [0]},
        {
            "op": "if",
            "qubits": [],
            "condition": {"clbit": 0, "value": 1},
            "body": [{"op": "rx", "qubits": [0], "params": [3.14]}],
        },
    )
    with pytest.raises(PayloadError, match="feed-forward"):
        translate(circuit, 10, "square_qpu")


def test_schedule_follows_the_critical_path() -> None:
    target = fleet_device("square_qpu")
    table = native.gate_table(target)
    circuit = bell_square()
    rx0 = table[("rx", (0,))].duration_ns or 0.0
    rx1 = table[("rx", (1,))].duration_ns or 0.0
    cz = table[("cz", (0, 1))].duration_ns or 0.0
    meas = table[("measure", (1,))].duration_ns or 0.0
    expected = max(rx0, rx1) + cz + rx1 + meas
    assert native.schedule_ns(circuit, target) == pytest.approx(expected)
    shots = 1000
    per_shot_us = expected / 1000 + float(target.options["rep_delay_us"])  # type: ignore[arg-type]
    assert native.execution_duration_us(circuit, target, shots) == pytest.approx(
        shots * per_shot_us, abs=1
    )


def test_patch_layout_groups_regions() -> None:
    layout = native.PatchLayout.of(rotations_square(3))
    assert layout.regions == {"theta": 3}
    layout.check({"theta": [0.1, 0.2, 0.3]})
    assert layout.row({"theta": [0.1, 0.2, 0.3]}) == [0.1, 0.2, 0.3]
    with pytest.raises(PayloadError, match="region 'theta' takes 3 value"):
        layout.check({"theta": [0.1]})
    with pytest.raises(PayloadError, match="no memory region 'phi'"):
        layout.check({"theta": [0.1, 0.2, 0.3], "phi": [1.0]})
    with pytest.raises(PayloadError, match="no values for region"):
        layout.check({})


def test_reduce_keeps_only_touched_qubits() -> None:
    target = fleet_device("heavyhex_qpu")
    a, b = (target.coupling_map or [])[5]
    circuit = Circuit.model_validate(
        {
            "num_qubits": 27,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [
                {"op": "sx", "qubits": [a]},
                {"op": "barrier", "qubits": list(range(27))},
                {"op": "ecr", "qubits": [a, b]},
                {"op": "measure", "qubits": [a], "clbits": [0]},
                {"op": "measure", "qubits": [b], "clbits": [1]},
            ],
        }
    )
    reduced = native.reduce_to_touched(circuit, target)
    assert reduced.physical == sorted([a, b])
    assert reduced.circuit.num_qubits == 2
    assert reduced.target.num_qubits == 2
    assert reduced.target.qubits == [target.qubits[q] for q in sorted([a, b])]
    assert all(max(g.qubits) < 2 for g in reduced.target.gates)
    assert reduced.target.coupling_map == [(sorted([a, b]).index(a), sorted([a, b]).index(b))]
    assert reduced.circuit.instructions[1] == {"op": "barrier", "qubits": [0, 1]}
