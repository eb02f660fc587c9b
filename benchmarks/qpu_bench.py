"""QPU controller benchmarks, each against its reference measured in the same run.

- ``grpc round trip``: submit + retrieve of a tiny program through ``qrelay.qpu.api`` on
  a loopback controller, against a bare gRPC echo (one unary call, bytes in, bytes out).
- ``parameter batch``: 1,000 patch-value sets (10 qubits, 40 parameters, 100 shots each)
  on one executable through the controller, against Aer's ``parameter_binds`` on the same
  circuit (target: at most 1.3x). Both sides simulate the gates ideally (the controller
  with ``gate_noise=False``; its IQ readout stays): calibrated noise makes Aer simulate
  trajectories, which costs ~100x more and would hide the controller's own cost.

``run(quick)`` returns rows ``{"case", "ours", "reference", "unit", "ratio"}`` (ratio =
ours / reference; lower is better). Run it directly to print them::

    python benchmarks/qpu_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# A snake through the first ten qubits of the 4x4 square lattice: neighbours are coupled.
SNAKE = [0, 1, 2, 3, 7, 6, 5, 4, 8, 9]
LAYERS = 4


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _row(
    case: str, ours: float, reference: float, unit: str = "ms", **extra: str
) -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 3),
        "reference": round(reference, 3),
        "unit": unit,
        "ratio": round(ours / reference, 3) if reference else float("nan"),
        **extra,
    }


def _echo_server() -> tuple[Any, str]:
    import grpc

    def echo(request: bytes, _context: Any) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo, request_deserializer=None, response_serializer=None
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def _tiny_circuit() -> Any:
    from qrelay.payload import Circuit

    return Circuit.model_validate(
        {
            "num_qubits": 1,
            "registers": [{"name": "c", "size": 1}],
            "instructions": [
                {"op": "rx", "qubits": [0], "params": [3.14159]},
                {"op": "measure", "qubits": [0], "clbits": [0]},
            ],
        }
    )


def _batch_circuit() -> Any:
    """RX layers with CZ along the snake: 10 qubits, 40 parameters, measure all."""
    from qrelay.payload import Circuit

    instructions: list[dict[str, Any]] = []
    params = []
    for layer in range(LAYERS):
        for i, q in enumerate(SNAKE):
            name = f"theta[{layer * len(SNAKE) + i}]"
            params.append(name)
            instructions.append({"op": "rx", "qubits": [q], "params": [name]})
        start = layer % 2
        instructions += [
            {"op": "cz", "qubits": [SNAKE[i], SNAKE[i + 1]]}
            for i in range(start, len(SNAKE) - 1, 2)
        ]
    instructions += [{"op": "measure", "qubits": [q], "clbits": [i]} for i, q in enumerate(SNAKE)]
    return Circuit.model_validate(
        {
            "num_qubits": 16,
            "registers": [{"name": "c", "size": len(SNAKE)}],
            "parameters": params,
            "instructions": instructions,
        }
    )


def bench_round_trip(quick: bool) -> dict[str, Any]:
    import grpc

    from qrelay.qpu import api
    from qrelay.qpu.server import start_server
    from qrelay.qpu.translation import translate

    repeat = 30 if quick else 200
    handle = start_server(devices=["square_qpu"], seed=1)
    echo_server, echo_address = _echo_server()
    try:
        program = translate(_tiny_circuit(), 10, "square_qpu")
        client = api.QpuClient(gateway=handle.address)

        def ours() -> None:
            job_id = api.submit(program, {}, client=client)
            api.retrieve_results(job_id, client=client)

        channel = grpc.insecure_channel(echo_address)
        call = channel.unary_unary("/bench.Echo/Echo")
        payload = b"x" * 64

        def reference() -> None:
            call(payload, timeout=5)

        ours()
        reference()  # warm both paths
        ours_ms = 1e3 * statistics.median(_times(ours, repeat))
        ref_ms = 1e3 * statistics.median(_times(reference, repeat))
        channel.close()
        client.close()
    finally:
        echo_server.stop(0)
        handle.stop()
    return _row(
        "qpu: gRPC execute -> result, tiny program (vs bare gRPC echo)",
        ours_ms,
        ref_ms,
        notes="two RPCs (Execute, AwaitResults) and one noisy simulation vs one echo RPC",
    )


def batch_works(sets: int, shots: int) -> dict[str, Callable[[], Callable[[], Any]]]:
    """The parameter batch row's paths by label (:func:`benchmarks.apart.time_setup`)."""
    circuit = _batch_circuit()
    values = np.random.default_rng(7).uniform(0, np.pi, (sets, len(circuit.parameters)))

    def controller() -> Callable[[], Any]:
        import atexit

        from qrelay.qpu import api
        from qrelay.qpu.server import start_server
        from qrelay.qpu.translation import translate

        handle = start_server(devices=["square_qpu"], seed=1, gate_noise=False)
        atexit.register(handle.stop)
        client = api.QpuClient(gateway=handle.address)
        program = translate(circuit, shots, "square_qpu")
        patch = [{"theta": row.tolist()} for row in values]

        def ours() -> None:
            ids = api.submit_with_parameter_batch(program, patch, client=client)
            results = api.retrieve_results_batch(
                ids, client=client, execution_options=api.ExecutionOptions(timeout=600)
            )
            assert len(results) == sets

        return ours

    def binds() -> Callable[[], Any]:
        # Aer's parameter_binds on the same (reduced) circuit, with the engine's options
        from qiskit_aer import AerSimulator

        from benchmarks.peers.local import AER_OPTIONS
        from qrelay.qpu.emulator import DEFAULT_ENGINE_OPTIONS
        from qrelay.qpu.fleet import fleet_device
        from qrelay.qpu.native import reduce_to_touched
        from qrelay_qiskit.convert import to_qiskit

        reduced = reduce_to_touched(circuit, fleet_device("square_qpu"))
        qc = to_qiskit(reduced.circuit)
        by_name = {p.name: p for p in qc.parameters}
        table = [{by_name[n]: values[:, j].tolist() for j, n in enumerate(circuit.parameters)}]
        simulator = AerSimulator(**(dict(DEFAULT_ENGINE_OPTIONS) | AER_OPTIONS))
        return lambda: simulator.run(
            qc, shots=shots, parameter_binds=table, seed_simulator=3
        ).result()

    return {"controller": controller, "Aer parameter_binds": binds}


def bench_parameter_batch(quick: bool) -> dict[str, Any]:
    from benchmarks import apart

    sets, shots = (200 if quick else 1000), 100
    got = apart.compare(
        "benchmarks.qpu_bench:batch_works",
        ["controller"],
        ["Aer parameter_binds"],
        repeat=2 if quick else 3,
        rounds=1 if quick else 2,
        sets=sets,
        shots=shots,
    )
    if any(reason.startswith("not installed") for reason in got.reasons.values()):
        raise ImportError(f"parameter batch: {got.reasons}")
    if got.reasons:
        raise RuntimeError(f"parameter batch: {got.reasons}")
    return _row(
        f"qpu: {sets}-set parameter batch, 10q x 40 params x {shots} shots (vs Aer parameter_binds)",
        min(got.times_ms["controller"]) / 1e3,
        min(got.times_ms["Aer parameter_binds"]) / 1e3,
        unit="s",
        target="<= 1.3x",
        notes="gate noise off on both sides; ours includes gRPC, the engine process and IQ; "
        f"best times, each side apart, Aer as {got.setups['Aer parameter_binds']}",
    )


def run(quick: bool) -> list[dict[str, Any]]:
    """Every QPU benchmark row; rows whose plugin is missing are left out (logged)."""
    from qrelay.errors import ConfigurationError

    rows = []
    for bench in (bench_round_trip, bench_parameter_batch):
        try:
            rows.append(bench(quick))
        except (ConfigurationError, ImportError) as exc:
            log.warning("skipped %s: %s", bench.__name__, exc)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    for row in run(args.quick):
        print(json.dumps(row))
