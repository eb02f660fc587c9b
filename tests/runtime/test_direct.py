"""The ``direct`` provider against a real QPU controller on loopback (no service)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from qrelay.errors import ConfigurationError, NotFoundError, PayloadError
from qrelay.payload import Bindings, Circuit, CircuitStatus, NewJob, Register
from qrelay.qpu.direct import DirectProvider
from qrelay.qpu.server import ServerHandle, start_server
from qrelay.runtime.providers import Provider, get_provider


@pytest.fixture(scope="module")
def controller() -> Iterator[ServerHandle]:
    with start_server(host="127.0.0.1", port=0, seed=5) as handle:
        yield handle


@pytest.fixture(scope="module")
def provider(controller: ServerHandle) -> Iterator[DirectProvider]:
    found = get_provider("direct", address=controller.address)
    assert isinstance(found, DirectProvider)
    yield found
    found.close()


def _rx_circuit() -> Circuit:
    return Circuit(
        num_qubits=2,
        registers=[Register(name="c", size=2)],
        parameters=["theta"],
        instructions=[
            {"op": "rx", "qubits": [0], "params": ["theta"]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    )


def test_targets_are_the_controllers_devices(provider: DirectProvider) -> None:
    assert isinstance(provider, Provider)
    names = {t.target_name for t in provider.targets()}
    assert names == {"square_qpu", "heavyhex_qpu", "ion_qpu"}
    info = provider.target("square_qpu")
    assert info.num_qubits == 16
    assert "cz" in info.native_ops
    with pytest.raises(NotFoundError):
        provider.target("nope_qpu")


def test_sweep_runs_as_one_batch_with_a_readout_per_row(provider: DirectProvider) -> None:
    table = Bindings(names=["theta"], values=[[0.0], [math.pi]])
    job = provider.submit(
        NewJob(
            target="square_qpu",
            circuits=[_rx_circuit()],
            shots=300,
            bindings=[table],
            verbatim=True,
        )
    )
    results = job.result(timeout=60)
    rows = results.readouts[0]
    assert rows is not None
    assert len(rows) == 2
    off, on = rows[0].counts(), rows[1].counts()
    assert sum(off.values()) == sum(on.values()) == 300
    assert off.get("00", 0) > 250  # theta = 0: qubit 0 stays 0 (bit 0 is rightmost)
    assert on.get("01", 0) > 250  # theta = pi: qubit 0 flips
    assert job.status() is CircuitStatus.COMPLETED
    assert provider.job(job.job_id) is job
    assert len(job.controller_job_ids[0]) == 2


def test_non_native_circuit_is_compiled_unless_verbatim(provider: DirectProvider) -> None:
    bell = Circuit(
        num_qubits=2,
        registers=[Register(name="c", size=2)],
        instructions=[
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    )
    pytest.importorskip("qrelay_qiskit.compiler")
    counts = (
        provider.submit(NewJob(target="heavyhex_qpu", circuits=[bell], shots=400))
        .result(timeout=60)
        .readouts[0][0]
        .counts()
    )  # type: ignore[index]
    assert counts.get("00", 0) + counts.get("11", 0) > 300
    with pytest.raises(PayloadError, match="h"):
        provider.submit(NewJob(target="heavyhex_qpu", circuits=[bell], shots=10, verbatim=True))


def test_unknown_job_and_option(provider: DirectProvider) -> None:
    with pytest.raises(NotFoundError, match="this process"):
        provider.job("direct-0000")
    with pytest.raises(ConfigurationError, match="unknown option"):
        get_provider("direct", address="127.0.0.1:1", colour="blue")


def test_the_old_import_path_still_works_with_a_warning() -> None:
    import qrelay.runtime.providers as providers

    with pytest.warns(DeprecationWarning, match=r"moved to qrelay\.qpu\.direct"):
        old = providers.DirectProvider
    assert old is DirectProvider
