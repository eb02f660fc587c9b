"""Large request bodies are parsed off the event loop, in a small bounded pool of threads.

Parsing and validating a body of many megabytes takes a long moment of CPU. On the event
loop that moment stalls every other request of the process. Moving it to a thread is not
enough by itself: the interpreter lock passes between threads only while Python code
runs, and a JSON parser written in C or Rust holds it from the first byte to the last;
the cyclic garbage collector, woken again and again by the millions of new objects, holds
it too. So a large body is read here by the standard library's parser with an object hook
(a Python call per JSON object, at which the lock can pass to the loop), and collections
wait while such a parse runs (:class:`_CollectionPause`). Small bodies, the common case,
are parsed in place with :func:`~qrelay.payload.validate_json`, without a thread switch.

The pool is small and bounded, so many large bodies at once wait for a thread instead of
taking all of them.
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from qrelay.payload import validate_json
from qrelay.payload.parsing import validate_parsed
from qrelay.service.problems import pydantic_errors
from qrelay.service.threads import ThreadPool

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

#: A ``\\uD800``-``\\uDFFF`` escape: the standard parser lets a lone surrogate through,
#: pydantic's refuses it, so a body with any is read by pydantic's parser.
_SURROGATE: Final = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class _CollectionPause:
    """Keeps the cyclic garbage collector off while at least one large parse runs.

    A parse allocates objects by the million and holds them all, so each collection it
    triggers finds nothing to free and only holds the interpreter lock. Garbage made by
    other requests meanwhile is collected when the last parse ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._running == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._running += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0 and self._resume:
                gc.enable()


_PAUSE: Final = _CollectionPause()


def _fresh(obj: dict[str, Any]) -> dict[str, Any]:
    """The parser's object hook: returns the object as it is (a turn for other threads)."""
    return obj


def validate_large(model: type[_M], body: bytes) -> _M:
    """``body`` validated as ``model``, for a thread: the result of :func:`validate_json`.

    A body that is not UTF-8 JSON text of an object is handed to :func:`validate_json`,
    whose error names the line and column; a refusal of the fields words its errors as
    pydantic's Python mode does ("a valid list" where the JSON mode says "array").
    """
    with _PAUSE:
        if _SURROGATE.search(body):
            return validate_json(model, body)
        try:
            parsed = json.loads(body.decode("utf-8"), object_hook=_fresh)
        except (ValueError, RecursionError):  # decoding, syntax, nesting too deep
            return validate_json(model, body)
        if type(parsed) is not dict:
            return validate_json(model, body)
        return validate_parsed(model, parsed)


class BodyParser:
    """Runs the parse of a body in place when it is small, else in the bounded pool."""

    def __init__(self, threshold: int, threads: int) -> None:
        self.threshold = threshold
        self._pool = ThreadPool(threads, "qrelay-parse")

    def large(self, size: int) -> bool:
        """Whether a body of ``size`` bytes is parsed in the pool."""
        return size >= self.threshold

    async def call(self, fn: Callable[..., _T], /, *args: Any) -> _T:
        """``fn(*args)`` in the pool: for other work on a large body (an ``Offload``)."""
        return await self._pool.call(fn, *args)

    async def validate(self, model: type[_M], body: bytes) -> _M:
        """``body`` validated as ``model``; a refusal is a 422 naming the field."""
        try:
            if not self.large(len(body)):
                return validate_json(model, body)
            return await self.call(validate_large, model, body)
        except PydanticValidationError as exc:
            raise pydantic_errors(exc) from None

    async def validate_json_mode(self, model: type[_M], body: bytes) -> _M:
        """``model.model_validate_json(body)``, in the pool for a large body (for models
        whose JSON form differs from their Python form, such as base64 bytes)."""
        try:
            if not self.large(len(body)):
                return model.model_validate_json(body)
            return await self.call(_json_mode, model, body)
        except PydanticValidationError as exc:
            raise pydantic_errors(exc) from None

    async def release(self, parts: list[list[Any]]) -> None:
        """Empty ``parts`` (the big lists of a large body's model, used up) in the pool, a
        slice at a time: freeing millions of objects at once would hold the lock as long
        as parsing them did."""
        await self.call(_empty, parts)

    def close(self) -> None:
        """Stop the pool's threads (after the parses under way)."""
        self._pool.close()


def _json_mode(model: type[_M], body: bytes) -> _M:
    with _PAUSE:
        return model.model_validate_json(body)


def _empty(parts: list[list[Any]]) -> None:
    with _PAUSE:
        for part in parts:
            while part:
                del part[-_RELEASE_SLICE:]


#: Items freed between two turns for other threads in :meth:`BodyParser.release`.
_RELEASE_SLICE: Final = 2000
