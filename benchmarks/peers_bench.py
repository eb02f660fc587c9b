"""qrelay side by side with the peers a user would pick instead, on the same circuits.

Peers (``benchmarks/requirements-peers.txt``, not dependencies of qrelay): Aer and the
Cirq simulators called directly, qsimcirq, qiskit-ibm-runtime's local testing mode,
qiskit-braket-provider's local backend, and a bare HTTP / gRPC echo as transport floors.
A peer that does not import gives a row saying "not installed"; the run goes on.

Cases (median over repeats, p90 in the row; ``ratio`` = ours / peer, lower is better):

1. Bell, 1,000 shots, submit -> counts one at a time: embedded default and
   ``qrelay serve`` on loopback (subprocesses) against each peer's local path;
2. 100 small jobs at once: one ``backend.run`` of 100 circuits, 100 jobs through the
   ``AsyncClient`` gathered, Cirq ``run_batch``, against the same 100 on each peer;
3. a 1,000-point sweep (10 qubits, 40 parameters, 100 shots): ``QRelaySamplerV2`` and
   ``QRelaySampler.run_sweep`` against Aer ``parameter_binds``, Aer ``SamplerV2``, a
   job-per-point loop, ``cirq.Simulator().run_sweep`` and qsimcirq;
4. a 20-qubit random circuit of depth 20 at 10,000 shots as a ``simulate`` job, against
   Aer and qsimcirq directly;
5. a 1,000,000-shot x 20-bit readout to Qiskit counts / a Cirq result, against Qiskit's
   ``Counter(memory)`` and the numpy floor; bytes on the wire against JSON bitstrings;
6. import times in fresh subprocesses;
7. service throughput (jobs/s submitted and completed) on SQLite and PostgreSQL with one
   and two ``qrelay serve`` processes.

``--quick`` shrinks sizes and repeats. Run directly: ``python -m benchmarks.peers_bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from benchmarks import apart
from benchmarks.peers import circuits, local
from benchmarks.peers.timing import Timing, interleaved, measure, missing_row, row

log = logging.getLogger("benchmarks.peers")

BELL_SHOTS = 1000
SMALL_JOBS = 100
SMALL_SHOTS = 100
SWEEP_SHOTS = 100
PEER = "\0peer"  # the peer's key among the timed paths
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _not_installed(exc: BaseException) -> str:
    return f"not installed ({type(exc).__name__}: {exc})"


def _peer_rows(
    case: str,
    works: str,
    ours: Sequence[str],
    peers: Sequence[str],
    *,
    repeat: int,
    rounds: int = 2,
    warm: int = 1,
    only: dict[str, set[str]] | None = None,
    path: Sequence[str] = (),
    **options: Any,
) -> tuple[list[dict[str, Any]], dict[str, Timing]]:
    """Ours and every peer, each path in processes of its own, alternating, ``rounds``
    times (:func:`benchmarks.apart.compare`); one row per (ours, peer) pair, and the
    timings of ours by label.

    ``works`` names the function (``module:function``, called with ``options``) that
    gives every path of the case by label. An Aer peer runs with Aer's default threads
    and with one thread; the faster setup is its reference. ``only`` limits which peers a
    path of ours is compared with.
    """
    got = apart.compare(
        works, ours, peers, repeat=repeat, rounds=rounds, warm=warm, path=path, **options
    )
    timings = {label: Timing(times) for label, times in got.times_ms.items()}
    rows: list[dict[str, Any]] = []
    for peer in peers:
        for label in ours:
            if only is not None and label in only and peer not in only[label]:
                continue
            name = f"{case} [{label}]"
            if label in got.reasons:
                rows.append(missing_row(name, peer, got.reasons[label]))
            elif peer in got.reasons:
                rows.append(missing_row(name, peer, got.reasons[peer], timings[label]))
            else:
                notes = f"faster setup: {got.setups[peer]}" if got.setups[peer] else ""
                rows.append(row(name, timings[label], timings[peer], peer=peer, notes=notes))
    return rows, timings


@contextlib.contextmanager
def _service(**kwargs: Any) -> Iterator[Any]:
    from benchmarks.peers.service import serve

    with serve(**kwargs) as service:
        yield service


def _endpoint(service: Any) -> dict[str, Any]:
    """The serve path's URL and token, for the sides' options (none without a service)."""
    if service is None:
        return {"url": None, "token": None}
    return {"url": service.urls[0], "token": service.user_token}


# ------------------------------------------------------------------ 1. Bell, one at a time
def bell_works(
    quick: bool, url: str | None, token: str | None, cirq: bool = False
) -> dict[str, Callable[[], local.Work]]:
    """Every path of case 1 by label: ours (embedded, ``qrelay serve``) and the peers."""
    if cirq:
        cc = circuits.cirq_bell()

        def cirq_ours(remote: bool) -> Callable[[], local.Work]:
            def setup() -> local.Work:
                from qrelay_cirq import QRelayService

                service = QRelayService(url, token) if remote else QRelayService()
                sampler = service.sampler("cirq_simulator")
                return lambda: sampler.run(cc, repetitions=BELL_SHOTS).histogram(key="c")

            return setup

        return {
            "embedded": cirq_ours(False),
            "qrelay serve": cirq_ours(True),
        } | local.cirq_circuit_peers(cc, BELL_SHOTS, "c")
    qc = circuits.qiskit_bell()

    def ours(remote: bool) -> Callable[[], local.Work]:
        def setup() -> local.Work:
            from qrelay_qiskit import QRelayProvider

            provider = QRelayProvider(url, token) if remote else QRelayProvider()
            backend = provider.get_backend("aer_simulator")
            return lambda: backend.run(qc, shots=BELL_SHOTS).result().get_counts()

        return setup

    return {"embedded": ours(False), "qrelay serve": ours(True)} | local.qiskit_circuit_peers(
        qc, BELL_SHOTS
    )


def bell_case(quick: bool, service: Any) -> list[dict[str, Any]]:
    repeat, rounds = (10, 1) if quick else (30, 2)
    labels = ["embedded"] + (["qrelay serve"] if service is not None else [])
    case = "1 bell 1000 shots submit->counts"
    works = "benchmarks.peers_bench:bell_works"
    qiskit_peers = list(local.qiskit_circuit_peers(None, BELL_SHOTS))
    cirq_peers = list(local.cirq_circuit_peers(None, BELL_SHOTS, "c"))
    options = {"quick": quick, **_endpoint(service)}
    rows, timings = _peer_rows(
        case, works, labels, qiskit_peers, repeat=repeat, rounds=rounds, warm=3, **options
    )
    rows += _peer_rows(
        case + " (cirq)",
        works,
        labels,
        cirq_peers,
        repeat=repeat,
        rounds=rounds,
        warm=3,
        cirq=True,
        **options,
    )[0]
    if service is not None and "qrelay serve" in timings:
        rows += floor_rows(quick, service, timings["qrelay serve"])
    return rows


def floor_rows(quick: bool, service: Any, bell_serve: Timing) -> list[dict[str, Any]]:
    """The serve path against one bare loopback round trip (HTTP and gRPC).

    No simulator here: the floors are timed in this process, the serve path's Bell job
    in a process of its own (case 1).
    """
    import httpx

    from benchmarks.peers.floors import grpc_echo, http_echo

    repeat = 50 if quick else 300
    body = json.dumps({"target": "aer_simulator", "shots": 1000}).encode()
    rows: list[dict[str, Any]] = []
    with http_echo() as echo_url, httpx.Client(base_url=echo_url) as echo:
        http_floor = measure(lambda: echo.post("/", content=body), repeat, warm=5)
    with httpx.Client(base_url=service.urls[0]) as qrelay_http:
        healthz = measure(lambda: qrelay_http.get("/healthz"), repeat, warm=5)
    try:
        import grpc

        with grpc_echo() as address:
            channel = grpc.insecure_channel(address)
            call = channel.unary_unary("/bench.Echo/Echo")
            grpc_floor: Timing | None = measure(lambda: call(body, timeout=5), repeat, warm=5)
            channel.close()
    except ImportError:
        grpc_floor = None
    rows.append(
        row(
            "floor: qrelay serve GET /healthz (httpx)",
            healthz,
            http_floor,
            peer="bare HTTP echo (httpx)",
        )
    )
    rows.append(
        row(
            "floor: bell 1000 shots submit->counts [qrelay serve]",
            bell_serve,
            http_floor,
            peer="bare HTTP echo, 1 round trip",
            notes="how many bare round trips the whole submit->counts costs",
        )
    )
    if grpc_floor is not None:
        rows.append(
            row(
                "floor: bell 1000 shots submit->counts [qrelay serve]",
                bell_serve,
                grpc_floor,
                peer="bare gRPC echo, 1 round trip",
            )
        )
        rows.append(
            row("floor: bare HTTP echo (httpx)", http_floor, grpc_floor, peer="bare gRPC echo")
        )
    return rows


# ------------------------------------------------------------------ 2. 100 small jobs
async def _gather_jobs(client: Any, jobs: list[Any]) -> list[Any]:
    from qrelay.runtime import decode

    async def one(job: Any) -> Any:
        handle = await client.submit(job)
        results = await handle.result(timeout=300)
        return decode.counts(results.readouts[0][0])

    return await asyncio.gather(*(one(job) for job in jobs))


def batch_works(
    quick: bool, url: str | None, token: str | None
) -> dict[str, Callable[[], local.Work]]:
    """Every path of case 2 by label: ours (one ``backend.run`` of the list, ``run_batch``,
    gathered ``AsyncClient`` jobs on the embedded default and on ``qrelay serve``) and
    the peers."""
    count = 20 if quick else SMALL_JOBS
    qcs = [circuits.qiskit_small(i) for i in range(count)]
    ccs = [circuits.cirq_small(i) for i in range(count)]

    def backend_run() -> local.Work:
        from qrelay_qiskit import QRelayProvider

        backend = QRelayProvider().get_backend("aer_simulator")
        return lambda: backend.run(qcs, shots=SMALL_SHOTS).result().get_counts()

    def run_batch() -> local.Work:
        from qrelay_cirq import QRelayService

        sampler = QRelayService().sampler("cirq_simulator")
        return lambda: sampler.run_batch(ccs, repetitions=SMALL_SHOTS)

    def gathered(remote: bool) -> Callable[[], local.Work]:
        def setup() -> local.Work:
            from qrelay.payload import NewJob
            from qrelay.runtime import Client
            from qrelay.runtime._loop import run_sync
            from qrelay_qiskit import from_qiskit

            jobs = [
                NewJob(target="aer_simulator", circuits=[from_qiskit(qc)], shots=SMALL_SHOTS)
                for qc in qcs
            ]
            client = Client(url, token) if remote else Client()
            return lambda: run_sync(_gather_jobs(client.async_client, jobs))

        return setup

    return (
        {
            "backend.run of the list, embedded": backend_run,
            "QRelaySampler.run_batch, embedded": run_batch,
            f"AsyncClient {count} jobs gathered, embedded": gathered(False),
            f"AsyncClient {count} jobs gathered, qrelay serve": gathered(True),
        }
        | local.qiskit_batch_peers(qcs, SMALL_SHOTS)
        | local.cirq_batch_peers(ccs, SMALL_SHOTS)
    )


def batch_case(quick: bool, service: Any) -> list[dict[str, Any]]:
    count = 20 if quick else SMALL_JOBS
    repeat, rounds = (3, 1) if quick else (5, 2)
    qiskit_peers = list(local.qiskit_batch_peers([None] * count, SMALL_SHOTS))
    cirq_peers = list(local.cirq_batch_peers([], SMALL_SHOTS))
    qiskit_ours = ["backend.run of the list, embedded"]
    cirq_ours = ["QRelaySampler.run_batch, embedded"]
    async_ours = [f"AsyncClient {count} jobs gathered, embedded"]
    if service is not None:
        async_ours.append(f"AsyncClient {count} jobs gathered, qrelay serve")
    only = {label: set(qiskit_peers) for label in qiskit_ours}
    only |= {label: set(cirq_peers) for label in cirq_ours}
    return _peer_rows(
        f"2 {count} small jobs at once",
        "benchmarks.peers_bench:batch_works",
        [*qiskit_ours, *cirq_ours, *async_ours],
        [*qiskit_peers, *cirq_peers],
        repeat=repeat,
        rounds=rounds,
        only=only,
        quick=quick,
        **_endpoint(service),
    )[0]


# ------------------------------------------------------------------ 3. the sweep
def _sweep_values(quick: bool, points: int | None = None) -> np.ndarray:
    points = points or (100 if quick else 1000)
    qc = circuits.qiskit_ansatz()
    return np.random.default_rng(1).uniform(0, np.pi, size=(points, qc.num_parameters))


def sweep_works(quick: bool, points: int | None = None) -> dict[str, Callable[[], local.Work]]:
    """Every path of case 3 by label: ``QRelaySamplerV2``, ``QRelaySampler.run_sweep``,
    and the peers (the noisy IBM fake backend among them)."""
    qc = circuits.qiskit_ansatz()
    cc, symbols = circuits.cirq_ansatz()
    values = _sweep_values(quick, points)

    def sampler_v2() -> local.Work:
        from qrelay_qiskit import QRelayProvider, QRelaySamplerV2

        sampler = QRelaySamplerV2(
            QRelayProvider().get_backend("aer_simulator"), default_shots=SWEEP_SHOTS
        )
        return lambda: sampler.run([(qc, values)]).result()[0].join_data()  # noqa: PLW0108

    def run_sweep() -> local.Work:
        from qrelay_cirq import QRelayService

        sampler = QRelayService().sampler("cirq_simulator")
        sweep = local._cirq_sweep(symbols, values)
        return lambda: sampler.run_sweep(cc, sweep, repetitions=SWEEP_SHOTS)

    peer = f"qiskit-ibm-runtime local ({local.IBM_LARGE}, noisy)"
    return {
        "QRelaySamplerV2": sampler_v2,
        "QRelaySampler.run_sweep": run_sweep,
        peer: lambda: local.ibm_sweep(qc, values, SWEEP_SHOTS),
    } | local.sweep_peers(qc, cc, symbols, values, SWEEP_SHOTS)


def sweep_case(quick: bool) -> list[dict[str, Any]]:
    points = 100 if quick else 1000
    repeat = 1 if quick else 2
    peers = list(local.sweep_peers(None, None, [], np.zeros((0, 0)), SWEEP_SHOTS))
    case = f"3 sweep {points} points 10q 40p {SWEEP_SHOTS} shots"
    works = "benchmarks.peers_bench:sweep_works"
    rows, _ = _peer_rows(
        case,
        works,
        ["QRelaySamplerV2", "QRelaySampler.run_sweep"],
        peers,
        repeat=repeat,
        rounds=1 if quick else 2,
        quick=quick,
    )
    # The noisy fake backend simulates each point with its noise model (about 1.5 s a
    # point here), so it runs a few points, against QRelaySamplerV2 at the same few.
    few = 3 if quick else 5
    rows += _peer_rows(
        f"3 sweep {few} points 10q 40p {SWEEP_SHOTS} shots",
        works,
        ["QRelaySamplerV2"],
        [f"qiskit-ibm-runtime local ({local.IBM_LARGE}, noisy)"],
        repeat=1,
        rounds=1,
        quick=quick,
        points=few,
    )[0]
    rows.append(
        missing_row(
            f"{case} [QRelaySamplerV2]",
            "qiskit-braket-provider BraketLocalBackend",
            "not measured: BraketLocalBackend.run takes no parameter_binds "
            "(NameError: Missing input variable 'theta_0'); its sweep is one task per point",
        )
    )
    return rows


# ------------------------------------------------------------------ 4. 20-qubit random
RANDOM_QUBITS, RANDOM_DEPTH, RANDOM_SHOTS = 20, 20, 10_000


def random_works() -> dict[str, Callable[[], local.Work]]:
    """Every path of case 4 by label: a ``simulate`` job on two targets, and the peers."""
    qc = circuits.qiskit_random(RANDOM_QUBITS, RANDOM_DEPTH)
    shots = RANDOM_SHOTS

    def ours(target: str) -> Callable[[], local.Work]:
        def setup() -> local.Work:
            from qrelay.payload import NewJob
            from qrelay.runtime import Client, decode
            from qrelay_qiskit import from_qiskit

            job = NewJob(
                job_type="simulate", target=target, circuits=[from_qiskit(qc)], shots=shots
            )
            client = Client()
            return lambda: decode.counts(client.submit(job).result(timeout=600).readouts[0][0])

        return setup

    def cirq_circuit() -> tuple[Any, str]:
        from qrelay_cirq import to_cirq
        from qrelay_qiskit import from_qiskit

        cc = to_cirq(from_qiskit(qc))
        return cc, next(iter(str(k) for k in cc.all_measurement_key_names()))

    def qsim() -> local.Work:
        import qsimcirq

        cc, key = cirq_circuit()
        sim = qsimcirq.QSimSimulator()
        return lambda: sim.run(cc, repetitions=shots).histogram(key=key)

    def aer_raw() -> local.Work:
        sim = local.make_aer_simulator()
        return lambda: sim.run(qc, shots=shots).result().get_counts()

    return {
        "embedded, aer_simulator": ours("aer_simulator"),
        "embedded, cirq_simulator": ours("cirq_simulator"),
        "Aer run (transpiled, optimization level 2)": local.qiskit_circuit_peers(qc, shots)[
            "Aer run"
        ],
        "Aer run (the circuit as given)": aer_raw,
        "qsimcirq": qsim,
    }


def random_case(quick: bool) -> list[dict[str, Any]]:
    ours = ["embedded, aer_simulator", "embedded, cirq_simulator"]
    return _peer_rows(
        f"4 random {RANDOM_QUBITS}q depth {RANDOM_DEPTH} {RANDOM_SHOTS} shots simulate job",
        "benchmarks.peers_bench:random_works",
        ours,
        [label for label in random_works() if label not in ours],
        repeat=2 if quick else 3,
        rounds=1 if quick else 2,
    )[0]


# ------------------------------------------------------------------ 5. big readout
def readout_case(quick: bool) -> list[dict[str, Any]]:
    from collections import Counter

    from qrelay.payload import Readout
    from qrelay_qiskit import from_qiskit
    from qrelay_qiskit.result import build_result, experiment_results

    shots, width = (200_000 if quick else 1_000_000), 20
    repeat = 3 if quick else 5
    rng = np.random.default_rng(5)
    bits = (rng.random((shots, width)) < 0.5).astype(np.uint8)
    qc = circuits.qiskit_random(width, 1)
    payload = from_qiskit(qc)
    name = payload.registers[0].name
    readout = Readout.from_arrays({name: bits})

    def ours_qiskit() -> Any:
        exps = experiment_results(payload, [readout])
        return build_result(exps, backend_name="aer_simulator", job_id="bench").get_counts()

    weights = 1 << np.arange(width - 1, -1, -1, dtype=np.int64)
    memory = [format(v, f"0{width}b") for v in (bits[:, ::-1] @ weights).tolist()]

    def floor() -> Any:
        packed = np.packbits(bits, axis=1, bitorder="little")
        values = packed[:, 0].astype(np.int64)
        for byte in range(1, packed.shape[1]):
            values |= packed[:, byte].astype(np.int64) << (8 * byte)
        return np.bincount(values)

    case = f"5 readout {shots:,} shots x {width} bits"
    timings = interleaved(
        {"ours": ours_qiskit, "counter": lambda: Counter(memory), "floor": floor}, repeat
    )
    label = f"{case} [qrelay -> qiskit Result.get_counts()]"
    rows = [
        row(label, timings["ours"], timings["counter"], peer="Qiskit Counter(memory)"),
        row(label, timings["ours"], timings["floor"], peer="numpy packbits+bincount"),
    ]
    try:
        import cirq

        from qrelay_cirq import from_cirq
        from qrelay_cirq.result import result_dicts

        q = cirq.LineQubit.range(width)
        cpayload = from_cirq(cirq.Circuit(cirq.measure(*q, key="m")))
        creadout = Readout.from_arrays({cpayload.registers[0].name: bits})
        resolver = cirq.ParamResolver({})
        packed = np.packbits(bits, axis=1, bitorder="little")  # what the wire carries

        def ours_cirq() -> Any:
            return result_dicts(cpayload, [creadout], [resolver])[0].records["m"]

        def floor_cirq() -> Any:
            records = np.unpackbits(packed, axis=1, count=width, bitorder="little")
            return cirq.ResultDict(
                params=resolver, records={"m": records.view(np.int8)[:, None, :]}
            ).records["m"]

        timings = interleaved({"ours": ours_cirq, "floor": floor_cirq}, repeat)
        ours_cirq_t, direct = timings["ours"], timings["floor"]
        rows.append(
            row(
                f"{case} [qrelay -> cirq.Result]",
                ours_cirq_t,
                direct,
                peer="numpy unpackbits of the packed bits -> cirq.ResultDict",
            )
        )
    except ImportError as exc:
        rows.append(missing_row(f"{case} [qrelay -> cirq.Result]", "cirq", _not_installed(exc)))
    wire = len(readout.model_dump_json().encode())
    as_json = len(json.dumps(memory).encode())
    rows.append(
        row(
            f"{case} bytes on the wire [Readout JSON]",
            wire / 1e6,
            as_json / 1e6,
            peer="JSON list of bitstrings",
            unit="MB",
        )
    )
    return rows


# ------------------------------------------------------------------ 6. import time
_IMPORTS = {
    "import qrelay": "import qrelay",
    "qrelay.Client": "from qrelay.runtime import Client",
    "qrelay_qiskit.QRelayProvider": "from qrelay_qiskit import QRelayProvider",
    "qrelay_cirq.QRelaySampler": "from qrelay_cirq import QRelaySampler",
    "import qiskit": "import qiskit",
    "import cirq": "import cirq",
    "python -c pass": "pass",
}


def import_case(quick: bool) -> list[dict[str, Any]]:
    repeat = 3
    works = {
        label: (lambda s=stmt: subprocess.run([sys.executable, "-c", s], check=True))
        for label, stmt in _IMPORTS.items()
    }
    times = interleaved(works, repeat, budget_s=1e9)
    base = times["python -c pass"].median

    def net(label: str) -> float:
        return max(times[label].median - base, 0.1)

    notes = f"fresh subprocess each time, interpreter start-up ({base:.0f} ms) subtracted"
    pairs = [
        ("import qrelay", "import qiskit"),
        ("import qrelay", "import cirq"),
        ("qrelay.Client", "import qiskit"),
        ("qrelay_qiskit.QRelayProvider", "import qiskit"),
        ("qrelay_cirq.QRelaySampler", "import cirq"),
    ]
    return [
        row(f"6 import time [{ours}]", net(ours), net(peer), peer=peer, notes=notes)
        for ours, peer in pairs
    ]


# ------------------------------------------------------------------ 7. throughput
def _postgres_schema() -> contextlib.AbstractContextManager[str]:
    from benchmarks.peers.service import postgres_schema

    base = os.environ.get("QRELAY_TEST_POSTGRES_URL", POSTGRES_URL)
    return postgres_schema(base, "bench_peers_")


def _throughput(service: Any, count: int, threads: int = 8) -> tuple[float, float]:
    """(jobs/s submitted, jobs/s completed) of ``count`` Bell jobs, 100 shots."""
    import httpx

    from benchmarks.peers.clients import BELL_JOB

    body = BELL_JOB
    headers = {"Authorization": f"Bearer {service.user_token}", "Content-Type": "application/json"}
    clients = [
        httpx.Client(base_url=service.urls[i % len(service.urls)], headers=headers, timeout=120)
        for i in range(threads)
    ]
    ids: list[str] = []

    def submit(client: httpx.Client, n: int) -> list[str]:
        out = []
        for _ in range(n):
            r = client.post("/v1/jobs", content=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            r.raise_for_status()
            out.append(r.json()["job_id"])
        return out

    def wait(client: httpx.Client, job_ids: list[str]) -> None:
        for job_id in job_ids:
            while True:
                data = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
                states = data.get("statuses") or [data.get("status")]
                if all(s in ("completed", "failed", "cancelled") for s in states):
                    break

    try:
        for client in clients:
            client.get("/healthz")
        per = count // threads
        with ThreadPoolExecutor(threads) as pool:
            start = time.perf_counter()
            for part in pool.map(lambda c: submit(c, per), clients):
                ids.extend(part)
            submitted = time.perf_counter() - start
            chunks = [ids[i::threads] for i in range(threads)]
            list(pool.map(wait, clients, chunks))
            completed = time.perf_counter() - start
    finally:
        for client in clients:
            client.close()
    return len(ids) / submitted, len(ids) / completed


def throughput_case(quick: bool) -> list[dict[str, Any]]:
    from benchmarks.peers.local import qiskit_circuit_peers

    count = 80 if quick else 200
    aer = measure(qiskit_circuit_peers(circuits.qiskit_bell(), 100)["Aer run"](), 20)
    aer_rate = 1e3 / aer.median
    rows: list[dict[str, Any]] = []
    databases: list[tuple[str, Callable[[], Any]]] = [("sqlite", contextlib.nullcontext)]
    databases.append(("postgresql", _postgres_schema))
    for db, make in databases:
        for processes in (1, 2):
            label = f"7 throughput {count} bell jobs [{db}, {processes} serve, 2 workers]"
            try:
                with (
                    make() as url,
                    _service(database_url=url, processes=processes, workers=2) as service,
                ):
                    submitted, completed = _throughput(service, count)
            except Exception as exc:
                log.warning("%s failed: %s", label, exc)
                rows.append(
                    missing_row(
                        label,
                        "Aer run, in-process loop",
                        f"failed: {type(exc).__name__}: {exc}"[:300],
                    )
                )
                continue
            rows.append(
                row(
                    f"{label} submitted",
                    submitted,
                    aer_rate,
                    unit="jobs/s",
                    peer="Aer run, in-process loop",
                    higher_is_better=True,
                    notes="ratio = peer rate / our rate (lower is better)",
                )
            )
            rows.append(
                row(
                    f"{label} completed",
                    completed,
                    aer_rate,
                    unit="jobs/s",
                    peer="Aer run, in-process loop",
                    higher_is_better=True,
                )
            )
    return rows


# ------------------------------------------------------------------ the runner's entry
#: Loggers that talk at INFO for every job, pass or request; quiet while the cases run.
_CHATTY = ("httpx", "qiskit", "qiskit_ibm_runtime", "qrelay", "alembic", "stevedore", "numba")


def run(quick: bool) -> list[dict[str, Any]]:
    """Every case; a case that fails gives one row saying so and the others still run."""
    levels = {name: logging.getLogger(name).level for name in _CHATTY}
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return _run(quick)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def attempt(name: str, fn: Callable[[], list[dict[str, Any]]]) -> None:
        begin = time.perf_counter()
        try:
            rows.extend(fn())
        except ImportError as exc:
            rows.append(missing_row(name, "-", _not_installed(exc)))
        except Exception as exc:
            log.error("%s failed\n%s", name, traceback.format_exc())
            rows.append(missing_row(name, "-", f"failed: {type(exc).__name__}: {exc}"[:300]))
        log.info("peers: %s done in %.1f s", name, time.perf_counter() - begin)

    service_cm: Any
    try:
        service_cm = _service(workers=1, targets=("aer_simulator", "cirq_simulator"))
        service = service_cm.__enter__()
    except Exception as exc:
        log.error("qrelay serve did not start: %s", exc)
        service_cm, service = None, None
    try:
        attempt("1 bell", lambda: bell_case(quick, service))
        attempt("2 small jobs", lambda: batch_case(quick, service))
    finally:
        if service_cm is not None:
            service_cm.__exit__(None, None, None)
    attempt("3 sweep", lambda: sweep_case(quick))
    attempt("4 random", lambda: random_case(quick))
    attempt("5 readout", lambda: readout_case(quick))
    attempt("6 import", lambda: import_case(quick))
    attempt("7 throughput", lambda: throughput_case(quick))
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--case", nargs="*", help="bell batch sweep random readout import throughput"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.case:
        chosen: list[dict[str, Any]] = []
        for name in args.case:
            if name in ("bell", "batch"):
                with _service(workers=1, targets=("aer_simulator", "cirq_simulator")) as svc:
                    chosen += (bell_case if name == "bell" else batch_case)(args.quick, svc)
            else:
                chosen += globals()[f"{name}_case"](args.quick)
    else:
        chosen = run(args.quick)
    for entry in chosen:
        print(json.dumps(entry))
