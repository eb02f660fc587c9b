"""The fleet's devices: real-world shapes and calibration of realistic magnitude."""

from __future__ import annotations

import pytest

from qrelay.errors import NotFoundError
from qrelay.payload.calibration import calibration_hash
from qrelay.qpu.fleet import FALCON_EDGES, fleet_device, fleet_targets


def test_fleet_names_driver_and_capabilities() -> None:
    targets = {t.name: t for t in fleet_targets()}
    assert set(targets) == {"square_qpu", "heavyhex_qpu", "ion_qpu"}
    for t in targets.values():
        assert t.driver == "qpu-grpc"
        assert not t.simulator
        assert t.capabilities.parameter_batch
        assert t.capabilities.iq_readout
        assert t.price_per_shot > 0
        assert len(t.qubits) == t.num_qubits
        assert t.calibration_id == calibration_hash(t)


def test_square_lattice() -> None:
    t = fleet_device("square_qpu")
    assert t.num_qubits == 16
    assert set(t.native_ops) == {"cz", "rx", "rz", "measure", "reset"}
    assert t.coupling_map is not None
    # 24 edges of a 4x4 grid, both directions; corner 0 couples to 1 and 4 only.
    assert len(t.coupling_map) == 48
    assert sorted(b for a, b in t.coupling_map if a == 0) == [1, 4]
    assert sorted(b for a, b in t.coupling_map if a == 5) == [1, 4, 6, 9]


def test_heavyhex_lattice_is_directed_ecr() -> None:
    t = fleet_device("heavyhex_qpu")
    assert t.num_qubits == 27
    assert set(t.native_ops) == {"ecr", "sx", "x", "rz", "measure", "reset"}
    assert t.dt_ns == pytest.approx(0.2222, abs=1e-4)
    pairs = {tuple(p) for p in t.coupling_map or []}
    assert len(pairs) == len(FALCON_EDGES)
    assert {tuple(sorted(p)) for p in pairs} == set(FALCON_EDGES)
    degrees = [sum(q in e for e in FALCON_EDGES) for q in range(27)]
    assert max(degrees) == 3  # heavy-hex: no qubit has more than three neighbours
    ecr = [g for g in t.gates if g.op == "ecr"]
    assert {tuple(g.qubits) for g in ecr} == pairs
    for g in ecr:  # durations are whole numbers of dt
        assert g.duration_ns is not None
        assert g.duration_ns / t.dt_ns == pytest.approx(round(g.duration_ns / t.dt_ns), abs=1e-3)


def test_ion_all_to_all() -> None:
    t = fleet_device("ion_qpu")
    assert t.num_qubits == 11
    assert set(t.native_ops) == {"rxx", "r", "rz", "measure"}
    assert len(t.coupling_map or []) == 11 * 10
    assert not t.capabilities.reset


@pytest.mark.parametrize("name", ["square_qpu", "heavyhex_qpu", "ion_qpu"])
def test_calibration_magnitudes(name: str) -> None:
    t = fleet_device(name)
    for q in t.qubits:
        assert q.t1_us is not None
        assert q.t2_us is not None
        assert q.t2_us <= 2 * q.t1_us
        assert 0.0 < (q.readout_error or 0.0) < 0.2
        assert q.frequency_ghz is not None
        assert 4.0 < q.frequency_ghz < 13.0
        assert q.readout_duration_ns is not None
        assert q.readout_duration_ns > 0
    twoq = [g.error for g in t.gates if len(g.qubits) == 2]
    oneq = [
        g.error for g in t.gates if len(g.qubits) == 1 and g.op not in ("rz", "measure", "reset")
    ]
    assert all(e is not None and 1e-3 < e < 0.1 for e in twoq)
    assert all(e is not None and 1e-5 < e < 1e-2 for e in oneq)
    assert next(g for g in t.gates if g.op == "rz").duration_ns == 0.0  # virtual Z


def test_calibration_is_deterministic_and_id_changes_with_it() -> None:
    first = fleet_device("square_qpu")
    fleet_device.cache_clear()
    again = fleet_device("square_qpu")
    assert again == first
    recalibrated = fleet_device("square_qpu", epoch=1)
    assert recalibrated.qubits != first.qubits
    assert recalibrated.calibration_id != first.calibration_id


def test_unknown_device_names_the_fleet() -> None:
    with pytest.raises(NotFoundError, match="square_qpu"):
        fleet_device("nope_qpu")
