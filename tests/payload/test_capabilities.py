"""The capability checks' fast path (a pass over the ops) refuses exactly what the full
walk over the instructions refuses, on every target of the catalog; the check at
submission refuses control flow only."""

from __future__ import annotations

from typing import Any

import pytest

from qrelay.errors import PayloadError
from qrelay.payload import Circuit, TargetInfo
from qrelay.payload.capabilities import _Walk, check_capabilities, check_control_flow
from qrelay.qpu.fleet import fleet_targets
from qrelay.service.catalog import simulator_targets

M0 = {"op": "measure", "qubits": [0], "clbits": [0]}
M1 = {"op": "measure", "qubits": [1], "clbits": [1]}
X0, X1 = {"op": "x", "qubits": [0]}, {"op": "x", "qubits": [1]}
IF = {"op": "if", "qubits": [], "condition": {"clbit": 0, "value": 1}, "body": [X1]}
PROGRAMS: dict[str, list[dict[str, Any]]] = {
    "terminal": [X0, M0, {"op": "barrier", "qubits": [0, 1]}, M1],
    "gate after another qubit's measure": [M0, X1, M1],
    "gate after its own measure": [M0, X0],
    "reset": [{"op": "reset", "qubits": [0]}, M0],
    "if": [M0, IF],
    "if on an expression": [M0, {"op": "if", "qubits": [], "test": {"clbit": 0}, "body": [X1]}],
    "store": [M0, {"op": "store", "qubits": [], "lvalue": {"clbit": 1}, "rvalue": {"clbit": 0}}],
}


def _refused(check: Any) -> str | None:
    try:
        check()
    except PayloadError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@pytest.mark.parametrize("target", [*simulator_targets(), *fleet_targets()], ids=lambda t: t.name)
def test_the_fast_path_agrees_with_the_walk(program: str, target: TargetInfo) -> None:
    circuit = Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "c", "size": 2}],
            "instructions": PROGRAMS[program],
        }
    )
    walked = _refused(lambda: _Walk(target).block(circuit.instructions, "", set()))
    assert _refused(lambda: check_capabilities(circuit, target)) == walked
    flow = _refused(lambda: check_control_flow(circuit, target))
    if program in ("if", "if on an expression", "store"):
        assert flow == walked
    else:
        assert flow is None
