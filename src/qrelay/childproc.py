"""A program in a child process, spoken to over a framed pipe: the one home of both sides.

The worker runs simulations in a child (:mod:`qrelay.worker.isolation`) and the QPU
controller runs its engine in children (:mod:`qrelay.qpu.runner`), for the same reasons:
a simulator may hold the GIL for a whole run and may crash the process it runs in. Both
use this module.

- The child is its own program (``python -m MODULE ARGS``), not a ``multiprocessing``
  child, so no threads, locks or the user's ``__main__`` are inherited.
- Requests and replies are length-prefixed pickles on the child's stdin and stdout
  (parent and child are the same installed program, on a private pipe). The child's
  stray output goes to stderr, never into the channel.
- A child never outlives its parent: on Linux it asks the kernel for ``SIGKILL`` when
  its parent dies (``PR_SET_PDEATHSIG``), which reaches it even in the middle of a
  native call that holds the GIL; elsewhere it ends when its stdin closes. The kernel
  ties that signal to the *thread* that started the child, so children are started from
  one long-lived thread of this module, never from a thread that may end first.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Final

from qrelay.errors import ChildGoneError

log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct("<Q")
#: The environment variable that tells a child which process is its parent.
PARENT_ENV: Final = "QRELAY_PARENT_PID"
#: Linux's ``prctl`` option that sets the signal sent when the parent dies.
_PR_SET_PDEATHSIG: Final = 1

_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def read_frame(stream: IO[bytes]) -> Any | None:
    """One pickled object, or ``None`` at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 - a private pipe between parent and child


def write_frame(stream: IO[bytes], obj: Any) -> None:
    """Send one object as a length-prefixed pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _spawn_thread() -> ThreadPoolExecutor:
    """The one thread every child is started from (it lives as long as the process)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qrelay-spawn")
        return _spawner


class ChildProcess:
    """One child running ``python -m module *args``, ready once it has said hello.

    ``env`` is the child's environment (default: this process's). Raises
    :class:`ChildGoneError` if the child ends before its hello frame.
    """

    def __init__(
        self, module: str, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None
    ) -> None:
        environment = dict(os.environ if env is None else env)
        environment[PARENT_ENV] = str(os.getpid())
        command = [sys.executable, "-m", module, *args]
        self.module = module
        self.proc: subprocess.Popen[bytes] = (
            _spawn_thread()
            .submit(
                subprocess.Popen,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=environment,
            )
            .result()
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        if read_frame(self.stdout) is None:
            code = self.proc.wait()
            self._close_pipes()
            raise ChildGoneError(f"{module} could not start (exit code {code})")

    @property
    def alive(self) -> bool:
        """Whether the child is still running."""
        return self.proc.poll() is None

    def send(self, request: Any) -> None:
        """Send one request; :class:`ChildGoneError` if the pipe is closed."""
        try:
            write_frame(self.stdin, request)
        except OSError as exc:
            raise ChildGoneError(f"{self.module} is gone ({exc})") from exc

    def receive(
        self, cancelled: Callable[[], bool] | None = None, *, poll_seconds: float = 0.1
    ) -> tuple[bool, Any]:
        """The next reply as ``(True, reply)``, or ``(False, None)`` once ``cancelled()``.

        The wait is on the pipe with the GIL released; ``cancelled`` is asked every
        ``poll_seconds``. A child that ends first raises :class:`ChildGoneError`.
        """
        if cancelled is not None:
            while not select.select([self.stdout], [], [], poll_seconds)[0]:
                if cancelled():
                    return False, None
        reply = read_frame(self.stdout)
        if reply is None:
            code = self.proc.wait()
            raise ChildGoneError(f"{self.module} ended while it ran a request (exit code {code})")
        return True, reply

    def call(self, request: Any) -> Any:
        """Send ``request`` and wait for its reply."""
        self.send(request)
        return self.receive()[1]

    def kill(self) -> None:
        """End the child at once (it holds nothing that needs cleaning up)."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._close_pipes()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to end (its stdin closes); kill it if it has not within ``timeout``."""
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()


# ---------------------------------------------------------------------- the child's side
def _die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux), and check that the
    parent is still the one that started it (it may have died before the request)."""
    if sys.platform.startswith("linux"):
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
                log.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    expected = os.environ.get(PARENT_ENV)
    if expected and expected.isdigit() and os.getppid() != int(expected):
        os._exit(0)  # the parent is already gone


def serve(handle: Callable[[Any], Any], *, on_ready: Callable[[], None] | None = None) -> int:
    """The child's main loop: answer each request with ``handle(request)`` until stdin ends.

    ``handle`` returns the reply to send (it catches its own errors and sends them as
    replies). ``on_ready`` runs before the hello frame (load plugins there).
    """
    _die_with_parent()
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed from here on lands on stderr
    requests = sys.stdin.buffer
    if on_ready is not None:
        on_ready()
    write_frame(channel, ("ready", None))
    while True:
        request = read_frame(requests)
        if request is None:
            return 0
        write_frame(channel, handle(request))
