"""One way in for untrusted payloads: :func:`parse` gives a model or a ``PayloadError``.

pydantic reports a failed validation as its own ``ValidationError`` and wraps the
``PayloadError`` our validators raise inside it. Callers (the service, the runtime, the
worker) should not have to know that: :func:`parse` unwraps our error, prefixes the
location it happened at (``circuits.2: instruction 5 (cx): qubit 7 is out of range ...``),
and turns pydantic's own errors into one message that lists each location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import pydantic

from qrelay.errors import PayloadError

M = TypeVar("M", bound=pydantic.BaseModel)

#: At most this many of pydantic's errors are spelled out in one message.
_MAX_REPORTED: Final = 5


def parse(model_cls: type[M], data: Mapping[str, Any] | str | bytes | bytearray) -> M:
    """Validate ``data`` (a mapping, or JSON text or bytes) as ``model_cls``.

    Raises :class:`~qrelay.errors.PayloadError` whose message names the location of the
    fault and whose ``location`` holds it as a tuple (``("circuits", 2)``).
    """
    try:
        if isinstance(data, str | bytes | bytearray):
            return model_cls.model_validate_json(data)
        return model_cls.model_validate(data)
    except pydantic.ValidationError as exc:
        raise payload_error(exc, model_cls.__name__) from exc


def payload_error(
    exc: pydantic.ValidationError,
    title: str | None = None,
    *,
    at: tuple[str | int, ...] = (),
) -> PayloadError:
    """The ``PayloadError`` that says what ``exc`` says, naming each location.

    ``at`` is where the validated value sits in a larger object (``("instructions", 4)``
    for an instruction the circuit's checker validates on its own); it heads every
    location.
    """
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors:
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, PayloadError):
            location = at + tuple(error["loc"]) + tuple(inner.location)
            prefix = _dotted(at + tuple(error["loc"]))
            message = f"{prefix}: {inner}" if prefix else str(inner)
            return PayloadError(message, location=location)
    parts = [
        f"{_dotted(at + tuple(error['loc'])) or '(root)'}: {_message(error)}"
        for error in errors[:_MAX_REPORTED]
    ]
    if len(errors) > _MAX_REPORTED:
        parts.append(f"... and {len(errors) - _MAX_REPORTED} more")
    head = f"invalid {title or exc.title}: " if (title or exc.title) else ""
    first = at + tuple(errors[0]["loc"]) if errors else at
    return PayloadError(head + "; ".join(parts), location=first)


def _dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _message(error: Any) -> str:
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")
