"""Runtime fixtures: the embedded default, and a second app instance behind a fault injector.

The embedded default is the real stack (service on SQLite under the session's temporary
``QRELAY_HOME``, workers, the emulated fleet). ``faulty`` is a second instance of the real
app on the same database, served by uvicorn on loopback behind
:class:`~tests.runtime.faults.FaultInjector`, so a client can be made to meet real 503s
and 429s while the embedded workers run its jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .faults import FaultInjector


@pytest.fixture(scope="session")
def stack() -> Any:
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    from qrelay import embedded

    # Other users of the session (the front ends) share it; it stops at exit.
    return embedded.start()


@dataclass
class FaultyService:
    url: str
    token: str
    injector: FaultInjector


@pytest.fixture(scope="session")
def faulty(stack: Any) -> Iterator[FaultyService]:
    from qrelay.service.app import create_app
    from qrelay.service.loopback import serve_loopback
    from qrelay.settings import ServiceSettings

    app = create_app(ServiceSettings(home=stack.home, database_url=stack.database_url))
    # The stack starts a target's worker when its own app queues a job; this second app
    # wakes nobody there, so the worker its jobs need is started here (otherwise they
    # run only if an earlier test started them).
    assert stack.worker_for("aer_simulator") is not None
    injector = FaultInjector(app)
    http = serve_loopback(injector)
    yield FaultyService(url=http.url, token=stack.token, injector=injector)
    http.stop()


@pytest.fixture
def injector(faulty: FaultyService) -> Iterator[FaultInjector]:
    faulty.injector.clear()
    yield faulty.injector
    faulty.injector.clear()
