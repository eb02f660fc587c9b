"""Ecosystem fixtures: real third-party clients on qrelay targets (the embedded default).

Each module skips with a visible reason when its client is not installed (the
``ecosystem`` extra installs them).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The clients' own deprecations (and their dependencies') are theirs to fix: they warn,
    they do not fail the compatibility suite."""
    for item in items:
        if "ecosystem" in item.nodeid:
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))
            item.add_marker(pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"))
            item.add_marker(pytest.mark.filterwarnings("ignore::FutureWarning"))


@pytest.fixture(scope="session")
def qiskit_provider():  # type: ignore[no-untyped-def]
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    from qrelay_qiskit import QRelayProvider

    return QRelayProvider()


@pytest.fixture(scope="session")
def cirq_service():  # type: ignore[no-untyped-def]
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    from qrelay_cirq import QRelayService

    return QRelayService()
