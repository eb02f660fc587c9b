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


def filter_targets(
    models: list[TargetModel], name: str | None = None, **filters: Any
) -> list[TargetModel]:
    """Targets that pass ``GetTargetsFilterModel`` filters (plus ``name``), checked here.

    Filtering on this side keeps every provider usable, including ones that ignore filters.
    Unknown filter names are refused by name.
    """
    from qrelay.errors import ValidationError
    from qrelay.payload import GetTargetsFilterModel

    known = set(GetTargetsFilterModel.model_fields)
    unknown = sorted(set(filters) - known)
    if unknown:
        raise ValidationError(f"unknown target filter(s) {unknown}; known: {sorted(known)}")
    query = GetTargetsFilterModel(**filters)
    out = []
    for model in models:
        if name is not None and model.target_name != name:
            continue
        if query.simulator is not None and model.simulator != query.simulator:
            continue
        if query.supports_submit is not None and model.supports_submit != query.supports_submit:
            continue
        if query.supports_compile is not None and model.supports_compile != query.supports_compile:
            continue
        if query.available is not None and model.available != query.available:
            continue
        if query.retired is not None and model.retired != query.retired:
            continue
        if query.min_num_qubits is not None and model.num_qubits < query.min_num_qubits:
            continue
        out.append(model)
    return out
