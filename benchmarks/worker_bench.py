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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

QUBITS = 10
SHOTS = 1000
SWEEP_PARAMETERS = 40
SWEEP_SETS = 1000
SWEEP_SHOTS = 100


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


_PATHS = {
    "child process, as the worker runs it": True,
    "in process": False,
}


def execute_works() -> dict[str, Callable[[], Callable[[], Any]]]:
    """The execute-path row's paths by label (:func:`benchmarks.apart.time_setup`)."""
    circuit = _layered_circuit(QUBITS)

    def path(isolated: bool) -> Callable[[], Callable[[], None]]:
        def setup() -> Callable[[], None]:
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

            info = TargetInfo(name="aer_simulator", driver="aer", simulator=True, num_qubits=30)
            driver = registry.load(registry.DRIVERS, "aer")(info)
            process = DriverProcess() if isolated else None
            body = _task_json(circuit, SHOTS)

            def run() -> None:
                task = validate_json(WorkerTask, body)  # a new circuit object, as per lease
                ctx = TaskContext(task=task)
                if process is not None:
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

        return setup

    def aer() -> Callable[[], Any]:
        from benchmarks.peers.local import make_aer_simulator
        from qrelay_qiskit.convert import to_qiskit

        qc = to_qiskit(circuit)
        simulator = make_aer_simulator()
        return lambda: simulator.run(qc, shots=SHOTS).result().get_counts()

    return {label: path(isolated) for label, isolated in _PATHS.items()} | {"Aer run": aer}


def _execute_path(quick: bool) -> list[dict[str, Any]]:
    from benchmarks import apart

    got = apart.compare(
        "benchmarks.worker_bench:execute_works",
        list(_PATHS),
        ["Aer run"],
        repeat=5 if quick else 20,
        rounds=1 if quick else 2,
    )
    if got.reasons:
        raise RuntimeError(f"worker execute path: {got.reasons}")
    reference = statistics.median(got.times_ms["Aer run"])
    return [
        _row(
            f"simulate task, worker execute path, {label} ({QUBITS}q, {SHOTS} shots)",
            statistics.median(got.times_ms[label]),
            reference,
            "<= 1.2x",
            "task JSON -> driver -> result JSON, vs AerSimulator.run + get_counts; each side "
            f"apart, Aer as {got.setups['Aer run']}",
        )
        for label in _PATHS
    ]


def sweep_works(sets: int) -> dict[str, Callable[[], Callable[[], Any]]]:
    """The engine sweep row's paths by label (:func:`benchmarks.apart.time_setup`)."""
    from qrelay.payload import Bindings

    circuit = _layered_circuit(QUBITS, SWEEP_PARAMETERS)
    values = np.random.default_rng(3).uniform(0, 2 * np.pi, (sets, SWEEP_PARAMETERS))
    table = Bindings(names=list(circuit.parameters), values=values.tolist())

    def engine() -> Callable[[], Any]:
        from qrelay_qiskit.engine import AerEngine

        aer = AerEngine()
        return lambda: aer.run(circuit, shots=SWEEP_SHOTS, bindings=table)

    def binds() -> Callable[[], Any]:
        from benchmarks.peers.local import make_aer_simulator
        from qrelay_qiskit.convert import to_qiskit

        qc = to_qiskit(circuit)
        columns = {name: j for j, name in enumerate(table.names)}
        binds = [{p: values[:, columns[p.name]].tolist() for p in qc.parameters}]
        simulator = make_aer_simulator()

        def reference() -> None:
            result = simulator.run(qc, shots=SWEEP_SHOTS, parameter_binds=binds).result()
            for i in range(sets):
                result.get_counts(i)

        return reference

    return {"AerEngine.run": engine, "Aer parameter_binds": binds}


def _sweep(quick: bool) -> dict[str, Any]:
    from benchmarks import apart

    sets = 200 if quick else SWEEP_SETS
    got = apart.compare(
        "benchmarks.worker_bench:sweep_works",
        ["AerEngine.run"],
        ["Aer parameter_binds"],
        repeat=2 if quick else 5,
        rounds=1 if quick else 2,
        sets=sets,
    )
    if got.reasons:
        raise RuntimeError(f"engine sweep: {got.reasons}")
    return _row(
        f"aer engine, {sets}-set sweep ({QUBITS}q, {SWEEP_PARAMETERS} params, {SWEEP_SHOTS} shots)",
        statistics.median(got.times_ms["AerEngine.run"]),
        statistics.median(got.times_ms["Aer parameter_binds"]),
        "<= 1.3x",
        "AerEngine.run with a bindings table vs Aer parameter_binds + get_counts; each side "
        f"apart, Aer as {got.setups['Aer parameter_binds']}",
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
