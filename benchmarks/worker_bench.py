"""Worker benchmarks: a ``simulate`` task through the worker against Aer run directly.

- ``simulate task, worker execute path``: what a worker does with one leased task, from
  the task's JSON (as the lease answer carries it) to the result's JSON (as it is
  posted): parse, no-op compile for a simulator target, the ``aer`` driver (conversion,
  one Aer run, readout packing) and the result model. Reference: ``AerSimulator().run``
  on the same circuit already built in Qiskit, with ``get_counts``. Target: at most 1.2x.
- ``aer engine, 1,000-set sweep``: the engine's sweep path (10 qubits, 40 parameters,
  100 shots per set) against Aer's own ``parameter_binds`` with counts per set. Target:
  at most 1.3x.
- ``simulate job, lease to result``: when the service is installed, a job submitted to
  the real app (on loopback, SQLite) and run by a worker, submit to readout, against the
  same Aer run directly (informational: it includes the HTTP and database round trips).

``run(quick)`` returns rows ``{"case", "ours", "reference", "unit", "ratio"}``. Run it
directly to print them::

    python benchmarks/worker_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

QUBITS = 10
SHOTS = 1000
SWEEP_PARAMETERS = 40
SWEEP_SETS = 1000
SWEEP_SHOTS = 100


def _paired_ms(
    ours: Callable[[], Any], reference: Callable[[], Any], repeat: int
) -> tuple[float, float]:
    """Median milliseconds of each, measured alternately so load drift hits both alike."""
    ours()
    reference()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, into in ((ours, times[0]), (reference, times[1])):
            start = time.perf_counter()
            fn()
            into.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[0]), 1e3 * statistics.median(times[1])


def _row(case: str, ours: float, reference: float, target: str, notes: str = "") -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 3),
        "reference": round(reference, 3),
        "unit": "ms",
        "ratio": round(ours / reference, 3) if reference else float("nan"),
        "target": target,
        "notes": notes,
    }


def _layered_circuit(qubits: int, parameters: int | None = None) -> Any:
    """Rotation layers and CX ladders, measured: ``ry`` angles fixed or symbolic."""
    from qrelay.payload import Circuit

    rng = np.random.default_rng(7)
    count = parameters if parameters is not None else 4 * qubits
    names = [f"p[{i}]" for i in range(count)] if parameters is not None else []
    instructions: list[Any] = []
    for i in range(count):
        angle: Any = names[i] if names else float(rng.uniform(0, 2 * np.pi))
        instructions.append({"op": "ry", "qubits": [i % qubits], "params": [angle]})
        if i % qubits == qubits - 1:
            instructions += [{"op": "cx", "qubits": [j, j + 1]} for j in range(qubits - 1)]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [q]} for q in range(qubits)]
    return Circuit(
        num_qubits=qubits,
        registers=[{"name": "c", "size": qubits}],
        parameters=names,
        instructions=instructions,
    )


def _task_json(circuit: Any, shots: int) -> bytes:
    from qrelay.payload import WorkerTask

    task = WorkerTask(
        task_id="bench-task",
        job_id="bench-job",
        circuit_index=0,
        target="aer_simulator",
        job_type="simulate",
        shots=shots,
        circuit=circuit,
        lease_id="bench-lease",
        lease_expires_at=datetime.now(UTC) + timedelta(minutes=5),
        attempt=1,
    )
    return task.model_dump_json().encode()


def _execute_path(quick: bool) -> list[dict[str, Any]]:
    from qiskit_aer import AerSimulator

    from qrelay import registry
    from qrelay.payload import (
        CircuitStatus,
        TargetInfo,
        WorkerTask,
        WorkerTaskResults,
        validate_json,
    )
    from qrelay.plugins import TaskContext
    from qrelay.worker.isolation import DriverProcess
    from qrelay_qiskit.convert import to_qiskit

    info = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=30)
    driver = registry.load(registry.DRIVERS, "aer")(info)
    process = DriverProcess()
    circuit = _layered_circuit(QUBITS)
    body = _task_json(circuit, SHOTS)

    def path(isolated: bool) -> Callable[[], None]:
        def run() -> None:
            task = validate_json(WorkerTask, body)  # a new circuit object, as per lease
            ctx = TaskContext(task=task)
            if isolated:
                readouts = process.execute(info, task, task.circuit, ctx, config={})
            else:
                readouts = driver.execute(task, task.circuit, ctx)
            WorkerTaskResults(
                lease_id=task.lease_id,
                status=CircuitStatus.COMPLETED,
                successful_shots=task.shots,
                readouts=readouts,
                initial_logical_to_physical={q: q for q in range(QUBITS)},
                final_logical_to_physical={q: q for q in range(QUBITS)},
            ).model_dump_json()

        return run

    qc = to_qiskit(circuit)
    simulator = AerSimulator()

    def reference() -> None:
        simulator.run(qc, shots=SHOTS).result().get_counts()

    repeat = 5 if quick else 40
    rows = []
    try:
        for isolated, label in (
            (True, "child process, as the worker runs it"),
            (False, "in process"),
        ):
            ours_ms, reference_ms = _paired_ms(path(isolated), reference, repeat)
            rows.append(
                _row(
                    f"simulate task, worker execute path, {label} ({QUBITS}q, {SHOTS} shots)",
                    ours_ms,
                    reference_ms,
                    "<= 1.2x",
                    "task JSON -> driver -> result JSON, vs AerSimulator.run + get_counts",
                )
            )
    finally:
        process.close()
    return rows


def _sweep(quick: bool) -> dict[str, Any]:
    from qiskit_aer import AerSimulator

    from qrelay.payload import Bindings
    from qrelay_qiskit.convert import to_qiskit
    from qrelay_qiskit.engine import AerEngine

    sets = 200 if quick else SWEEP_SETS
    circuit = _layered_circuit(QUBITS, SWEEP_PARAMETERS)
    values = np.random.default_rng(3).uniform(0, 2 * np.pi, (sets, SWEEP_PARAMETERS))
    table = Bindings(names=list(circuit.parameters), values=values.tolist())
    engine = AerEngine()

    def ours() -> None:
        engine.run(circuit, shots=SWEEP_SHOTS, bindings=table)

    qc = to_qiskit(circuit)
    columns = {name: j for j, name in enumerate(table.names)}
    binds = [{p: values[:, columns[p.name]].tolist() for p in qc.parameters}]
    simulator = AerSimulator()

    def reference() -> None:
        result = simulator.run(qc, shots=SWEEP_SHOTS, parameter_binds=binds).result()
        for i in range(sets):
            result.get_counts(i)

    ours_ms, reference_ms = _paired_ms(ours, reference, 2 if quick else 5)
    return _row(
        f"aer engine, {sets}-set sweep ({QUBITS}q, {SWEEP_PARAMETERS} params, {SWEEP_SHOTS} shots)",
        ours_ms,
        reference_ms,
        "<= 1.3x",
        "AerEngine.run with a bindings table vs Aer parameter_binds + get_counts",
    )


def run(quick: bool) -> list[dict[str, Any]]:
    """The worker benchmark rows (see the module docstring)."""
    rows = [*_execute_path(quick), _sweep(quick)]
    try:
        from benchmarks._worker_service import lease_to_result
    except ImportError:
        return rows
    rows.append(lease_to_result(quick, _layered_circuit(QUBITS), SHOTS, _row))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
