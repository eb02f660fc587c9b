"""The runtime: clients that submit jobs, wait for them and hand back their readouts.

:class:`AsyncClient` / :class:`AsyncJob` do the I/O; :class:`Client` / :class:`Job` are
their synchronous twins. :mod:`qrelay.runtime.providers` puts a name on each way of
running jobs (the service, one QPU controller, third-party plugins), and
:mod:`qrelay.runtime.decode` turns readouts into counts and bitstrings.
"""

from __future__ import annotations

from qrelay.runtime.async_client import AsyncClient, AsyncJob, new_idempotency_key
from qrelay.runtime.client import Client, Job
from qrelay.runtime.retry import RETRY_STATUSES, RetryPolicy

__all__ = [
    "RETRY_STATUSES",
    "AsyncClient",
    "AsyncJob",
    "Client",
    "Job",
    "RetryPolicy",
    "new_idempotency_key",
]
