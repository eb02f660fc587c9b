"""The peers' local paths: each setup returns a callable doing one unit of work.

A setup raises ``ImportError`` when its package is not installed; the case then writes
a "not installed" row. Setups do the one-off work a user does once (transpiling for the
backend, building the sampler) outside the timed callable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Work = Callable[[], Any]

#: Aer's options in this process: empty for ``AerSimulator()``, or
#: ``{"max_parallel_threads": 1}``; the benchmarks run each setup in a process of its own
#: and keep the faster (see :func:`configure_aer`).
AER_OPTIONS: dict[str, Any] = {}


def configure_aer(threads: int | None) -> None:
    """Make this process's Aer peers run on ``threads`` threads (``None``: Aer's default)."""
    AER_OPTIONS.clear()
    if threads is not None:
        AER_OPTIONS["max_parallel_threads"] = threads


def make_aer_simulator() -> Any:
    """``AerSimulator`` with this process's options."""
    from qiskit_aer import AerSimulator

    return AerSimulator(**AER_OPTIONS)


def make_aer_sampler() -> Any:
    """Aer's ``SamplerV2`` with this process's options."""
    from qiskit_aer.primitives import SamplerV2

    return SamplerV2(options={"backend_options": dict(AER_OPTIONS)})


#: The fake IBM backends used in local testing mode (a small one, and one >= 10 qubits).
IBM_SMALL = "FakeManilaV2"
IBM_LARGE = "FakeGuadalupeV2"


def _ibm(backend_name: str) -> tuple[Any, Any]:
    """(SamplerV2 in local testing mode, preset pass manager) for a fake backend."""
    import warnings

    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import SamplerV2, fake_provider

    logging.getLogger("qiskit_ibm_runtime").setLevel(logging.WARNING)
    backend = getattr(fake_provider, backend_name)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sampler = SamplerV2(mode=backend)
    return sampler, generate_preset_pass_manager(optimization_level=1, backend=backend)


# ---------------------------------------------------------------- one circuit, N shots
def qiskit_circuit_peers(qc: Any, shots: int) -> dict[str, Callable[[], Work]]:
    """Peers that run one Qiskit circuit and return its counts."""

    def aer() -> Work:
        from qiskit import transpile

        sim = make_aer_simulator()
        compiled = transpile(qc, sim)
        return lambda: sim.run(compiled, shots=shots).result().get_counts()

    def aer_sampler() -> Work:
        sampler = make_aer_sampler()
        return lambda: sampler.run([qc], shots=shots).result()[0].join_data().get_counts()

    def ibm() -> Work:
        sampler, pm = _ibm(IBM_SMALL)
        isa = pm.run(qc)
        return lambda: sampler.run([isa], shots=shots).result()[0].join_data().get_counts()

    def braket() -> Work:
        from qiskit_braket_provider import BraketLocalBackend

        backend = BraketLocalBackend()
        return lambda: backend.run(qc, shots=shots).result().get_counts()

    return {
        "Aer run": aer,
        "Aer SamplerV2": aer_sampler,
        "qiskit-ibm-runtime local (FakeManilaV2, noisy)": ibm,
        "qiskit-braket-provider BraketLocalBackend": braket,
    }


def cirq_circuit_peers(circuit: Any, shots: int, key: str) -> dict[str, Callable[[], Work]]:
    """Peers that run one Cirq circuit and return its histogram."""

    def cirq_sim() -> Work:
        import cirq

        sim = cirq.Simulator()
        return lambda: sim.run(circuit, repetitions=shots).histogram(key=key)

    def qsim() -> Work:
        import qsimcirq

        sim = qsimcirq.QSimSimulator()
        return lambda: sim.run(circuit, repetitions=shots).histogram(key=key)

    return {"cirq.Simulator": cirq_sim, "qsimcirq": qsim}


# ---------------------------------------------------------------- many small circuits
def qiskit_batch_peers(circuits: Sequence[Any], shots: int) -> dict[str, Callable[[], Work]]:
    """Peers that run a list of circuits at once and return every circuit's counts."""

    def aer() -> Work:
        from qiskit import transpile

        sim = make_aer_simulator()
        compiled = transpile(list(circuits), sim)
        return lambda: sim.run(compiled, shots=shots).result().get_counts()

    def aer_sampler() -> Work:
        sampler = make_aer_sampler()
        return lambda: [
            r.join_data().get_counts() for r in sampler.run(circuits, shots=shots).result()
        ]

    def ibm() -> Work:
        sampler, pm = _ibm(IBM_SMALL)
        isa = pm.run(list(circuits))
        return lambda: [r.join_data().get_counts() for r in sampler.run(isa, shots=shots).result()]

    def braket() -> Work:
        from qiskit_braket_provider import BraketLocalBackend

        backend = BraketLocalBackend()
        return lambda: backend.run(list(circuits), shots=shots).result().get_counts()

    return {
        "Aer run (list)": aer,
        f"Aer SamplerV2 ({len(circuits)} PUBs)": aer_sampler,
        "qiskit-ibm-runtime local (FakeManilaV2, noisy)": ibm,
        "qiskit-braket-provider BraketLocalBackend": braket,
    }


def cirq_batch_peers(circuits: Sequence[Any], shots: int) -> dict[str, Callable[[], Work]]:
    def cirq_sim() -> Work:
        import cirq

        sim = cirq.Simulator()
        return lambda: sim.run_batch(list(circuits), repetitions=shots)

    def qsim() -> Work:
        import qsimcirq

        sim = qsimcirq.QSimSimulator()
        return lambda: sim.run_batch(list(circuits), repetitions=shots)

    return {"cirq.Simulator run_batch": cirq_sim, "qsimcirq run_batch": qsim}


# ---------------------------------------------------------------- parameter sweeps
def sweep_peers(
    qc: Any, cirq_circuit: Any, symbols: Sequence[Any], values: np.ndarray, shots: int
) -> dict[str, Callable[[], Work]]:
    """Peers running ``qc`` (or its Cirq twin) at every row of ``values``."""

    def binds() -> Work:
        from qiskit import transpile

        sim = make_aer_simulator()
        compiled = transpile(qc, sim)
        table = [{p: values[:, i].tolist() for i, p in enumerate(qc.parameters)}]
        return lambda: sim.run(compiled, shots=shots, parameter_binds=table).result().get_counts()

    def aer_sampler() -> Work:
        sampler = make_aer_sampler()
        return lambda: sampler.run([(qc, values)], shots=shots).result()[0].join_data()  # noqa: PLW0108

    def per_point() -> Work:
        from qiskit import transpile

        sim = make_aer_simulator()
        compiled = transpile(qc, sim)

        def loop() -> list[Any]:
            return [
                sim.run(compiled.assign_parameters(row), shots=shots).result().get_counts()
                for row in values
            ]

        return loop

    def cirq_sweep() -> Work:
        import cirq

        sweep = _cirq_sweep(symbols, values)
        sim = cirq.Simulator()
        return lambda: sim.run_sweep(cirq_circuit, sweep, repetitions=shots)

    def qsim_sweep() -> Work:
        import qsimcirq

        sweep = _cirq_sweep(symbols, values)
        sim = qsimcirq.QSimSimulator()
        return lambda: sim.run_sweep(cirq_circuit, sweep, repetitions=shots)

    return {
        "Aer parameter_binds": binds,
        "Aer SamplerV2": aer_sampler,
        "Aer job-per-point loop": per_point,
        "cirq.Simulator run_sweep": cirq_sweep,
        "qsimcirq run_sweep": qsim_sweep,
    }


def ibm_sweep(qc: Any, values: np.ndarray, shots: int) -> Work:
    """SamplerV2 in local testing mode on a fake backend with >= 10 qubits."""
    sampler, pm = _ibm(IBM_LARGE)
    isa = pm.run(qc)
    return lambda: sampler.run([(isa, values)], shots=shots).result()[0].join_data()  # noqa: PLW0108


def _cirq_sweep(symbols: Sequence[Any], values: np.ndarray) -> Any:
    import cirq

    return cirq.Zip(*(cirq.Points(s, values[:, i].tolist()) for i, s in enumerate(symbols)))
