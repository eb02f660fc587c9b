"""A status line for a Python caller waiting on a job: status, queue position, elapsed time.

``job.result()`` from a terminal or a Jupyter notebook can wait for minutes on a busy
queue. :class:`JobProgress` shows what the wait is on, redrawn in place with ``tqdm``
(installed with the ``server`` extra; in a notebook its widget when ``ipywidgets`` is
there), and falls back to a log line now and then when ``tqdm`` is not installed. It is
off when nobody watches (no terminal, no notebook), and ``progress=False`` or
``QRELAY_PROGRESS=0`` turns it off everywhere; ``QRELAY_PROGRESS=1`` turns it on.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from types import TracebackType
from typing import Any, Final, Self

from qrelay.payload import JobData

logger = logging.getLogger("qrelay.progress")

#: The status line appears only once a wait has lasted this long (seconds).
SHOW_AFTER: Final = 0.5
#: Without ``tqdm``, a log line at most this often (seconds).
_LOG_EVERY: Final = 10.0
_ENV: Final = "QRELAY_PROGRESS"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (an IPython kernel is running it)."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show progress: ``progress`` if given, else ``QRELAY_PROGRESS`` (``0``/``1``),
    else when someone watches (stderr is a terminal, or a notebook runs this)."""
    if progress is not None:
        return progress
    env = os.environ.get(_ENV, "").strip().lower()
    if env in {"0", "false", "no", "off"}:
        return False
    if env in {"1", "true", "yes", "on"}:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) or in_notebook()


def describe(data: JobData, *, waiting_on: str | None = None) -> str:
    """The job's state in a few words: ``queued, queue position 3``."""
    text = data.status.value
    if data.queue_position is not None:
        text += f", queue position {data.queue_position}"
    if waiting_on:
        text += f", {waiting_on}"
    return text


class JobProgress:
    """A status line for one wait; a context manager that clears it when the wait ends.

    :meth:`update` takes each fresh view of the job (pass it as ``on_update`` to
    :meth:`qrelay.Client` job waits; it runs on the client's event loop, so it makes no
    request). ``note`` is said after the state, for what the wait is on (see
    :func:`unserved`).
    """

    def __init__(self, label: str, *, enabled: bool | None = None, note: str | None = None) -> None:
        self.label = label
        #: Said after the state, such as ``no worker serves 'square_qpu'``.
        self.note = note
        self.enabled = progress_enabled(enabled)
        self._started = time.monotonic()
        self._bar: Any = None
        self._next_log = self._started + _LOG_EVERY
        if self.enabled:
            self._bar = _open_bar(label)

    def update(self, data: JobData) -> None:
        """Show the job's latest state."""
        if not self.enabled:
            return
        text = describe(data, waiting_on=self.note)
        if self._bar is not None:
            self._bar.set_description_str(f"{self.label}: {text}", refresh=True)
            return
        now = time.monotonic()
        if now >= self._next_log:
            logger.warning("%s: %s (%.0f s)", self.label, text, now - self._started)
            self._next_log = now + _LOG_EVERY

    def close(self) -> None:
        """Remove the status line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _open_bar(label: str) -> Any:
    """A ``tqdm`` status line (no total: the elapsed time counts up), or ``None``."""
    try:
        if in_notebook():
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=None,
        desc=label,
        bar_format="{desc} [{elapsed}]",
        delay=SHOW_AFTER,
        leave=False,
        file=sys.stderr,
    )


def unserved(client: Any, target: str) -> str | None:
    """``no worker serves 'name'`` when no live worker serves ``target`` on the service of
    ``client`` (a :class:`qrelay.Client`), else ``None``."""
    from qrelay.payload import TargetStatus

    if client.target(target).status is TargetStatus.OFFLINE:
        return f"no worker serves {target!r}"
    return None
