"""The embedded default: started on first use, runs jobs, keeps them for later processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

from qrelay import embedded
from qrelay.payload import NewJob
from qrelay.runtime import Client
from qrelay.runtime.providers import ServiceProvider, get_provider

from .circuits import flip


def test_client_without_url_uses_the_embedded_default(stack: Any) -> None:
    with Client() as client:
        assert client.embedded
        job = client.submit(NewJob(target="aer_simulator", circuits=[flip(3)], shots=64))
        results = job.result(timeout=60)
        assert client.url == stack.url
    assert embedded.start() is stack  # started once per process
    assert results.readouts[0] is not None
    assert results.readouts[0][0].counts() == {"010": 64}
    assert results.circuits[0].registers[0].name == "m"
    state = json.loads((stack.home / embedded.STATE_FILE).read_text(encoding="utf-8"))
    assert state["token"] == stack.token
    assert (stack.home / embedded.STATE_FILE).stat().st_mode & 0o077 == 0


def test_a_targets_first_job_starts_its_worker(stack: Any) -> None:
    """Workers start with their target's first job, queued ones included (a job of 14
    qubits is not run on the submitting thread); every catalog target gets one so."""
    assert stack.wait_ready(60)
    with Client() as client:
        names = {t.target_name for t in client.targets()}
        assert {"aer_simulator", "cirq_simulator", "square_qpu", "heavyhex_qpu", "ion_qpu"} <= names
        jobs = [client.submit(NewJob(target=name, circuits=[flip(2)], shots=5)) for name in names]
        jobs.append(client.submit(NewJob(target="cirq_simulator", circuits=[flip(14)], shots=5)))
        for job in jobs:
            assert job.result(timeout=120).readouts[0] is not None
    served = {name for worker in stack._workers for name in worker.targets}
    assert names <= served


FIRST_JOB_ONLY = textwrap.dedent(
    """
    import json
    from qrelay import embedded
    from qrelay.payload import Circuit, NewJob, Register
    from qrelay.runtime import Client
    circuit = Circuit(num_qubits=2, registers=[Register(name="r", size=2)], instructions=[
        {"op": "x", "qubits": [1]},
        {"op": "measure", "qubits": [0], "clbits": [0]},
        {"op": "measure", "qubits": [1], "clbits": [1]},
    ])
    with Client() as client:
        counts = client.submit(NewJob(target="aer_simulator", circuits=[circuit], shots=7))
        counts = counts.result(timeout=60).readouts[0][0].counts()
    stack = embedded.running()
    print(json.dumps({
        "counts": counts,
        "workers": sorted(t for w in stack._workers for t in w.targets),
        "fleet": embedded._fleet is not None,
    }))
    """
)


def test_a_script_starts_only_what_its_first_job_needs(tmp_path: Any) -> None:
    """One small simulator job in a fresh process: one worker, no QPU fleet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["QRELAY_HOME"] = str(tmp_path / "home")
    env["QRELAY_CONFIG"] = os.devnull
    done = subprocess.run(
        [sys.executable, "-c", FIRST_JOB_ONLY],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["counts"] == {"10": 7}
    assert seen["workers"] == ["aer_simulator"]
    assert seen["fleet"] is False


def test_default_provider_is_the_embedded_service(stack: Any) -> None:
    provider = get_provider()
    assert isinstance(provider, ServiceProvider)
    job = provider.submit(NewJob(target="cirq_simulator", circuits=[flip(2)], shots=10))
    assert job.result(timeout=60).readouts[0][0].counts() == {"10": 10}  # type: ignore[index]


SUBMIT = textwrap.dedent(
    """
    from qrelay.payload import Circuit, NewJob, Register
    from qrelay.runtime import Client
    circuit = Circuit(num_qubits=2, registers=[Register(name="r", size=2)], instructions=[
        {"op": "x", "qubits": [0]},
        {"op": "measure", "qubits": [0], "clbits": [0]},
        {"op": "measure", "qubits": [1], "clbits": [1]},
    ])
    with Client() as client:
        job = client.submit(NewJob(target="aer_simulator", circuits=[circuit], shots=21))
        job.wait(timeout=60)
        print(job.job_id)
    """
)

RETRIEVE = textwrap.dedent(
    """
    import json, sys
    from qrelay.runtime import Client
    with Client() as client:
        results = client.job(sys.argv[1]).result(timeout=60)
        print(json.dumps(results.readouts[0][0].counts()))
    """
)


def test_a_job_from_one_process_is_retrieved_by_a_later_one(stack: Any, tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QRELAY_URL", "QRELAY_TOKEN")}
    env["QRELAY_HOME"] = str(tmp_path / "home")

    def python(code: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]

    job_id = python(SUBMIT)
    assert json.loads(python(RETRIEVE, job_id)) == {"01": 21}


async def test_async_client_on_its_own_loop_reaches_the_embedded_default(stack: Any) -> None:
    from qrelay.runtime import AsyncClient

    async with AsyncClient() as client:
        job = await client.submit(NewJob(target="aer_simulator", circuits=[flip(4)], shots=9))
        results = await job.result(timeout=60)
        assert client.url == stack.url  # HTTP on loopback: the app's loop is not this one
    assert results.readouts[0][0].counts() == {"1010": 9}  # type: ignore[index]


async def test_sync_client_works_inside_a_running_event_loop(stack: Any) -> None:
    # As in a notebook: the caller's loop is busy running this coroutine, yet the sync
    # client works, because its I/O runs on the runtime's own loop.
    with Client() as client:
        job = client.submit(NewJob(target="aer_simulator", circuits=[flip(2)], shots=4))
        assert job.result(timeout=60).readouts[0][0].counts() == {"10": 4}  # type: ignore[index]


def test_a_brief_job_has_ended_when_submit_returns(stack: Any) -> None:
    """A small simulation is run on the submitting (runtime) thread, through the same
    lease and result as a worker's; anything bigger is queued for the workers."""
    from qrelay.payload import CircuitStatus

    assert stack.wait_ready(60)
    with Client() as client:
        brief = client.submit(NewJob(target="aer_simulator", circuits=[flip(3)], shots=64))
        ended = brief.ended  # the submission's answer carried the finished job
        assert ended is not None
        assert ended.statuses == [CircuitStatus.COMPLETED]
        assert brief.result(timeout=60).readouts[0][0].counts() == {"010": 64}  # type: ignore[index]
        assert brief.data().statuses == [CircuitStatus.COMPLETED]  # and the service agrees
        queued = client.submit(NewJob(target="aer_simulator", circuits=[flip(14)], shots=64))
        assert queued.ended is None  # queued for a worker: the wait asks the service
        counts = queued.result(timeout=60).readouts[0][0].counts()  # type: ignore[index]
        assert counts == {"10" * 7: 64}


def test_a_list_of_small_circuits_is_one_job_run_where_it_was_submitted(stack: Any) -> None:
    """Several brief circuits are one job, all run on the submitting thread (it has ended
    when submit returns); one circuit too big for that queues the whole job instead."""
    from qrelay.payload import CircuitStatus

    assert stack.wait_ready(60)
    widths = [2, 3, 4, 5, 3]
    with Client() as client:
        brief = client.submit(
            NewJob(target="aer_simulator", circuits=[flip(w) for w in widths], shots=20)
        )
        ended = brief.ended
        assert ended is not None
        assert ended.statuses == [CircuitStatus.COMPLETED] * len(widths)
        results = brief.result(timeout=60)
        expected = ["".join("1" if q % 2 else "0" for q in reversed(range(w))) for w in widths]
        assert [r[0].counts() for r in results.readouts] == [{key: 20} for key in expected]  # type: ignore[index]
        mixed = client.submit(
            NewJob(target="aer_simulator", circuits=[flip(2), flip(14)], shots=20)
        )
        assert mixed.ended is None  # queued for the worker, as one job
        counts = [r[0].counts() for r in mixed.result(timeout=60).readouts]  # type: ignore[index]
        assert counts == [{"10": 20}, {"10" * 7: 20}]


def test_a_seeded_list_is_one_engine_run_and_reads_as_its_circuits_one_by_one(
    stack: Any,
) -> None:
    """The brief circuits of one job are simulated in one Aer run; circuit ``i`` of a job
    seeded ``s`` reads exactly as that circuit alone in a job seeded ``s + i``."""
    from qrelay.payload import Circuit, CircuitStatus
    from qrelay_qiskit.driver import shared_engine

    def rotated(i: int) -> Circuit:
        return Circuit.model_validate(
            {
                "num_qubits": 2,
                "registers": [{"name": "m", "size": 2}],
                "instructions": [
                    {"op": "ry", "qubits": [0], "params": [0.2 + 0.1 * i]},
                    {"op": "cx", "qubits": [0, 1]},
                    {"op": "rx", "qubits": [1], "params": [0.4]},
                    {"op": "measure", "qubits": [0], "clbits": [0]},
                    {"op": "measure", "qubits": [1], "clbits": [1]},
                ],
            }
        )

    assert stack.wait_ready(60)
    circuits = [rotated(i) for i in range(30)]
    with Client() as client:
        client.submit(NewJob(target="aer_simulator", circuits=[flip(2)], shots=5)).result(
            timeout=60
        )  # the worker and its engine are up
        engine = shared_engine()
        before = engine.aer_runs
        job = client.submit(
            NewJob(target="aer_simulator", circuits=circuits, shots=300, options={"seed": 7})
        )
        assert job.ended is not None
        assert job.ended.statuses == [CircuitStatus.COMPLETED] * len(circuits)
        assert engine.aer_runs == before + 1
        together = job.result(timeout=60).readouts
        alone = [
            client.submit(
                NewJob(target="aer_simulator", circuits=[c], shots=300, options={"seed": 7 + i})
            )
            .result(timeout=60)
            .readouts[0]
            for i, c in enumerate(circuits)
        ]
    assert together == alone
    assert len({str(r[0].counts()) for r in together}) > 1  # type: ignore[index]


def test_errors_in_process_are_the_errors_over_http(stack: Any) -> None:
    """The in-process channel raises what a client over HTTP would: same class, code and
    message naming the field; a refused job changes nothing."""
    import pytest

    from qrelay.errors import NotFoundError, ValidationError

    with Client() as client:
        with pytest.raises(NotFoundError) as missing:
            client.job("no-such-job")
        assert missing.value.code == "not_found"
        assert "no-such-job" in str(missing.value)
        before = len(client.jobs(limit=100))
        too_wide = NewJob(target="aer_simulator", circuits=[flip(3)], shots=64)
        too_wide.circuits[0].instructions.append({"op": "x", "qubits": [7]})
        with pytest.raises(ValidationError, match="qubit") as bad:
            client.submit(too_wide)
        assert getattr(bad.value, "code", None) == "validation_error"
        assert len(client.jobs(limit=100)) == before


def test_a_database_from_a_newer_qrelay_is_refused_by_name_not_waited_on(tmp_path: Any) -> None:
    """The embedded default cannot start on a schema it does not know: the first call
    raises, naming the revision, instead of waiting for a service that will never answer."""
    import sqlite3

    env = {k: v for k, v in os.environ.items() if k not in ("QRELAY_URL", "QRELAY_TOKEN")}
    env["QRELAY_HOME"] = str(tmp_path / "home")
    code = "from qrelay.runtime import Client\nprint(len(Client().targets()))"

    def python() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    first = python()
    assert first.returncode == 0, first.stderr[-3000:]
    with sqlite3.connect(tmp_path / "home" / "qrelay.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0999'")
    second = python()
    assert second.returncode != 0
    assert "schema revision '0999', which this qrelay does not know" in second.stderr
    assert "the service did not start" in second.stderr
