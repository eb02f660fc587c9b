"""Golden JSON files: one representative instance of every public payload model.

A change to the wire (a renamed field, a new default, another encoding) changes a file under
``tests/golden/payload`` and fails here, on purpose. After a deliberate change, regenerate
with ``QRELAY_REGEN_GOLDEN=1 python -m pytest tests/payload/test_golden.py`` and commit the
files with the change. Each golden file must also still parse into an equal model, so old
producers stay readable.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from qrelay import payload as p
from qrelay.payload.schema import public_models

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "payload"
REGEN = os.environ.get("QRELAY_REGEN_GOLDEN") == "1"

_T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_T1 = datetime(2026, 1, 2, 3, 4, 6, 500000, tzinfo=UTC)


def _circuit() -> p.Circuit:
    hadamard = [[(2**-0.5, 0.0), (2**-0.5, 0.0)], [(2**-0.5, 0.0), (-(2**-0.5), 0.0)]]
    return p.Circuit(
        name="bell_sweep",
        num_qubits=3,
        registers=[p.Register(name="c", size=2), p.Register(name="flag", size=1)],
        parameters=["theta", "phi"],
        instructions=[
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "rx", "qubits": [2], "params": ["theta"]},
            {"op": "rz", "qubits": [2], "params": [{"fn": "mul", "args": [2.0, "phi"]}]},
            {"op": "u", "qubits": [1], "params": [0.1, 0.2, 0.3], "label": "u-gate"},
            {"op": "unitary", "qubits": [2], "matrix": hadamard},
            {"op": "delay", "qubits": [1], "params": [100.0], "unit": "ns"},
            {"op": "barrier", "qubits": [0, 1, 2]},
            {"op": "measure", "qubits": [2], "clbits": [2]},
            {
                "op": "if",
                "qubits": [],
                "condition": {"register": "flag", "value": 1},
                "body": [{"op": "x", "qubits": [0]}],
                "else_body": [{"op": "reset", "qubits": [0]}],
            },
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
        global_phase={"fn": "neg", "args": ["phi"]},
        metadata={"origin": "golden", "qiskit.clbit_order": [0, 1, 2]},
        qubit_registers=[p.Register(name="q", size=3)],
        qubit_labels=["line:0", "line:1", "line:2"],
        layout=[
            p.KeyLayout(
                register_name="c", key="c", instance=0, qubits=["line:0", "line:1"], inverted=[1]
            ),
            p.KeyLayout(register_name="flag", key="flag", instance=0, qubits=["line:2"]),
        ],
    )


def _bindings() -> p.Bindings:
    return p.Bindings(names=["theta", "phi"], values=[[0.0, 0.5], [1.5, -0.25]])


def _readout() -> p.Readout:
    c = np.array([[0, 0], [1, 1], [1, 1], [0, 1]], dtype=np.uint8)
    flag = np.array([[0], [1], [0], [1]], dtype=np.uint8)
    iq = np.array([[0.5 + 0.25j], [-0.5 - 1j], [0.125 + 0j], [-1 + 2j]], dtype=np.complex64)
    return p.Readout.from_arrays(
        {"c": c, "flag": flag},
        iq={"flag": iq},
        memory={"ro": [0.0, 1.0]},
        execution_duration_us=1234,
    )


def _target_info() -> p.TargetInfo:
    return p.TargetInfo(
        name="square_qpu",
        description="4x4 square lattice",
        driver="qpu-grpc",
        num_qubits=2,
        native_ops=["cz", "rx", "rz", "measure"],
        coupling_map=[(0, 1), (1, 0)],
        qubits=[
            p.QubitProperties(
                t1_us=50.0,
                t2_us=40.0,
                frequency_ghz=5.1,
                readout_error=0.02,
                readout_duration_ns=800.0,
            ),
            p.QubitProperties(t1_us=60.0, t2_us=45.0, frequency_ghz=5.2, readout_error=0.015),
        ],
        gates=[
            p.GateProperties(op="cz", qubits=[0, 1], error=0.01, duration_ns=200.0),
            p.GateProperties(op="rx", qubits=[0], error=0.001, duration_ns=25.0),
        ],
        dt_ns=0.5,
        limits=p.TargetLimits(max_shots=50_000, max_circuits=100, max_qubits=2),
        capabilities=p.TargetCapabilities(parameter_batch=True, iq_readout=True),
        price_per_shot=0.001,
        calibration_id="cal-2026-01-02",
        status=p.TargetStatus.AVAILABLE,
        queue_depth=3,
        options={"seed": 7},
    )


def _job_data(circuit: p.Circuit, readout: p.Readout) -> p.JobData:
    return p.JobData(
        job_id="job-1",
        job_type=p.JobType.SUBMIT,
        target="square_qpu",
        user_email="user@example.org",
        status=p.CircuitStatus.COMPLETED,
        statuses=[p.CircuitStatus.COMPLETED],
        status_messages=[None],
        num_circuits=1,
        shots=[4],
        counts=[readout.counts()],
        compiled_circuits=[None],
        initial_logical_to_physicals=[{0: 0, 1: 1, 2: 2}],
        final_logical_to_physicals=[{0: 0, 1: 1, 2: 2}],
        provider_id=["exec-1"],
        priority=2,
        tags=["golden"],
        metadata={"note": "a"},
        cost=0.004,
        queue_position=None,
        submission_timestamp=_T0,
        last_updated_timestamp=[_T1],
        readouts=[[readout]],
        layouts=[circuit],
    )


def samples() -> dict[str, BaseModel]:
    """One representative instance per public model, every optional part filled in."""
    circuit = _circuit()
    bindings = _bindings()
    readout = _readout()
    info = _target_info()
    observable = p.Observable(
        terms=[
            p.PauliTerm(pauli="ZX", qubits=[0, 2], coefficient=0.5),
            p.PauliTerm(pauli="", qubits=[], coefficient=-1.0),
        ]
    )
    job = _job_data(circuit, readout)
    worker_task = p.WorkerTask(
        task_id="task-1",
        job_id="job-1",
        circuit_index=0,
        target="square_qpu",
        job_type=p.JobType.SUBMIT,
        shots=4,
        circuit=circuit,
        bindings=bindings,
        lease_id="lease-1",
        lease_expires_at=_T1,
        attempt=1,
        execution_id="exec-1",
    )
    return {
        "BalanceResponse": p.BalanceResponse(balance=12.5),
        "Bindings": bindings,
        "Circuit": circuit,
        "ExternalProviderCredentials": p.ExternalProviderCredentials(
            provider="vendor", token="tok", url="https://vendor.example", extra={"region": "eu"}
        ),
        "GateProperties": info.gates[0],
        "GetTargetsFilterModel": p.GetTargetsFilterModel(
            simulator=False, available=True, min_num_qubits=2
        ),
        "HeartbeatResponse": p.HeartbeatResponse(lease_expires_at=_T1, cancel_requested=True),
        "JobCancellationResults": p.JobCancellationResults(
            succeeded=["job-1"],
            already_terminal=["job-2"],
            not_found=["job-3"],
            message="1 cancelled",
            warnings=["job-2 had finished"],
        ),
        "JobData": job,
        "JobPage": p.JobPage(jobs=[job], next_cursor="cursor-2"),
        "JobTimeline": p.JobTimeline(
            transitions=[
                p.JobTransition(
                    circuit_index=0,
                    from_status=p.CircuitStatus.RECEIVED,
                    to_status=p.CircuitStatus.AWAITING_SUBMISSION,
                    at=_T0,
                ),
                p.JobTransition(
                    circuit_index=0,
                    from_status=p.CircuitStatus.AWAITING_SUBMISSION,
                    to_status=p.CircuitStatus.PENDING,
                    at=_T1,
                    message="leased by worker worker-a (attempt 1)",
                ),
            ],
            truncated=False,
        ),
        "JobTransition": p.JobTransition(
            circuit_index=1,
            from_status=None,
            to_status=p.CircuitStatus.RECEIVED,
            at=_T0,
        ),
        "JobQuery": p.JobQuery(
            job_id=["job-1"],
            target_name="square_qpu",
            status=[p.CircuitStatus.RUNNING, p.CircuitStatus.PENDING],
            tag="golden",
            min_priority=0,
            max_priority=5,
            submitted_before=_T1,
            submitted_after=_T0,
            limit=20,
            cursor="c1",
        ),
        "JobResults": p.JobResults(
            job_id="job-1",
            statuses=[p.CircuitStatus.COMPLETED],
            circuits=[circuit],
            readouts=[[readout]],
        ),
        "KeyLayout": circuit.layout[0] if circuit.layout else p.KeyLayout(register_name="c"),
        "NewJob": p.NewJob(
            target="square_qpu",
            circuits=[circuit],
            bindings=[bindings],
            shots=4,
            sim_method=p.SimMethod.NOISE_SIM,
            job_type=p.JobType.SIMULATE,
            priority=2,
            tags=["golden"],
            metadata={"note": "a"},
            memory=True,
            options={"optimization_level": 1},
        ),
        "NewJobResponse": p.NewJobResponse(
            job_id="job-1", num_circuits=1, estimated_cost=0.004, job=job
        ),
        "NewUser": p.NewUser(
            name="Ada", email="ada@example.org", role=p.Role.PRIORITY, balance=10.0
        ),
        "NewWorker": p.NewWorker(name="worker-a", targets=["square_qpu", "aer_simulator"]),
        "NoiseSpec": p.NoiseSpec(depolarizing_1q=0.001, depolarizing_2q=0.01, readout_error=0.02),
        "Observable": observable,
        "PauliTerm": observable.terms[0],
        "QubitProperties": info.qubits[0],
        "Readout": readout,
        "Register": circuit.registers[0],
        "RegisterReadout": readout.registers[1],
        "RegisterTurns": p.RegisterTurns.from_array(
            "c", [[[1, 0], [0, 1], [1, 1]], [[1, 1], [0, 0], [0, 0]]], [3, 1]
        ),
        "RetrieveTargetInfoModel": p.RetrieveTargetInfoModel(
            target="square_qpu", options_dict={"noise": True}
        ),
        "RunOptions": p.RunOptions(
            shots=4, seed=7, memory=True, optimization_level=1, noise=p.NoiseSpec(readout_error=0.1)
        ),
        "TargetCapabilities": info.capabilities,
        "TargetInfo": info,
        "TargetLimits": info.limits,
        "TargetModel": p.TargetModel.from_info(info),
        "UpdateUserDetails": p.UpdateUserDetails(name="Ada L.", balance=3.0, active=False),
        "UserInfo": p.UserInfo(
            user_id="u-1",
            name="Ada",
            email="ada@example.org",
            role=p.Role.USER,
            balance=10.0,
            max_priority=5,
        ),
        "UserQuery": p.UserQuery(name="Ada", role=p.Role.USER),
        "UserTokenResponse": p.UserTokenResponse(
            user_id="u-1", email="ada@example.org", token="t0k3n"
        ),
        "WorkerTask": worker_task,
        "WorkerTaskResults": p.WorkerTaskResults(
            lease_id="lease-1",
            status=p.CircuitStatus.COMPLETED,
            successful_shots=4,
            readouts=[readout, readout],
            initial_logical_to_physical={0: 0},
            final_logical_to_physical={0: 0},
            execution_id="exec-1",
            metadata={"device_time_us": 1234},
        ),
        "WorkerTaskStatus": p.WorkerTaskStatus(
            lease_id="lease-1", status=p.CircuitStatus.RUNNING, execution_id="exec-1"
        ),
        "TaskResults": p.TaskResults(
            task_id="task-1",
            lease_id="lease-1",
            status=p.CircuitStatus.COMPLETED,
            successful_shots=4,
            readouts=[readout, readout],
        ),
        "WorkerResultsBatch": p.WorkerResultsBatch(
            results=[
                p.TaskResults(
                    task_id="task-1",
                    lease_id="lease-1",
                    status=p.CircuitStatus.FAILED,
                    status_message="the device went away",
                )
            ]
        ),
        "TaskResultOutcome": p.TaskResultOutcome(
            task_id="task-1", accepted=False, status=409, code="lease_lost", message="stale"
        ),
        "WorkerResultsAnswer": p.WorkerResultsAnswer(
            outcomes=[p.TaskResultOutcome(task_id="task-1", accepted=True)],
            tasks=[worker_task],
        ),
        "LeasedTasks": p.LeasedTasks(tasks=[worker_task]),
        "WorkerTokenResponse": p.WorkerTokenResponse(
            worker_id="w-1", name="worker-a", targets=["square_qpu"], token="w0rk3r"
        ),
        "WorkerInfo": p.WorkerInfo(
            worker_id="w-1", name="worker-a", targets=["square_qpu"], active=False
        ),
    }


def _render(model: BaseModel) -> str:
    return json.dumps(json.loads(model.model_dump_json()), indent=2, sort_keys=True) + "\n"


SAMPLES = samples()


def test_every_public_model_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(public_models())
    for name, model in SAMPLES.items():
        assert type(model) is public_models()[name]


def test_no_stale_golden_files() -> None:
    if REGEN:
        for stale in GOLDEN_DIR.glob("*.json"):
            if stale.stem not in SAMPLES:
                stale.unlink()
    stale = sorted(f.name for f in GOLDEN_DIR.glob("*.json") if f.stem not in SAMPLES)
    assert stale == [], f"golden files without a model: {stale}"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_wire(name: str) -> None:
    model = SAMPLES[name]
    path = GOLDEN_DIR / f"{name}.json"
    text = _render(model)
    if REGEN:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with QRELAY_REGEN_GOLDEN=1 to create it"
    golden = path.read_text(encoding="utf-8")
    assert text == golden, (
        f"the wire form of {name} changed; if on purpose, regenerate with "
        "QRELAY_REGEN_GOLDEN=1 and commit the golden file"
    )
    # The golden file still parses, into the very same model.
    assert p.parse(type(model), golden) == model
