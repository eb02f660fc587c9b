"""The circuit's helpers: clbit addressing, measurements, symbols, the op registry."""

from __future__ import annotations

import pytest

from qrelay import payload as p
from qrelay.errors import PayloadError
from qrelay.payload.ops import DELAY_UNITS, gate_names


@pytest.fixture
def circuit() -> p.Circuit:
    return p.Circuit(
        num_qubits=3,
        registers=[
            p.Register(name="a", size=2),
            p.Register(name="b", size=0),
            p.Register(name="c", size=3),
        ],
        parameters=["x", "y", "unused"],
        instructions=[
            {"op": "rx", "qubits": [0], "params": ["x"]},
            {"op": "measure", "qubits": [0], "clbits": [1]},
            {
                "op": "if",
                "qubits": [],
                "condition": {"register": "a", "value": 2},
                "body": [
                    {"op": "rz", "qubits": [1], "params": [{"fn": "mul", "args": [2.0, "y"]}]}
                ],
            },
            {"op": "measure", "qubits": [2], "clbits": [4]},
        ],
    )


def test_global_clbit_index_runs_over_registers_in_order(circuit: p.Circuit) -> None:
    assert circuit.num_clbits == 5
    assert circuit.register_offsets() == {"a": (0, 2), "b": (2, 0), "c": (2, 3)}
    assert circuit.clbit_location(1) == ("a", 1)
    assert circuit.clbit_location(2) == ("c", 0)
    assert circuit.clbit_location(4) == ("c", 2)
    with pytest.raises(PayloadError, match="clbit 5 is outside every register"):
        circuit.clbit_location(5)


def test_measurements_and_iteration(circuit: p.Circuit) -> None:
    assert circuit.measurements() == [(1, 0, "a", 1), (3, 2, "c", 2)]
    ops = [inst["op"] for inst in circuit.iter_instructions()]
    assert ops == ["rx", "measure", "if", "rz", "measure"]


def test_free_symbols(circuit: p.Circuit) -> None:
    assert circuit.free_symbols() == {"x", "y"}  # "unused" is declared but not read


def test_models_are_frozen(circuit: p.Circuit) -> None:
    with pytest.raises(ValueError, match="frozen"):
        circuit.num_qubits = 4  # type: ignore[misc]


def test_op_registry() -> None:
    assert p.op_spec("cx").num_qubits == 2
    assert p.op_spec("u").params == ("theta", "phi", "lambda")
    assert p.op_spec("measure").num_clbits == 1
    with pytest.raises(PayloadError, match=r"unknown op 'nope'; known ops: .*cx"):
        p.op_spec("nope")
    names = gate_names()
    for required in (
        "h",
        "cx",
        "ecr",
        "iswap",
        "rxx",
        "ryy",
        "rzz",
        "cp",
        "crx",
        "cry",
        "crz",
        "ccx",
        "cswap",
        "u",
        "p",
    ):
        assert required in names
    for special in ("measure", "reset", "barrier", "delay", "unitary", "if"):
        assert special in p.OPS
        assert special not in names
    assert "ns" in DELAY_UNITS
    assert "dt" in DELAY_UNITS


def test_version_is_on_the_job() -> None:
    job = p.NewJob(target="t", circuits=[p.Circuit(num_qubits=1)])
    assert job.version == p.PAYLOAD_VERSION == "payload.v1"
    assert '"version":"payload.v1"' in job.model_dump_json()
