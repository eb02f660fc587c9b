"""Readout decoding on its own: Cirq records (stacked and per point) and Qiskit keys."""

from __future__ import annotations

import cirq
import numpy as np

from qrelay.payload import Circuit, KeyLayout, Readout, Register
from qrelay_cirq.result import key_plan, records_of, result_dicts
from qrelay_qiskit.result import bit_layout, level2_data


def _circuit() -> Circuit:
    return Circuit(
        num_qubits=3,
        registers=[Register(name="m0", size=3), Register(name="m1", size=3)],
        layout=[
            KeyLayout(register_name="m1", key="m", instance=1, inverted=[1]),
            KeyLayout(register_name="m0", key="m", instance=0),
        ],
    )


def test_stacked_decoding_equals_per_point_decoding() -> None:
    rng = np.random.default_rng(4)
    readouts = [
        Readout.from_arrays({"m0": rng.integers(0, 2, (7, 3)), "m1": rng.integers(0, 2, (7, 3))})
        for _ in range(5)
    ]
    params = [cirq.ParamResolver({"t": float(i)}) for i in range(5)]
    fast = result_dicts(_circuit(), readouts, params)
    plan = key_plan(_circuit())
    for result, readout, resolver in zip(fast, readouts, params, strict=True):
        assert result == cirq.ResultDict(params=resolver, records=records_of(readout, plan))
        record = result.records["m"]
        assert record.shape == (7, 2, 3)
        assert record.dtype == np.int8
        np.testing.assert_array_equal(record[:, 0], readout.register("m0").array())
        flipped = readout.register("m1").array().copy()
        flipped[:, 1] ^= 1
        np.testing.assert_array_equal(record[:, 1], flipped)


def test_qiskit_counts_are_hex_over_memory_slots() -> None:
    circuit = Circuit(
        num_qubits=2, registers=[Register(name="a", size=1), Register(name="b", size=2)]
    )
    bits_a = np.array([[1], [0], [1]])
    bits_b = np.array([[0, 1], [0, 1], [1, 1]])
    readout = Readout.from_arrays({"a": bits_a, "b": bits_b})
    data = level2_data(readout, circuit, bit_layout(circuit), memory=True)
    # slot 0 = a[0], slots 1-2 = b: values 0b101, 0b100, 0b111
    assert data["counts"] == {"0x5": 1, "0x4": 1, "0x7": 1}
    assert data["memory"] == ["0x5", "0x4", "0x7"]
    assert bit_layout(circuit).header(2)["creg_sizes"] == [["a", 1], ["b", 2]]


def _qiskit_own(result: object, index: int) -> dict[str, int]:
    """The counts Qiskit formats itself from the experiment's hex keys and header."""
    from qiskit.result import Counts

    exp = result.results[index]  # type: ignore[attr-defined]
    header = {k: v for k, v in exp.header.items() if k in ("creg_sizes", "memory_slots")}
    return dict(Counts(exp.data.counts, **header))


def test_counts_from_integers_equal_qiskits_own_formatting() -> None:
    """Keys made in numpy equal Qiskit's, for registers that tile the slots, registers
    that leave slots out (bits dropped, where Qiskit keeps the last count of a key), and
    one register; integer and hex outcomes answer as for counts made from hex keys."""
    from qiskit import QuantumCircuit

    from qrelay_qiskit.counts import CountsResult
    from qrelay_qiskit.result import build_result, experiment_results

    rng = np.random.default_rng(7)
    tiled = Circuit(
        num_qubits=3,
        registers=[Register(name="a", size=2), Register(name="b", size=3)],
        name="tiled",
    )
    loose = tiled.model_copy(
        update={"name": "loose", "metadata": {"qiskit.cregs": [["a", [0, 1]], ["c", [3]]]}}
    )
    single = Circuit(num_qubits=3, registers=[Register(name="c", size=20)], name="single")
    experiments: list[object] = []
    integer: list[object] = []
    for circuit in (tiled, loose, single):
        arrays = {reg.name: rng.integers(0, 2, (300, reg.size)) for reg in circuit.registers}
        readout = Readout.from_arrays(arrays)
        experiments += experiment_results(circuit, [readout], integer=integer)
    result = build_result(experiments, backend_name="aer_simulator", job_id="j", integer=integer)
    assert isinstance(result, CountsResult)
    everything = result.get_counts()
    for index, name in enumerate(["tiled", "loose", "single"]):
        ours = result.get_counts(index)
        assert dict(ours) == _qiskit_own(result, index)
        assert dict(everything[index]) == dict(ours)
        assert dict(result.get_counts(name)) == dict(ours)
        assert sum(ours.values()) == 300 or name == "loose"
        assert ours.int_outcomes() == {
            int(k, 16): n for k, n in result.data(index)["counts"].items()
        }
        assert ours.hex_outcomes() == result.data(index)["counts"]
        assert ours.memory_slots == result.results[index].header["memory_slots"]
    assert " " in next(iter(result.get_counts("tiled")))  # a space between registers
    assert len(next(iter(result.get_counts("loose")))) == 4  # 2 + 1 of 5 slots, a space
    assert dict(result.get_counts(QuantumCircuit(1, name="single"))) == dict(result.get_counts(2))
