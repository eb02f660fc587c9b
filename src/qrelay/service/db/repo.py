"""The repository: every read and write the service makes, as short transactions.

Each public method is synchronous (the routes run it in a worker thread) and opens at
most one write transaction, so a submission, a lease or a result is one commit. Changes
that a long poll may wait for are announced through the :class:`~qrelay.service.notify.Notifier`
after the commit.

:class:`Store` is the one façade the service calls. It composes one mixin per concern,
each in its own module over :class:`~qrelay.service.db.base.StoreBase`:

- :mod:`~qrelay.service.db.statements`: the prebuilt SQL statements of the hot paths;
- :mod:`~qrelay.service.db.accounts`: tokens, users, balances and workers;
- :mod:`~qrelay.service.db.submission`: checking and storing a new job;
- :mod:`~qrelay.service.db.reads`: targets, a job, its results, the job listing
  (whose pages :mod:`~qrelay.service.db.listing` builds);
- :mod:`~qrelay.service.db.calibrations`: each target's calibration history;
- :mod:`~qrelay.service.db.cancelling`: cancel and delete;
- :mod:`~qrelay.service.db.work`: leases, heartbeats, progress and results (the queue's
  order is :mod:`~qrelay.service.db.leasing` and :mod:`~qrelay.service.db.fairness`);
- :mod:`~qrelay.service.db.shaping`: the JSON answers spliced from stored JSON.
"""

from __future__ import annotations

from qrelay.service.db.accounts import AccountStore
from qrelay.service.db.base import expired, utcnow
from qrelay.service.db.cancelling import CancelStore
from qrelay.service.db.engine import new_id
from qrelay.service.db.reads import ReadStore
from qrelay.service.db.shaping import splice_json
from qrelay.service.db.submission import SubmissionStore, Submitted, request_digest
from qrelay.service.db.work import WorkStore

__all__ = [
    "Store",
    "Submitted",
    "expired",
    "new_id",
    "request_digest",
    "splice_json",
    "utcnow",
]


class Store(AccountStore, SubmissionStore, ReadStore, CancelStore, WorkStore):
    """The service's storage operations over one engine."""
