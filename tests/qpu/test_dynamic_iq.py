"""IQ readout of a dynamic program on heavyhex_qpu: points come from the true state with
the readout noise applied in the IQ plane, and feed-forward reads the misread value."""

from __future__ import annotations

import math

import numpy as np

from qrelay.payload import Circuit
from qrelay.qpu import api
from qrelay.qpu.fleet import fleet_device
from qrelay.qpu.server import ServerHandle
from qrelay.qpu.translation import translate

SHOTS = 4000


def _program() -> Circuit:
    """q0 prepared |1> and read into c0; an ``if`` on c0 flips q1 (so c1 repeats the
    value the condition saw); q2 prepared |1> and read into c2, which nothing reads."""
    return Circuit.model_validate(
        {
            "num_qubits": 3,
            "registers": [{"name": "c", "size": 3}],
            "instructions": [
                {"op": "x", "qubits": [0]},
                {"op": "x", "qubits": [2]},
                {"op": "measure", "qubits": [0], "clbits": [0]},
                {
                    "op": "if",
                    "qubits": [],
                    "condition": {"clbit": 0, "value": 1},
                    "body": [{"op": "x", "qubits": [1]}],
                },
                {"op": "measure", "qubits": [1], "clbits": [1]},
                {"op": "measure", "qubits": [2], "clbits": [2]},
            ],
        }
    )


def test_iq_of_a_dynamic_program_comes_from_the_true_state(
    server: ServerHandle, client: api.QpuClient
) -> None:
    program = translate(_program(), SHOTS, "heavyhex_qpu", iq_readout=True)
    results = api.retrieve_results(api.submit(program, {}, client=client), client=client)
    model = server.controller.device("heavyhex_qpu").iq
    target = fleet_device("heavyhex_qpu")
    c0, c1, c2 = (results.buffers[f"c[{k}]"].data for k in range(3))
    points = results.buffers["c[2].iq"].data
    # the bit is the point discriminated, and the cloud sits on the |1> centroid: a point
    # drawn around the misread value would pull the mean toward |0> by error x distance
    np.testing.assert_array_equal(model.discriminate(points, [2]), c2)
    sigma = float(model.sigma[2])
    assert abs(points.mean() - model.one[2]) < 4 * sigma * math.sqrt(2 / SHOTS)
    # misread points lie just past the decision line, not around the |0> centroid
    axis = model.one[2] - model.zero[2]
    middle = 0.5 * (model.one[2] + model.zero[2])
    along = ((points - middle) * np.conj(axis)).real / abs(axis)
    misread = c2 == 0
    error = target.qubits[2].readout_error or 0.0
    assert abs(misread.mean() - error) < 4 * math.sqrt(error / SHOTS) + 0.005
    assert misread.any()
    assert along[misread].mean() > -0.25 * abs(axis)
    # feed-forward read c0 as the device misread it: q1 follows the value it saw
    assert (c0 == 0).any()
    assert (c1[c0 == 0] == 0).mean() > 0.8
    assert (c1[c0 == 1] == 1).mean() > 0.8
