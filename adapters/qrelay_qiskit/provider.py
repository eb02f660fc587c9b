"""``QRelayProvider``: every target of a qrelay provider as a Qiskit backend.

``QRelayProvider()`` with no URL anywhere uses the embedded default (the whole stack in
this process); ``QRelayProvider(url, token)`` a remote service; ``provider="direct"`` or
the name of any plugin registered in the ``qrelay.providers`` entry point group reaches
that provider instead, with no change here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from qrelay.errors import ConfigurationError, QRelayError
from qrelay.payload import JobData, NewJob, TargetInfo
from qrelay.payload.calibration import apply
from qrelay_qiskit._handles import JobHandle, ProviderHandle, open_provider
from qrelay_qiskit.backend import QRelayBackend
from qrelay_qiskit.job import QRelayJob


class QRelayProvider:
    """Qiskit's view of a qrelay provider: ``backends``, ``get_backend``, ``retrieve_job``.

    The runtime provider is opened on first use, so constructing this costs nothing.
    """

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
        self._runtime: ProviderHandle | None = None
        self._backends: dict[str, QRelayBackend] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its settings only; the copy opens its own connection when used."""
        return (_reopen, (self._url, self._token, self._name, self._kwargs))

    @property
    def name(self) -> str:
        """The name of the runtime provider behind this one (``qrelay``, ``direct``, ...)."""
        return self._name

    @property
    def runtime(self) -> ProviderHandle:
        """The runtime provider (opened now if it was not yet)."""
        with self._lock:
            if self._runtime is None:
                self._runtime = open_provider(self._name, self._url, self._token, **self._kwargs)
            return self._runtime

    def backends(self, name: str | None = None, **filters: Any) -> list[QRelayBackend]:
        """The targets as backends, filtered by ``name`` and ``GetTargetsFilterModel`` fields.

        Filters: ``simulator``, ``supports_submit``, ``supports_compile``, ``available``,
        ``retired``, ``min_num_qubits``.
        """
        from qrelay.runtime.providers import filter_targets

        models = filter_targets(self.runtime.targets(), name, **filters)
        return [self.get_backend(model.target_name) for model in models]

    def get_backend(self, name: str, *, calibration: str | None = None) -> QRelayBackend:
        """The backend of target ``name`` (``NotFoundError`` if there is none).

        With ``calibration`` (an id from the target's calibration history), the backend's
        ``Target``, and so ``AerSimulator.from_backend``, is that calibration's instead of
        the current one. Jobs run on it still run on the device as it is now; pin the
        calibration with the run option ``calibration_id`` to refuse a stale one.
        """
        if calibration is not None:
            return QRelayBackend(self, self._calibrated(name, calibration))
        with self._lock:
            cached = self._backends.get(name)
        if cached is not None:
            return cached
        info = self.runtime.target(name)
        backend = QRelayBackend(self, info)
        with self._lock:
            return self._backends.setdefault(name, backend)

    def _calibrated(self, name: str, calibration_id: str) -> TargetInfo:
        """Target ``name`` with the stored calibration ``calibration_id``."""
        fetch = getattr(self.runtime, "calibration", None)
        if fetch is None:
            raise ConfigurationError(
                f"provider {self._name!r} keeps no calibration history; "
                "get_backend(calibration=...) needs the qrelay service"
            )
        return apply(self.runtime.target(name), fetch(name, calibration_id))

    def retrieve_job(self, job_id: str) -> QRelayJob:
        """A job submitted earlier, in this process or another, by its id.

        A job that ``run`` split into several service jobs has their ids joined by commas.
        """
        ids = [part for part in job_id.split(",") if part]
        handles = [self.runtime.job(part) for part in ids]
        target = handles[0].data().target if handles else ""
        return QRelayJob(self._cached_backend(target), handles, backend_name=target)

    def jobs(
        self,
        limit: int = 10,
        *,
        backend_name: str | None = None,
        status: str | Sequence[str] | None = None,
        **filters: Any,
    ) -> list[QRelayJob]:
        """The caller's most recent jobs, newest first, as ``QRelayJob`` objects.

        As ``QiskitRuntimeService.jobs``: at most ``limit`` jobs, on ``backend_name`` only
        if given; ``status`` is one or more job states (``"queued"``, ``"completed"``,
        ``"failed"``, ...); other filters are the fields of ``qrelay.payload.JobQuery``
        (``tag``, ``submitted_after``, ...). A ``run`` that was split into several service
        jobs lists each of them.
        """
        lister = getattr(self.runtime, "jobs", None)
        if lister is None:
            raise ConfigurationError(f"provider {self._name!r} does not list jobs")
        if backend_name is not None:
            filters["target_name"] = backend_name
        if status is not None:
            filters["status"] = [status] if isinstance(status, str) else list(status)
        handles: list[JobHandle] = lister(limit=limit, **filters)
        out = []
        for handle in handles:
            last = getattr(handle, "last_data", None)  # the listing's view, when it has one
            target = last.target if isinstance(last, JobData) else handle.data().target
            out.append(QRelayJob(self._cached_backend(target), [handle], backend_name=target))
        return out

    def _cached_backend(self, name: str) -> QRelayBackend | None:
        try:
            return self.get_backend(name)
        except QRelayError:  # a retired target still has its results
            return None

    def submit_job(self, job: NewJob) -> JobHandle:
        """Submit one service job (what ``QRelayBackend.run`` calls)."""
        return self.runtime.submit(job)

    def __repr__(self) -> str:
        where = self._url or "embedded default" if self._name == "qrelay" else self._name
        return f"<QRelayProvider({where!r})>"


def _reopen(
    url: str | None, token: str | None, provider: str, kwargs: dict[str, Any]
) -> QRelayProvider:
    """A pickled provider again, from its settings."""
    return QRelayProvider(url, token, provider=provider, **kwargs)
