"""Fixtures of the QPU tests: a real controller on an ephemeral loopback port, in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qrelay import registry
from qrelay.errors import ConfigurationError
from qrelay.plugins import SimulationEngine
from qrelay.qpu import api
from qrelay.qpu.emulator import DEFAULT_ENGINE_OPTIONS
from qrelay.qpu.server import ServerHandle, start_server


def _aer_engine() -> SimulationEngine | None:
    try:
        factory = registry.load(registry.ENGINES, "aer")
    except ConfigurationError:
        return None
    engine: SimulationEngine = factory(**DEFAULT_ENGINE_OPTIONS)
    return engine


@pytest.fixture(scope="session")
def engine() -> SimulationEngine:
    """The ``aer`` simulation engine plugin; tests that run programs need it."""
    found = _aer_engine()
    if found is None:
        pytest.skip("the 'aer' engine plugin (qrelay_qiskit.engine.AerEngine) is not installed")
    return found


@pytest.fixture(scope="module")
def server(engine: SimulationEngine) -> Iterator[ServerHandle]:
    handle = start_server("127.0.0.1", 0, engine=engine, seed=1234)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def client(server: ServerHandle) -> Iterator[api.QpuClient]:
    with api.QpuClient(gateway=server.address) as qpu_client:
        yield qpu_client


@pytest.fixture
def paused_server() -> Iterator[ServerHandle]:
    """A controller whose queues are held: programs queue but do not start (no engine)."""
    handle = start_server("127.0.0.1", 0, devices=["square_qpu", "ion_qpu"], paused=True)
    yield handle
    handle.stop(grace=0)
