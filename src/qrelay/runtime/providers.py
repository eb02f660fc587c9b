"""Providers: named ways of running jobs, found through the ``qrelay.providers`` group.

A provider turns a :class:`~qrelay.payload.NewJob` into readouts on some targets. The
front ends (Qiskit backends, Cirq samplers) speak only to this protocol, so a provider
that a third-party package registers shows up there with no change to qrelay::

    [project.entry-points."qrelay.providers"]
    mylab = "mylab_qrelay:MyLabProvider"

Built in:

- ``qrelay`` (:class:`ServiceProvider`): the job service, remote or the embedded default;
- ``direct`` (:class:`qrelay.qpu.direct.DirectProvider`): one QPU controller reached
  through :mod:`qrelay.qpu.api`, with no service in between. It lives in the ``qpu``
  package, above the runtime, and is found through the registry like any provider.

See ``docs/providers.md`` for how to write one.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from qrelay import registry
from qrelay.errors import ConfigurationError
from qrelay.payload import (
    JobData,
    JobResults,
    JobStatus,
    NewJob,
    TargetInfo,
    TargetModel,
)
from qrelay.payload.calibration import Calibration

__all__ = [
    "JobHandle",
    "Provider",
    "ServiceProvider",
    "available_providers",
    "filter_targets",
    "get_provider",
]


@runtime_checkable
class JobHandle(Protocol):
    """A submitted job, as any provider hands it out."""

    @property
    def job_id(self) -> str: ...

    def status(self) -> JobStatus:
        """The job's overall status now."""
        ...

    def data(self) -> JobData:
        """The job's current view (statuses, counts, messages)."""
        ...

    def wait(self, timeout: float | None = None) -> JobData:
        """Block until the job is terminal (``JobTimeoutError`` past ``timeout``)."""
        ...

    def result(self, timeout: float | None = None) -> JobResults:
        """The readouts per circuit and binding row, or the ``JobError`` of the outcome."""
        ...

    def cancel(self) -> Any:
        """Ask for the job to stop."""
        ...


@runtime_checkable
class Provider(Protocol):
    """What a provider offers: its targets, and submitting and finding jobs on them."""

    @property
    def name(self) -> str: ...

    def targets(self) -> list[TargetModel]:
        """Every target, one line each."""
        ...

    def target(self, name: str) -> TargetInfo:
        """One target in full (``NotFoundError`` if there is none)."""
        ...

    def submit(self, job: NewJob) -> JobHandle:
        """Submit a job; its handle gives status, results and cancellation."""
        ...

    def job(self, job_id: str) -> JobHandle:
        """The handle of a job submitted earlier (``NotFoundError`` if unknown)."""
        ...


def available_providers() -> list[str]:
    """The names of every installed provider."""
    return registry.names(registry.PROVIDERS)


def get_provider(name: str = "qrelay", **kwargs: Any) -> Provider:
    """The provider registered as ``name``, constructed with ``kwargs``.

    ``get_provider()`` is the service (``url``/``token``/``profile`` as for
    :class:`qrelay.Client`; none: the embedded default); ``get_provider("direct",
    address="127.0.0.1:50051")`` one QPU controller.
    """
    factory = registry.load(registry.PROVIDERS, name)
    try:
        provider = factory(**kwargs)
    except TypeError as exc:
        raise ConfigurationError(f"provider {name!r}: {exc}") from exc
    if not isinstance(provider, Provider):
        raise ConfigurationError(
            f"provider {name!r} ({factory!r}) does not implement the Provider protocol "
            "(name, targets, target, submit, job)"
        )
    return provider


class ServiceProvider:
    """The job service as a provider (entry point ``qrelay``): a thin face on ``Client``.

    With no URL anywhere this is the embedded default; the client is created on first use.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        profile: str | None = None,
        client: Any = None,
        **client_options: Any,
    ) -> None:
        from qrelay.runtime.client import Client

        self._client: Client = (
            client if client is not None else Client(url, token, profile=profile, **client_options)
        )

    @property
    def name(self) -> str:
        return "qrelay"

    @property
    def client(self) -> Any:
        """The :class:`qrelay.Client` underneath."""
        return self._client

    def targets(self) -> list[TargetModel]:
        return self._client.targets()

    def target(self, name: str) -> TargetInfo:
        return self._client.target(name)

    def calibration(self, name: str, calibration_id: str) -> Calibration:
        """One stored calibration of target ``name`` (``NotFoundError`` if it has none)."""
        return self._client.calibration(name, calibration_id)

    def submit(self, job: NewJob) -> JobHandle:
        return self._client.submit(job)

    def job(self, job_id: str) -> JobHandle:
        return self._client.job(job_id)

    def jobs(self, **filters: Any) -> list[JobHandle]:
        """One page of the caller's jobs, newest first, filtered by ``JobQuery`` fields."""
        return list(self._client.jobs(**filters))

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        where = self._client.url or ("embedded default" if self._client.embedded else "?")
        return f"<ServiceProvider {where}>"


def filter_targets(
    models: list[TargetModel], name: str | None = None, **filters: Any
) -> list[TargetModel]:
    """Targets that pass ``GetTargetsFilterModel`` filters (plus ``name``), checked here.

    Front ends filter on their side so that every provider is usable, including ones that
    ignore filters. Unknown filter names are refused by name.
    """
    from qrelay.errors import ValidationError
    from qrelay.payload import GetTargetsFilterModel

    known = set(GetTargetsFilterModel.model_fields)
    unknown = sorted(set(filters) - known)
    if unknown:
        raise ValidationError(f"unknown target filter(s) {unknown}; known: {sorted(known)}")
    query = GetTargetsFilterModel(**filters)
    return [
        model
        for model in models
        if (name is None or model.target_name == name) and query.admits(model)
    ]


def __getattr__(name: str) -> Any:
    """``DirectProvider`` and ``DirectJob`` under their old home, with a warning."""
    if name in ("DirectProvider", "DirectJob"):
        import warnings

        warnings.warn(
            f"qrelay.runtime.providers.{name} moved to qrelay.qpu.direct.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        import sys

        provider = registry.load(registry.PROVIDERS, "direct")
        return getattr(sys.modules[provider.__module__], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
