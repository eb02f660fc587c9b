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
