"""Compiling to a device's native ops and couplings, the Qiskit Target, and verbatim checks."""

from __future__ import annotations

import pytest

from qrelay.errors import PayloadError
from qrelay.payload import Circuit, TargetInfo
from qrelay.qpu.fleet import fleet_device
from qrelay.qpu.native import check_native
from qrelay.worker.verbatim import check_verbatim
from qrelay_qiskit.compiler import TranspileCompiler
from qrelay_qiskit.target import build_target

from ._circuits import ghz, mixed

FLEET = ["square_qpu", "heavyhex_qpu", "ion_qpu"]


@pytest.fixture(scope="module")
def compiler() -> TranspileCompiler:
    return TranspileCompiler()


@pytest.mark.parametrize("name", FLEET)
def test_compiled_circuits_are_native_and_coupled(compiler: TranspileCompiler, name: str) -> None:
    target = fleet_device(name)
    for circuit in (ghz(4), mixed()):
        result = compiler.compile(circuit, target)
        compiled = result.circuit
        ops = {inst["op"] for inst in compiled.instructions}
        assert ops <= set(target.native_ops) | {"barrier", "delay"}
        check_native(compiled, target)  # the controller's own check accepts it
        check_verbatim(compiled, target)
        coupling = {tuple(pair) for pair in target.coupling_map or []}
        for inst in compiled.instructions:
            if len(inst["qubits"]) == 2 and target.coupling_map is not None:
                assert tuple(inst["qubits"]) in coupling
        # layouts: every logical qubit lands on a distinct physical qubit of the device
        assert sorted(result.initial_layout) == list(range(circuit.num_qubits))
        assert len(set(result.initial_layout.values())) == circuit.num_qubits
        assert all(0 <= p < target.num_qubits for p in result.final_layout.values())
        assert [r.name for r in compiled.registers] == [r.name for r in circuit.registers]


def test_measurements_follow_the_final_layout(compiler: TranspileCompiler) -> None:
    target = fleet_device("square_qpu")
    result = compiler.compile(ghz(3), target)
    measured = {
        inst["clbits"][0]: inst["qubits"][0]
        for inst in result.circuit.instructions
        if inst["op"] == "measure"
    }
    for logical, physical in result.final_layout.items():
        assert measured[logical] == physical


def test_simulator_targets_compile_to_themselves(compiler: TranspileCompiler) -> None:
    sim = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=30)
    circuit = mixed()
    result = compiler.compile(circuit, sim)
    assert result.circuit is circuit
    assert result.initial_layout == {0: 0, 1: 1, 2: 2} == result.final_layout


def test_too_many_qubits_is_refused(compiler: TranspileCompiler) -> None:
    with pytest.raises(PayloadError, match="12 qubits"):
        compiler.compile(ghz(12), fleet_device("ion_qpu"))


def test_target_carries_calibration() -> None:
    info = fleet_device("heavyhex_qpu")
    target = build_target(info)
    assert target is build_target(info)  # cached per calibration
    assert target.num_qubits == info.num_qubits
    assert {"ecr", "sx", "x", "rz", "measure"} <= set(target.operation_names)
    gate = next(g for g in info.gates if g.op == "ecr")
    props = target["ecr"][tuple(gate.qubits)]
    assert props.error == pytest.approx(gate.error)
    assert props.duration == pytest.approx(gate.duration_ns * 1e-9)
    q0 = info.qubits[0]
    assert target.qubit_properties[0].t1 == pytest.approx(q0.t1_us * 1e-6)
    assert target.qubit_properties[0].frequency == pytest.approx(q0.frequency_ghz * 1e9)
    assert target.dt == pytest.approx(info.dt_ns * 1e-9)
    assert target["measure"][(0,)].error == pytest.approx(q0.readout_error)


def test_verbatim_refuses_non_native_op() -> None:
    target = fleet_device("square_qpu")
    circuit = Circuit(num_qubits=2, instructions=[{"op": "h", "qubits": [1]}])
    with pytest.raises(PayloadError, match=r"instruction 0 \(h\): 'h' is not a native op"):
        check_verbatim(circuit, target)


def test_verbatim_refuses_uncoupled_pair() -> None:
    target = fleet_device("square_qpu")  # 4x4 grid: 0 and 5 are diagonal, not coupled
    circuit = Circuit(num_qubits=6, instructions=[{"op": "cz", "qubits": [0, 5]}])
    with pytest.raises(PayloadError, match=r"instruction 0 \(cz\).*\[0, 5\]"):
        check_verbatim(circuit, target)


def test_verbatim_refuses_too_many_qubits_and_accepts_native() -> None:
    target = fleet_device("ion_qpu")
    with pytest.raises(PayloadError, match="12 qubits"):
        check_verbatim(ghz(12), target)
    native = Circuit(
        num_qubits=3,
        registers=[{"name": "c", "size": 1}],
        instructions=[
            {"op": "rxx", "qubits": [2, 0], "params": [0.5]},
            {"op": "r", "qubits": [1], "params": [0.1, 0.2]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
        ],
    )
    check_verbatim(native, target)
    sim = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=5)
    check_verbatim(mixed(), sim)


def test_simulator_target_takes_any_gate_on_any_qubits() -> None:
    from qiskit import QuantumCircuit, transpile

    sim = TargetInfo(name="wide_simulator", driver="aer", simulator=True, num_qubits=30)
    target = build_target(sim)
    assert target.num_qubits == 30
    assert {"ccx", "cswap", "rxx", "measure", "reset"} <= set(target.operation_names)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.ccx(0, 1, 2)
    qc.measure_all()
    ops = transpile(qc, target=target).count_ops()
    assert ops["ccx"] == 1  # left as it is: the simulator runs it


def test_the_jobs_optimization_level_reaches_the_pass_manager(compiler: TranspileCompiler) -> None:
    """Level 0 keeps a gate and its inverse; level 3 cancels them."""
    target = fleet_device("square_qpu")
    circuit = Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [
                {"op": "cx", "qubits": [0, 1]},
                {"op": "cx", "qubits": [0, 1]},
                {"op": "measure", "qubits": [0], "clbits": [0]},
                {"op": "measure", "qubits": [1], "clbits": [1]},
            ],
        }
    )
    kept = compiler.compile(circuit, target, optimization_level=0).circuit
    cancelled = compiler.compile(circuit, target, optimization_level=3).circuit
    two_qubit = [
        len([i for i in c.instructions if len(i["qubits"]) == 2]) for c in (kept, cancelled)
    ]
    assert two_qubit[0] >= 2
    assert two_qubit[1] == 0
