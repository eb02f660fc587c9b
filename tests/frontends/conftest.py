"""Front-end fixtures: one Qiskit provider and one Cirq service on the embedded default.

The embedded default runs the real stack in this process (service on a SQLite file under
the session's temporary ``QRELAY_HOME``, workers, the emulated fleet on loopback); both
fixtures share it for the session, so its start-up is paid once.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest


def _need_service() -> None:
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")


@pytest.fixture(scope="session")
def qiskit_provider():  # type: ignore[no-untyped-def]
    _need_service()
    from qrelay_qiskit import QRelayProvider

    return QRelayProvider()


@pytest.fixture(scope="session")
def cirq_service():  # type: ignore[no-untyped-def]
    _need_service()
    from qrelay_cirq import QRelayService

    return QRelayService()


def total_variation(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """Total-variation distance between two empirical distributions."""
    na, nb = sum(a.values()), sum(b.values())
    keys = set(a) | set(b)
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in keys)


def tv_bound(outcomes: int, shots: int) -> float:
    """A bound the TV distance of two samples of one distribution stays under (very likely).

    Each outcome's frequency differs by about sqrt(2 p (1 - p) / n) between two samples;
    summed over ``outcomes`` and halved that is at most ~sqrt(outcomes / (2 n)). Four times
    that keeps a false failure far below one in a million runs.
    """
    return 4.0 * (outcomes / (2.0 * shots)) ** 0.5
