"""Providers are found through entry points, including a third-party package's."""

from __future__ import annotations

import pytest

from qrelay.errors import ConfigurationError, NotFoundError
from qrelay.payload import Circuit, NewJob, Register, TargetModel
from qrelay.runtime.providers import Provider, ServiceProvider, available_providers, get_provider


def _bell() -> Circuit:
    return Circuit(
        num_qubits=2,
        registers=[Register(name="c", size=2)],
        instructions=[
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
    )


def test_builtin_providers_are_registered() -> None:
    names = available_providers()
    assert {"qrelay", "direct"} <= set(names)


def test_service_provider_is_a_provider_without_starting_anything() -> None:
    provider = get_provider("qrelay", url="http://127.0.0.1:9")
    assert isinstance(provider, ServiceProvider)
    assert isinstance(provider, Provider)
    assert provider.name == "qrelay"
    assert provider.client.url == "http://127.0.0.1:9"


def test_unknown_provider_names_the_installed_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"no qrelay\.providers plugin named 'nope'"):
        get_provider("nope")


def test_third_party_provider_appears(third_party_provider: str) -> None:
    assert third_party_provider in available_providers()
    provider = get_provider(third_party_provider, seed=11)
    assert isinstance(provider, Provider)
    targets = provider.targets()
    assert all(isinstance(t, TargetModel) for t in targets)
    assert {t.target_name for t in targets} == {"toy_line", "toy_full"}
    info = provider.target("toy_line")
    assert info.provider == "testprovider"
    assert info.num_qubits == 4

    job = provider.submit(NewJob(target="toy_line", circuits=[_bell()], shots=400))
    results = job.result()
    counts = results.readouts[0][0].counts()  # type: ignore[index]
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 400
    assert provider.job(job.job_id).data().job_id == job.job_id
    with pytest.raises(NotFoundError):
        provider.job("toy-missing")
