"""The sides that :mod:`benchmarks.apart` runs, each in a process of its own.

A side builds what a user builds once (a provider, a simulator, transpiled circuits),
untimed, then times the work and returns ``{"<what>_ms": [...]}``. The reference sides
take ``threads``: ``None`` for ``AerSimulator()``, ``1`` for
``AerSimulator(max_parallel_threads=1)``; the caller keeps the better of the two.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from benchmarks.peers import circuits


def _times_ms(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(1e3 * (time.perf_counter() - start))
    return out


def _wall_and_cpu_ms(fn: Callable[[], Any], repeat: int) -> dict[str, list[float]]:
    """Wall times (``times_ms``) and this process's CPU times, all its threads
    (``cpu_ms``), of ``repeat`` calls: on a loaded machine the CPU a side spends moves
    less than its wall time."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, used = time.perf_counter(), time.process_time()
        fn()
        wall.append(1e3 * (time.perf_counter() - start))
        cpu.append(1e3 * (time.process_time() - used))
    return {"times_ms": wall, "cpu_ms": cpu}


def settle(timeout: float = 20.0, spell: float = 0.3, busy: float = 0.05) -> None:
    """Wait until this process and its children are quiet (below ``busy`` of one CPU).

    A stack that has just started still works in the background (workers, simulation
    children importing their simulators); the settled rows are timed after that. Without
    ``psutil`` a fixed three seconds stand in.
    """
    try:
        import psutil
    except ImportError:
        time.sleep(3.0)
        return

    def used() -> float:
        me = psutil.Process()
        total = sum(me.cpu_times()[:2])
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = used()
        time.sleep(spell)
        if used() - before <= busy * spell:
            return


def _aer(threads: int | None) -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator() if threads is None else AerSimulator(max_parallel_threads=threads)


def _bell_times(job: Callable[[], Any], first: int, settled: int) -> dict[str, list[float]]:
    """The first job (``start_ms``: it waits for whatever starts), the ``first`` jobs right
    after it, then ``settled`` jobs once all is quiet."""
    start_ms = _times_ms(job, 1)
    first_ms = _times_ms(job, first)
    settle()
    for _ in range(3):
        job()
    return {"start_ms": start_ms, "first_ms": first_ms, "settled_ms": _times_ms(job, settled)}


# ------------------------------------------------------------------ Bell, one job at a time
def bell_qrelay(
    first: int, settled: int, shots: int = 1000, url: str | None = None, token: str | None = None
) -> dict[str, list[float]]:
    """``backend.run(bell).result().get_counts()`` right after the provider is made, then
    settled; on the embedded default, or on ``qrelay serve`` at ``url``."""
    from qrelay_qiskit import QRelayProvider

    qc = circuits.qiskit_bell()
    provider = QRelayProvider(url, token) if url else QRelayProvider()
    backend = provider.get_backend("aer_simulator")
    return _bell_times(lambda: backend.run(qc, shots=shots).result().get_counts(), first, settled)


def bell_aer(
    first: int, settled: int, shots: int = 1000, threads: int | None = None
) -> dict[str, list[float]]:
    """The same Bell circuit, transpiled once, on Aer directly."""
    from qiskit import transpile

    sim = _aer(threads)
    compiled = transpile(circuits.qiskit_bell(), sim)
    return _bell_times(lambda: sim.run(compiled, shots=shots).result().get_counts(), first, settled)


# ------------------------------------------------------------------ many small circuits
def _small_lists(count: int, lists: int) -> list[list[Any]]:
    """``lists`` lists of ``count`` small circuits: the same one each time, or with
    ``lists`` > 1 each list of circuits no other list holds (angles drawn afresh)."""
    return [[circuits.qiskit_small(k * count + i) for i in range(count)] for k in range(lists)]


def batch_qrelay(
    count: int, shots: int, repeat: int, fresh: bool = False
) -> dict[str, list[float]]:
    """One ``backend.run`` of ``count`` small circuits on the embedded default: the same
    list each time, or (``fresh``) a list of circuits never run before each time."""
    from qrelay_qiskit import QRelayProvider

    lists = iter(_small_lists(count, repeat + 2 if fresh else 1))
    same = next(lists)
    backend = QRelayProvider().get_backend("aer_simulator")

    def work() -> Any:
        qcs = next(lists) if fresh else same
        return backend.run(qcs, shots=shots).result().get_counts()

    if not fresh:
        work()
    settle()
    work()
    return _wall_and_cpu_ms(work, repeat)


def batch_aer(
    count: int, shots: int, repeat: int, threads: int | None = None, fresh: bool = False
) -> dict[str, Any]:
    """Aer's run of the same lists, each transpiled before the timing."""
    from qiskit import transpile

    sim = _aer(threads)
    lists = iter([transpile(qcs, sim) for qcs in _small_lists(count, repeat + 2 if fresh else 1)])
    same = next(lists)

    def work() -> Any:
        return sim.run(next(lists) if fresh else same, shots=shots).result().get_counts()

    if not fresh:
        work()
    work()
    return _wall_and_cpu_ms(work, repeat)


# ------------------------------------------------------------------ a dynamic circuit
def loop_qrelay(shots: int, repeat: int) -> dict[str, Any]:
    """A repeat-until-success ``while`` loop on the embedded default's simulator."""
    from qrelay_qiskit import QRelayProvider

    qc = circuits.qiskit_repeat_until_success()
    backend = QRelayProvider().get_backend("aer_simulator")

    def work() -> Any:
        return backend.run(qc, shots=shots).result().get_counts()

    work()
    settle()
    work()
    return _wall_and_cpu_ms(work, repeat)


def loop_aer(shots: int, repeat: int, threads: int | None = None) -> dict[str, Any]:
    """The same loop, transpiled once, on Aer directly (its own ``while_loop``)."""
    from qiskit import transpile

    sim = _aer(threads)
    compiled = transpile(circuits.qiskit_repeat_until_success(), sim)

    def work() -> Any:
        return sim.run(compiled, shots=shots).result().get_counts()

    work()
    return _wall_and_cpu_ms(work, repeat)


# ------------------------------------------------------------------ many distinct keys
def _random_bits(width: int) -> Any:
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(width, width, name=f"random{width}")
    qc.h(range(width))
    qc.measure(range(width), range(width))
    return qc


def readout_qrelay(shots: int, width: int, repeat: int) -> dict[str, Any]:
    """``shots`` shots of ``width`` random bits: run + ``Result.get_counts()``, embedded."""
    from qrelay_qiskit import QRelayProvider

    qc = _random_bits(width)
    backend = QRelayProvider().get_backend("aer_simulator")
    backend.run(qc, shots=1000).result().get_counts()  # start-up, off the clock
    settle()
    keys: list[int] = []

    def work() -> None:
        keys.append(len(backend.run(qc, shots=shots).result().get_counts()))

    return {"times_ms": _times_ms(work, repeat), "keys": keys}


def readout_aer(shots: int, width: int, repeat: int, threads: int | None = None) -> dict[str, Any]:
    """Aer's own ``run(...).result().get_counts()`` of the same circuit."""
    from qiskit import transpile

    sim = _aer(threads)
    compiled = transpile(_random_bits(width), sim)
    sim.run(compiled, shots=1000).result().get_counts()
    keys: list[int] = []

    def work() -> None:
        keys.append(len(sim.run(compiled, shots=shots).result().get_counts()))

    return {"times_ms": _times_ms(work, repeat), "keys": keys}


# ------------------------------------------------------------------ sweeps
def sweep_sampler_v2(points: int, shots: int, repeat: int) -> dict[str, list[float]]:
    """A ``points``-point sweep of the 10-qubit ansatz through ``QRelaySamplerV2``."""
    import numpy as np

    from qrelay_qiskit import QRelayProvider, QRelaySamplerV2

    qc = circuits.qiskit_ansatz()
    values = np.random.default_rng(1).uniform(0, np.pi, size=(points, qc.num_parameters))
    sampler = QRelaySamplerV2(QRelayProvider().get_backend("aer_simulator"), default_shots=shots)

    def work() -> Any:
        return sampler.run([(qc, values)]).result()[0].data.meas.get_counts(0)

    sampler.run([(qc, values[:5])]).result()
    settle()
    return {"times_ms": _times_ms(work, repeat)}


def sweep_aer_binds(
    points: int, shots: int, repeat: int, threads: int | None = None
) -> dict[str, list[float]]:
    """The same sweep as Aer ``parameter_binds``, transpiled once."""
    import numpy as np
    from qiskit import transpile

    qc = circuits.qiskit_ansatz()
    values = np.random.default_rng(1).uniform(0, np.pi, size=(points, qc.num_parameters))
    sim = _aer(threads)
    compiled = transpile(qc, sim)
    binds = [{p: values[:, i].tolist() for i, p in enumerate(qc.parameters)}]

    def work() -> Any:
        return sim.run(compiled, shots=shots, parameter_binds=binds).result().get_counts(0)

    return {"times_ms": _times_ms(work, repeat)}


def sweep_cirq(
    points: int, shots: int, repeat: int, target: str | None = None
) -> dict[str, list[float]]:
    """The Cirq ansatz swept through ``QRelaySampler.run_sweep`` on ``target``, or through
    ``cirq.Simulator().run_sweep`` when ``target`` is ``None``."""
    import cirq
    import numpy as np

    circuit, symbols = circuits.cirq_ansatz()
    values = np.random.default_rng(2).uniform(0, np.pi, size=(points, len(symbols)))
    sweep = cirq.Zip(*(cirq.Points(s, values[:, i].tolist()) for i, s in enumerate(symbols)))
    if target is None:
        sampler: Any = cirq.Simulator()
    else:
        from qrelay_cirq import QRelayService

        sampler = QRelayService().sampler(target)
        sampler.run_sweep(circuit, sweep, repetitions=shots)
        settle()
    return {
        "times_ms": _times_ms(lambda: sampler.run_sweep(circuit, sweep, repetitions=shots), repeat)
    }
