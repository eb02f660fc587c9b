"""Cirq front end through the whole path: golden keys and qubit order, sweeps, device.

Runs on the embedded default. Golden circuits are classical, so ``cirq.Simulator`` gives
one outcome per key and our records must equal its records exactly.
"""

from __future__ import annotations

import cirq
import duet
import numpy as np
import pytest
import sympy

from qrelay.errors import ValidationError
from qrelay_cirq import QRelayDevice, QRelaySampler

from .conftest import total_variation, tv_bound

TARGET = "cirq_simulator"


@pytest.fixture(scope="module")
def sampler(cirq_service) -> QRelaySampler:  # type: ignore[no-untyped-def]
    return cirq_service.sampler(TARGET)


def golden_circuit() -> cirq.Circuit:
    """GridQubits, a repeated key, mid-circuit measurement, invert_mask, user qubit order."""
    a, b, c = cirq.GridQubit(0, 1), cirq.GridQubit(1, 0), cirq.GridQubit(2, 2)
    return cirq.Circuit(
        cirq.X(a),
        cirq.measure(c, a, key="first"),  # user order: c then a -> [0, 1]
        cirq.X(a),
        cirq.X(b),
        cirq.measure(a, b, key="rep"),  # instance 0: [0, 1]
        cirq.X(a),
        cirq.measure(a, b, key="rep"),  # instance 1: [1, 1]
        cirq.measure(c, key="inv", invert_mask=(True,)),  # 0 read inverted -> 1
    )


@pytest.mark.parametrize("target", [TARGET, "aer_simulator"])
def test_golden_records_match_cirq_simulator(cirq_service, target: str) -> None:  # type: ignore[no-untyped-def]
    """Same records on Cirq's own simulator target and on Aer (a Cirq circuit runs anywhere)."""
    circuit = golden_circuit()
    ours = cirq_service.sampler(target).run(circuit, repetitions=20)
    reference = cirq.Simulator().run(circuit, repetitions=20)
    assert isinstance(ours, cirq.ResultDict)
    assert set(ours.records) == {"first", "rep", "inv"}
    for key in ours.records:
        assert ours.records[key].shape == reference.records[key].shape
        np.testing.assert_array_equal(ours.records[key], reference.records[key])
    assert ours.records["rep"][0].tolist() == [[0, 1], [1, 1]]
    assert ours.records["first"][0].tolist() == [[0, 1]]
    assert ours.records["inv"][0].tolist() == [[1]]
    assert ours == reference


def test_distribution_matches_cirq_simulator(sampler: QRelaySampler) -> None:
    q = cirq.LineQubit.range(3)
    circuit = cirq.Circuit(
        cirq.H(q[0]),
        cirq.ry(1.1).on(q[1]),
        cirq.CNOT(q[0], q[2]),
        cirq.rx(0.7).on(q[2]),
        cirq.CNOT(q[1], q[0]),
        cirq.measure(*q, key="m"),
    )
    shots = 4000
    ours = sampler.run(circuit, repetitions=shots).histogram(key="m")
    reference = cirq.Simulator().run(circuit, repetitions=shots).histogram(key="m")
    as_str = lambda h: {str(k): v for k, v in h.items()}  # noqa: E731
    assert sum(ours.values()) == shots
    assert total_variation(as_str(ours), as_str(reference)) < tv_bound(8, shots)


def _rotation() -> tuple[cirq.Circuit, sympy.Symbol, sympy.Symbol]:
    t, s = sympy.Symbol("t"), sympy.Symbol("s")
    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(
        cirq.rx(t).on(q[0]), cirq.rx(s).on(q[1]), cirq.measure(q[1], q[0], key="m")
    )
    return circuit, t, s


@pytest.mark.parametrize(
    "sweep_kind", ["zip", "product", "list_of_dicts", "resolver", "list_sweep"]
)
def test_run_sweep_is_one_job_with_params_per_point(
    sampler: QRelaySampler, sweep_kind: str
) -> None:
    circuit, t, s = _rotation()
    pi = float(np.pi)
    sweeps = {
        "zip": cirq.Points(t, [0.0, pi, pi]) + cirq.Points(s, [0.0, 0.0, pi]),
        "product": cirq.Points(t, [0.0, pi]) * cirq.Points(s, [0.0, pi]),
        "list_of_dicts": [{"t": 0.0, "s": pi}, {"t": pi, "s": 0.0}],
        "resolver": cirq.ParamResolver({t: pi, s: pi}),
        "list_sweep": cirq.ListSweep([{t: pi, s: 0.0}]),
    }
    params = sweeps[sweep_kind]
    job = sampler.submit_batch([circuit], [params], repetitions=10)
    assert "," not in job.job_id
    results = job.results()[0]
    expected = list(cirq.to_resolvers(params))
    assert len(results) == len(expected)
    for result, resolver in zip(results, expected, strict=True):
        vt, vs = float(resolver.value_of(t)), float(resolver.value_of(s))
        assert float(result.params.value_of(t)) == pytest.approx(vt)
        # key order is the user's: q1 then q0
        assert result.measurements["m"][0].tolist() == [round(vs / pi), round(vt / pi)]
    assert sampler.run_sweep(circuit, params, repetitions=5)[0].repetitions == 5


def test_run_batch_and_async(sampler: QRelaySampler) -> None:
    circuit, t, s = _rotation()
    q = cirq.LineQubit(0)
    flip = cirq.Circuit(cirq.X(q), cirq.measure(q, key="f"))
    batches = sampler.run_batch(
        [circuit, flip], [cirq.Points(t, [0.0, np.pi]) * cirq.Points(s, [0.0]), None], 8
    )
    assert [len(b) for b in batches] == [2, 1]
    assert batches[1][0].measurements["f"].sum() == 8
    results = duet.run(sampler.run_sweep_async, flip, None, 6)
    assert results[0].measurements["f"].shape == (6, 1)


def test_get_job_rebuilds_results_with_params(cirq_service, sampler: QRelaySampler) -> None:  # type: ignore[no-untyped-def]
    circuit, t, s = _rotation()
    sweep = cirq.Points(t, [0.0, np.pi]) + cirq.Points(s, [np.pi, 0.0])
    job = sampler.submit_batch([circuit], [sweep], repetitions=4)
    first = job.results()[0]
    again = cirq_service.get_job(job.job_id).results()[0]
    assert again == first


def test_bad_sweeps_are_refused(sampler: QRelaySampler) -> None:
    circuit, t, _s = _rotation()
    with pytest.raises(ValidationError, match="symbol 's'"):
        sampler.run_sweep(circuit, cirq.Points(t, [0.0]), repetitions=3)
    with pytest.raises(ValidationError, match="repetitions"):
        sampler.run(circuit, {"t": 0.0, "s": 0.0}, repetitions=0)


def test_an_out_of_range_priority_is_our_validation_error(cirq_service) -> None:  # type: ignore[no-untyped-def]
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.X(q), cirq.measure(q, key="m"))
    sampler = cirq_service.sampler("cirq_simulator", priority=11)
    with pytest.raises(ValidationError, match=r"priority: .*\(allowed: 0 to 10\)"):
        sampler.run(circuit, repetitions=10)


def test_device_validates_against_the_qpu(cirq_service) -> None:  # type: ignore[no-untyped-def]
    device = cirq_service.device("square_qpu")
    assert isinstance(device, QRelayDevice)
    assert isinstance(device, cirq.Device)
    graph = device.metadata.nx_graph
    assert graph.number_of_nodes() == 16
    assert graph.number_of_edges() == 24
    assert cirq.GridQubit(3, 3) in device.metadata.qubit_set
    a, b, far = cirq.GridQubit(0, 0), cirq.GridQubit(0, 1), cirq.GridQubit(2, 2)
    device.validate_operation(cirq.CZ(a, b))
    device.validate_operation(cirq.rx(0.3).on(a))
    device.validate_operation(cirq.measure(a, b, key="m"))
    with pytest.raises(ValueError, match=r"not coupled for 'cz'"):
        device.validate_operation(cirq.CZ(a, far))
    with pytest.raises(ValueError, match=r"not native .* needs 'h'"):
        device.validate_operation(cirq.H(a))
    with pytest.raises(ValueError, match=r"q\(7, 7\) is not on device 'square_qpu'"):
        device.validate_operation(cirq.rx(0.1).on(cirq.GridQubit(7, 7)))
    with pytest.raises(ValueError, match="not coupled"):
        device.validate_circuit(cirq.Circuit(cirq.rx(0.2).on(a), cirq.CZ(a, far)))
    ion = cirq_service.device("ion_qpu")
    q0 = cirq.LineQubit(0)
    with pytest.raises(ValueError, match="measures only at the end"):
        ion.validate_circuit(cirq.Circuit(cirq.measure(q0), cirq.rz(0.1).on(q0)))


def test_noise_sim_with_a_user_noise_spec(cirq_service) -> None:  # type: ignore[no-untyped-def]
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.measure(q, key="z"))
    noisy = cirq_service.sampler(TARGET, sim_method="noise-sim", noise={"readout_error": 0.3})
    ones = int(noisy.run(circuit, repetitions=400).measurements["z"].sum())
    assert 0 < ones < 400


@pytest.mark.parametrize("target", ["cirq_simulator", "aer_simulator"])
def test_dynamic_cirq_programs_run_through_the_service(cirq_service, target: str) -> None:  # type: ignore[no-untyped-def]
    """A repeat_until loop and a sympy condition, on Cirq's simulator and on Aer alike."""
    a, b, c = cirq.LineQubit.range(3)
    body = cirq.FrozenCircuit(cirq.reset(a), cirq.H(a), cirq.measure(a, key="flag"))
    both = cirq.SympyCondition(sympy.And(sympy.Symbol("flag") > 0, sympy.Eq(sympy.Symbol("m"), 1)))
    circuit = cirq.Circuit(
        cirq.CircuitOperation(
            body,
            repeat_until=cirq.KeyCondition(cirq.MeasurementKey("flag")),
            use_repetition_ids=False,
        ),
        cirq.H(b),
        cirq.measure(b, key="m"),
        cirq.X(c).with_classical_controls(both),
        cirq.measure(c, key="out"),
    )
    result = cirq_service.sampler(target).run(circuit, repetitions=400)
    flag = result.records["flag"][:, :, 0]
    if target == "cirq_simulator":
        # every turn, as Cirq records them: 0 until the turn that ended the loop, then
        # Cirq's zero padding up to the longest shot
        assert flag.shape[1] > 1
        last = flag.argmax(axis=1)
        assert flag[np.arange(400), last].all()
        assert flag.sum(axis=1).tolist() == [1] * 400
    else:
        # Aer keeps the register's last value: the turn that ended the loop, read 1
        assert flag.shape == (400, 1)
        assert flag.all()
    m, out = result.records["m"][:, 0, 0], result.records["out"][:, 0, 0]
    np.testing.assert_array_equal(out, m)  # flag is 1, so x exactly when m reads 1
    assert 0 < m.sum() < 400
