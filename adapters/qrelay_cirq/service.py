"""``QRelayCirqService``: a qrelay provider as Cirq samplers and devices.

The name says which side it is on: :mod:`qrelay.service` is the job service itself, this
is Cirq's client of a provider. ``QRelayService`` is the same class under the name it
first had, kept for the code that imports it.

``QRelayCirqService()`` with no URL anywhere uses the embedded default; ``provider="direct"``
or any plugin name registered in the ``qrelay.providers`` group reaches that provider.
"""

from __future__ import annotations

import threading
from typing import Any

from qrelay.payload import NewJob, TargetInfo, TargetModel
from qrelay_cirq.device import QRelayDevice
from qrelay_cirq.sampler import QRelayCirqJob, QRelaySampler


class QRelayCirqService:
    """Cirq's entry point to qrelay: ``sampler(target)``, ``device(target)``, ``get_job(id)``."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        provider: str = "qrelay",
        **kwargs: Any,
    ) -> None:
        self._url = url
        self._token = token
        self._name = provider
        self._kwargs = kwargs
        self._runtime: Any = None
        self._infos: dict[str, TargetInfo] = {}
        self._lock = threading.Lock()

    @property
    def runtime(self) -> Any:
        """The runtime provider (opened on first use)."""
        with self._lock:
            if self._runtime is None:
                from qrelay.runtime.providers import get_provider

                kwargs = dict(self._kwargs)
                if self._url is not None:
                    kwargs["url"] = self._url
                if self._token is not None:
                    kwargs["token"] = self._token
                self._runtime = get_provider(self._name, **kwargs)
            return self._runtime

    def targets(self, **filters: Any) -> list[TargetModel]:
        """The provider's targets, filtered by ``GetTargetsFilterModel`` fields."""
        models: list[TargetModel] = self.runtime.targets()
        from qrelay.runtime.providers import filter_targets

        return filter_targets(models, **filters)

    def target_info(self, target: str) -> TargetInfo:
        """One target in full (cached per service)."""
        with self._lock:
            cached = self._infos.get(target)
        if cached is not None:
            return cached
        info: TargetInfo = self.runtime.target(target)
        with self._lock:
            return self._infos.setdefault(target, info)

    def sampler(self, target: str, **options: Any) -> QRelaySampler:
        """A ``cirq.Sampler`` on ``target`` (options: priority, tags, sim_method, seed, noise,
        verbatim)."""
        self.target_info(target)  # unknown targets fail here, by name
        return QRelaySampler(self, target, **options)

    def device(self, target: str) -> QRelayDevice:
        """The ``cirq.Device`` of ``target``, for validating circuits before they are sent."""
        return QRelayDevice(self.target_info(target))

    def get_job(self, job_id: str) -> QRelayCirqJob:
        """A job submitted earlier (in this process or another) by its id."""
        return QRelayCirqJob(self.runtime.job(job_id), None)

    def submit_job(self, job: NewJob) -> Any:
        """Submit one service job (what the sampler calls)."""
        return self.runtime.submit(job)

    def __repr__(self) -> str:
        where = self._url or "embedded default" if self._name == "qrelay" else self._name
        return f"<QRelayService({where!r})>"


#: The same class as :class:`QRelayCirqService`, under its first name (public API, kept).
QRelayService = QRelayCirqService
