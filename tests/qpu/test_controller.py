"""The controller over gRPC on loopback: execute, status, await, cancel, idempotency."""

from __future__ import annotations

import json
import math
import os
import signal

import numpy as np
import pytest

from qrelay.errors import BuildOptionsError, QpuApiError, SubmissionError
from qrelay.payload import Circuit
from qrelay.qpu import api, native
from qrelay.qpu.fleet import fleet_device
from qrelay.qpu.runner import ProcessRunner
from qrelay.qpu.server import ServerHandle, start_server
from qrelay.qpu.translation import translate

from ._programs import bell_square, ghz_square, rotations_square, snake_square

PI = math.pi


def _executed(client: api.QpuClient, device: str) -> int:
    info = api.get_controller_info(client=client)
    return next(
        d["programs_executed"] for d in info["devices"] if d["quantum_processor_id"] == device
    )


# ---------------------------------------------------------------- running programs
def test_execute_and_retrieve(client: api.QpuClient) -> None:
    program = translate(rotations_square(2), 200, "square_qpu")
    job_id = api.submit(program, {"theta": [PI, 0.0]}, client=client)
    results = api.retrieve_results(job_id, client=client)
    assert set(results.buffers) == {"ro[0]", "ro[1]"}
    ro0, ro1 = results.buffers["ro[0]"], results.buffers["ro[1]"]
    assert ro0.dtype == "integer"
    assert ro0.shape == [200]
    assert ro0.data.mean() > 0.85
    assert ro1.data.mean() < 0.15
    assert results.memory == {"theta": [PI, 0.0]}
    expected_us = native.execution_duration_us(rotations_square(2), fleet_device("square_qpu"), 200)
    assert results.execution_duration_microseconds == expected_us
    status = api.get_job_status(job_id, client=client)
    assert status.state == "completed"
    assert status.execution_count == 1
    readout = program.to_readout(results)
    assert readout.successful_shots == 200
    assert readout.execution_duration_us == expected_us
    assert np.array_equal(readout.register("ro").array()[:, 0], ro0.data)


def test_parameter_batch_runs_one_program(client: api.QpuClient) -> None:
    program = translate(rotations_square(3), 100, "square_qpu")
    sets = [{"theta": [PI * (i & 1), PI * (i >> 1 & 1), PI * (i >> 2 & 1)]} for i in range(8)]
    before = _executed(client, "square_qpu")
    job_ids = api.submit_with_parameter_batch(program, sets, client=client)
    assert len(set(job_ids)) == 8
    results = api.retrieve_results_batch(job_ids, client=client)
    assert _executed(client, "square_qpu") == before + 1  # patched, not re-run per set
    for i, result in enumerate(results):
        for q in range(3):
            mean = result.buffers[f"ro[{q}]"].data.mean()
            assert (mean > 0.8) if (i >> q & 1) else (mean < 0.2)
        assert result.memory == sets[i]


def test_idempotent_execute_runs_once(client: api.QpuClient) -> None:
    program = translate(rotations_square(1), 50, "square_qpu")
    before = _executed(client, "square_qpu")
    first = api.submit(program, {"theta": [PI]}, client=client, idempotency_key="task-7:1")
    api.retrieve_results(first, client=client)
    again = api.submit(program, {"theta": [PI]}, client=client, idempotency_key="task-7:1")
    assert again == first
    assert _executed(client, "square_qpu") == before + 1
    assert api.get_job_status(first, client=client).execution_count == 1
    with pytest.raises(SubmissionError, match=r"ALREADY_EXISTS.*different"):
        api.submit(program, {"theta": [0.0]}, client=client, idempotency_key="task-7:1")


def test_iq_points_discriminate_back_to_bits(server: ServerHandle, client: api.QpuClient) -> None:
    shots = 2000
    program = translate(rotations_square(2), shots, "square_qpu", iq_readout=True)
    job_id = api.submit(program, {"theta": [PI, 0.0]}, client=client)
    results = api.retrieve_results(job_id, client=client)
    model = server.controller.device("square_qpu").iq
    target = fleet_device("square_qpu")
    for q in (0, 1):
        points = results.buffers[f"ro[{q}].iq"]
        assert points.dtype == "complex"
        assert points.shape == [shots]
        bits = results.buffers[f"ro[{q}]"].data
        assert np.array_equal(model.discriminate(points.data, [q]), bits)
        # the two clouds sit around the qubit's centroids
        wanted = model.one[q] if q == 0 else model.zero[q]
        assert abs(np.median(points.data.real) - wanted.real) < 0.2
    # |0> on qubit 1: flips come from readout error only, about as calibrated
    flips = results.buffers["ro[1]"].data.mean()
    error = target.qubits[1].readout_error or 0.0
    assert abs(flips - error) < 4 * math.sqrt(error / shots) + 0.005
    # without IQ the bits flip with the same (calibrated) probability
    plain = translate(rotations_square(2), shots, "square_qpu")
    bare = api.retrieve_results(
        api.submit(plain, {"theta": [PI, 0.0]}, client=client), client=client
    )
    assert set(bare.buffers) == {"ro[0]", "ro[1]"}
    flips = bare.buffers["ro[1]"].data.mean()
    assert abs(flips - error) < 4 * math.sqrt(error / shots) + 0.005
    readout = program.to_readout(results)
    iq = readout.register("ro").iq_array()
    assert iq is not None
    assert iq.shape == (shots, 2)


def test_small_program_on_large_device_simulates_touched_qubits(client: api.QpuClient) -> None:
    target = fleet_device("heavyhex_qpu")
    a, b = next((a, b) for a, b in target.coupling_map or [] if min(a, b) >= 20)
    circuit = Circuit.model_validate(
        {
            "num_qubits": 27,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [
                {"op": "ecr", "qubits": [a, b]},
                {"op": "measure", "qubits": [a], "clbits": [0]},
                {"op": "measure", "qubits": [b], "clbits": [1]},
            ],
        }
    )
    job_id = api.submit(translate(circuit, 500, "heavyhex_qpu"), {}, client=client)
    results = api.retrieve_results(job_id, client=client)
    # ECR on |00> flips its control (its echo has an X) and leaves the target half-half
    assert results.buffers["c[0]"].data.mean() > 0.85
    assert 0.35 < results.buffers["c[1]"].data.mean() < 0.65


def test_ion_ms_gate_entangles(client: api.QpuClient) -> None:
    circuit = Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "m", "size": 2}],
            "instructions": [
                {"op": "rxx", "qubits": [0, 1], "params": [PI / 2]},
                {"op": "measure", "qubits": [0], "clbits": [0]},
                {"op": "measure", "qubits": [1], "clbits": [1]},
            ],
        }
    )
    program = translate(circuit, 1000, "ion_qpu")
    results = api.retrieve_results(api.submit(program, {}, client=client), client=client)
    counts = program.to_readout(results).counts()
    assert counts.get("00", 0) + counts.get("11", 0) > 900


@pytest.mark.parametrize("size", [2, 3])
def test_noisy_ghz_fidelity_matches_calibration(client: api.QpuClient, size: int) -> None:
    """P(all 0) + P(all 1) of a Bell (2) or GHZ (3) state falls where calibration puts it."""
    shots = 4000
    target = fleet_device("square_qpu")
    table = native.gate_table(target)
    circuit = bell_square() if size == 2 else ghz_square(size)
    program = translate(circuit, shots, "square_qpu")
    counts = program.to_readout(
        api.retrieve_results(api.submit(program, {}, client=client), client=client)
    ).counts()
    fidelity = (counts.get("0" * size, 0) + counts.get("1" * size, 0)) / shots
    # Any single readout flip breaks the correlation (two flips of a Bell pair restore it).
    readout = [target.qubits[q].readout_error or 0.0 for q in range(size)]
    best = math.prod(1 - e for e in readout) + (readout[0] * readout[1] if size == 2 else 0.0)
    # Gate errors (depolarizing) and relaxation over ~1-2 us (T1 ~ 100 us) cost a few
    # percent more at most.
    gate = sum(
        (table[(inst["op"], tuple(inst["qubits"]))].error or 0.0)
        for inst in circuit.instructions
        if inst["op"] in ("rx", "cz")
    )
    worst = best - 2 * gate - 0.03 * size
    sigma = math.sqrt(best * (1 - best) / shots)
    assert worst - 4 * sigma < fidelity < best + 4 * sigma
    assert fidelity < 0.999  # noise is really applied


def test_a_seeded_submission_reads_out_the_same_again(client: api.QpuClient) -> None:
    """The job's seed fixes shot and readout noise: same seed, same bits; another, others."""
    program = translate(bell_square(), 400, "square_qpu")

    def bits(seed: int) -> np.ndarray:
        options = api.ExecutionOptions.builder().api_options(api.ApiExecutionOptions(seed=seed))
        job_id = api.submit(program, {}, client=client, execution_options=options.build())
        result = api.retrieve_results(job_id, client=client)
        return np.stack([buffer.data for _, buffer in sorted(result.buffers.items())])

    first = bits(5)
    assert np.array_equal(first, bits(5))
    assert not np.array_equal(first, bits(6))
    with pytest.raises(BuildOptionsError, match=r"api_options\.seed"):
        api.ApiExecutionOptions(seed=-1)


# ---------------------------------------------------------------- queues and cancel
def test_status_delay_and_cancel_before_start(paused_server: ServerHandle) -> None:
    with api.QpuClient(addresses={"square_qpu": paused_server.address}) as client:
        program = translate(rotations_square(1), 1000, "square_qpu")
        first = api.submit(program, {"theta": [0.0]}, client=client)
        second, third = api.submit_with_parameter_batch(
            program, [{"theta": [1.0]}, {"theta": [2.0]}], client=client
        )
        s1 = api.get_job_status(first, client=client)
        s2 = api.get_job_status(second, client=client)
        assert s1.state == s2.state == "queued"
        assert s1.queue_position == 0
        assert s2.queue_position == 1
        duration_us = native.execution_duration_us(
            rotations_square(1), fleet_device("square_qpu"), 1000
        )
        assert s1.estimated_delay.total_seconds() == 0.0
        assert s2.estimated_delay.total_seconds() == pytest.approx(duration_us / 1e6, rel=1e-6)
        info = api.get_controller_info(client=client)
        square = next(d for d in info["devices"] if d["quantum_processor_id"] == "square_qpu")
        assert square["queue_depth"] == 3

        outcomes = api.cancel_jobs([second, "square_qpu-unknown"], client=client)
        assert outcomes == {second: "cancelled", "square_qpu-unknown": "not_found"}
        assert api.cancel_jobs([second], client=client) == {second: "already_finished"}
        with pytest.raises(QpuApiError, match="not cancelled: already finished"):
            api.cancel_job(second, client=client)
        assert api.get_job_status(second, client=client).state == "cancelled"
        assert api.get_job_status(third, client=client).state == "queued"
        with pytest.raises(QpuApiError, match="cancelled"):
            api.retrieve_results(second, client=client)
        # a bounded wait on a queued job ends with a clear error, not a hang
        options = api.ExecutionOptions(timeout=0.2)
        with pytest.raises(QpuApiError, match=r"did not finish within 0\.2 s"):
            api.retrieve_results(first, client=client, execution_options=options)


def test_atomic_batch_queues_nothing_on_one_bad_set(paused_server: ServerHandle) -> None:
    with api.QpuClient(gateway=paused_server.address) as client:
        program = translate(rotations_square(2), 10, "square_qpu")
        sets = [{"theta": [0.1, 0.2]}] * 5 + [{"theta": [0.1]}] + [{"theta": [0.3, 0.4]}]
        with pytest.raises(SubmissionError, match=r"patch_values\[5\]: region 'theta' takes 2"):
            api.submit_with_parameter_batch(program, sets, client=client, idempotency_key="b1")
        info = api.get_controller_info(client=client)
        assert all(d["queue_depth"] == 0 for d in info["devices"])
        # the refused key was not remembered: a corrected batch under it is queued
        ids = api.submit_with_parameter_batch(
            program, [{"theta": [0.1, 0.2]}], client=client, idempotency_key="b1"
        )
        assert len(ids) == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["instructions"].insert(0, {"op": "h", "qubits": [0]}),
            r"INVALID_ARGUMENT: instruction 0 \(h\): 'h' is not a native op of square_qpu",
        ),
        (
            lambda c: (
                c["instructions"].insert(0, {"op": "cz", "qubits": [0, 2]})
                or c.update(num_qubits=3)
            ),
            r"INVALID_ARGUMENT: instruction 0 \(cz\): qubits \[0, 2\] are not coupled",
        ),
        (
            lambda c: c["instructions"].insert(0, {"op": "rx", "qubits": [7], "params": [1.0]}),
            r"INVALID_ARGUMENT: executable.circuit_json: instruction 0 \(rx\): qubit 7 is out of range",
        ),
    ],
)
def test_bad_executables_are_refused(
    paused_server: ServerHandle, edit: object, message: str
) -> None:
    program = json.loads(translate(rotations_square(2), 10, "square_qpu").program)
    edit(program["circuit"])  # type: ignore[operator]
    with (
        api.QpuClient(gateway=paused_server.address) as client,
        pytest.raises(SubmissionError, match=message),
    ):
        api.submit(json.dumps(program), {"theta": [0.0, 0.0]}, client=client)


def test_unknown_processor_and_stale_calibration(paused_server: ServerHandle) -> None:
    with api.QpuClient(gateway=paused_server.address) as client:
        hh = translate(
            rotations_square(1).model_copy(update={"instructions": []}), 10, "heavyhex_qpu"
        )
        with pytest.raises(SubmissionError, match="NOT_FOUND: quantum processor 'heavyhex_qpu'"):
            api.submit(hh, {"theta": [0.0]}, client=client)
        program = json.loads(translate(rotations_square(1), 10, "square_qpu").program)
        program["calibration_id"] = fleet_device("square_qpu", epoch=3).calibration_id
        stale = json.dumps(program)
        with pytest.raises(
            SubmissionError, match="FAILED_PRECONDITION: square_qpu was recalibrated"
        ):
            api.submit(stale, {"theta": [0.0]}, client=client)
        bypass = api.ExecutionOptions(
            api_options=api.ApiExecutionOptions(bypass_settings_protection=True)
        )
        job_id = api.submit(stale, {"theta": [0.0]}, client=client, execution_options=bypass)
        assert api.get_job_status(job_id, client=client).state == "queued"


def test_device_info_over_grpc(paused_server: ServerHandle) -> None:
    with api.QpuClient(gateway=paused_server.address) as client:
        info = api.get_device_info("ion_qpu", client=client)
        assert info == fleet_device("ion_qpu").model_copy(update={"queue_depth": 0})
        with pytest.raises(QpuApiError, match="NOT_FOUND"):
            api.get_device_info("heavyhex_qpu", client=client)


async def test_async_twins(server: ServerHandle) -> None:
    client = api.QpuClient(addresses={"square_qpu": server.address})
    try:
        program = translate(rotations_square(2), 100, "square_qpu")
        job_id = await api.submit_async(program, {"theta": [0.0, PI]}, client=client)
        ids = await api.submit_with_parameter_batch_async(
            program, [{"theta": [PI, 0.0]}], client=client, idempotency_key="async-1"
        )
        results = await api.retrieve_results_async(job_id, client=client)
        assert results.buffers["ro[1]"].data.mean() > 0.8
        (batch,) = await api.retrieve_results_batch_async(ids, client=client)
        assert batch.buffers["ro[0]"].data.mean() > 0.8
        status = await api.get_job_status_async(job_id, client=client)
        assert status.state == "completed"
        assert await api.cancel_jobs_async([job_id], client=client) == {job_id: "already_finished"}
        with pytest.raises(QpuApiError, match="already finished"):
            await api.cancel_job_async(job_id, client=client)
    finally:
        await client.aclose()
        client.close()


def test_default_engine_runs_in_a_child_process(engine: object) -> None:
    """Without an engine object the plugin runs in a spawned child; status still answers."""
    with start_server(devices=["square_qpu"], seed=5) as handle:
        client = api.QpuClient(gateway=handle.address)
        try:
            program = translate(rotations_square(2), 100, "square_qpu")
            ids = api.submit_with_parameter_batch(
                program, [{"theta": [PI, 0.0]}, {"theta": [0.0, PI]}], client=client
            )
            first, second = api.retrieve_results_batch(ids, client=client)
            assert first.buffers["ro[0]"].data.mean() > 0.8
            assert second.buffers["ro[1]"].data.mean() > 0.8
            runner = handle.controller.runner()
            assert isinstance(runner, ProcessRunner)

            # While a long noisy batch runs in the engine process, the controller answers:
            # the job is seen running, and cancelling it cancels it (its result is dropped).
            heavy = translate(snake_square(10), 100, "square_qpu")
            sets = [{"theta": [0.1 * (i + k) for k in range(10)]} for i in range(6)]
            heavy_ids = api.submit_with_parameter_batch(heavy, sets, client=client)
            states = set()
            for _ in range(10_000):
                state = api.get_job_status(heavy_ids[0], client=client).state
                states.add(state)
                if state != "queued":
                    break
            assert "running" in states  # seen while the engine process works
            outcome = api.cancel_jobs([heavy_ids[-1]], client=client)
            assert outcome[heavy_ids[-1]] in ("cancelled", "already_finished")
            assert len(api.retrieve_results_batch(heavy_ids[:-1], client=client)) == 5
            if outcome[heavy_ids[-1]] == "cancelled":
                with pytest.raises(api.QpuJobCancelledError):
                    api.retrieve_results(heavy_ids[-1], client=client)

            # The engine process dies (as on a native crash): the program running then
            # fails with a clear message, the controller lives on and starts a new one.
            (child,) = runner._children
            os.kill(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
            job_id = api.submit(program, {"theta": [PI, PI]}, client=client)
            with pytest.raises(QpuApiError, match="simulation process of engine 'aer' died"):
                api.retrieve_results(job_id, client=client)
            again = api.submit(program, {"theta": [PI, PI]}, client=client)
            assert api.retrieve_results(again, client=client).buffers["ro[1]"].data.mean() > 0.8
        finally:
            client.close()
