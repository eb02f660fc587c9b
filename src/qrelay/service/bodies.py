"""Large request bodies are parsed off the event loop, in a small bounded pool of threads.

Parsing and validating a body of many megabytes takes a long moment of CPU. On the event
loop that moment stalls every other request of the process; in a thread the loop keeps
its turns (the parse gives the interpreter lock up between Python steps). The pool is
small and bounded, so many large bodies at once wait for a thread instead of taking all
of them, and small bodies, the common case, are parsed in place without a thread switch.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from qrelay.payload import validate_json
from qrelay.service.problems import pydantic_errors

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)


class BodyParser:
    """Runs the parse of a body in place when it is small, else in the bounded pool."""

    def __init__(self, threshold: int, threads: int) -> None:
        self.threshold = threshold
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    def large(self, size: int) -> bool:
        """Whether a body of ``size`` bytes is parsed in the pool."""
        return size >= self.threshold

    async def run(self, size: int, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` for a body of ``size`` bytes: in place, or in the pool."""
        if not self.large(size):
            return fn(*args)
        return await self.call(fn, *args)

    async def call(self, fn: Callable[..., _T], /, *args: Any) -> _T:
        """``fn(*args)`` in the pool: for other work on a large body (an ``Offload``)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="qrelay-parse")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def validate(self, model: type[_M], body: bytes) -> _M:
        """``body`` validated as ``model``; a refusal is a 422 naming the field."""
        try:
            return await self.run(len(body), validate_json, model, body)
        except PydanticValidationError as exc:
            raise pydantic_errors(exc) from None

    def close(self) -> None:
        """Stop the pool's threads (after the parses under way)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
