"""What the Qiskit front end needs of the runtime: typed views of a provider and a job.

The runtime's providers (``qrelay.runtime.providers``) hand out job handles; these
protocols name the few methods the front end calls, so any provider that a third party
registers works here too.
"""

from __future__ import annotations

from typing import Any, Protocol

from qrelay.payload import CircuitStatus, JobData, JobResults, NewJob, TargetInfo, TargetModel


class JobHandle(Protocol):
    """A submitted job as a provider returns it."""

    @property
    def job_id(self) -> str: ...

    def status(self) -> CircuitStatus: ...

    def data(self) -> JobData: ...

    def wait(self, timeout: float | None = None) -> JobData: ...

    def result(self, timeout: float | None = None) -> JobResults: ...

    def cancel(self) -> Any: ...


class ProviderHandle(Protocol):
    """A provider of targets (the service, a direct QPU controller, a plugin)."""

    def targets(self) -> list[TargetModel]: ...

    def target(self, name: str) -> TargetInfo: ...

    def submit(self, job: NewJob) -> JobHandle: ...

    def job(self, job_id: str) -> JobHandle: ...


def open_provider(
    provider: str, url: str | None, token: str | None, **kwargs: Any
) -> ProviderHandle:
    """The runtime provider named ``provider`` (an entry point of ``qrelay.providers``)."""
    from qrelay.runtime.providers import get_provider

    if url is not None:
        kwargs["url"] = url
    if token is not None:
        kwargs["token"] = token
    handle: ProviderHandle = get_provider(provider, **kwargs)
    return handle
