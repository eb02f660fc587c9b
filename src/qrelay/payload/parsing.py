"""One way in for untrusted payloads: :func:`parse` gives a model or a ``PayloadError``.

pydantic reports a failed validation as its own ``ValidationError`` and wraps the
``PayloadError`` our validators raise inside it. Callers (the service, the runtime, the
worker) should not have to know that: :func:`parse` unwraps our error, prefixes the
location it happened at (``circuits.2: instruction 5 (cx): qubit 7 is out of range ...``),
and turns pydantic's own errors into one message that lists each location.

:func:`validate_json` is ``model_validate_json`` for JSON text that may carry circuits:
the same result and the same errors, without pydantic's intermediate parse tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import pydantic
import pydantic_core

from qrelay.errors import PayloadError

M = TypeVar("M", bound=pydantic.BaseModel)

#: At most this many of pydantic's errors are spelled out in one message.
_MAX_REPORTED: Final = 5

#: The key of the validation context that :func:`validate_json` passes (see
#: :func:`parsed_from_json`).
_PARSED_JSON: Final = "qrelay.parsed_json"
_PARSED_JSON_CONTEXT: Final = {_PARSED_JSON: True}


def parse(model_cls: type[M], data: Mapping[str, Any] | str | bytes | bytearray) -> M:
    """Validate ``data`` (a mapping, or JSON text or bytes) as ``model_cls``.

    Raises :class:`~qrelay.errors.PayloadError` whose message names the location of the
    fault and whose ``location`` holds it as a tuple (``("circuits", 2)``).
    """
    try:
        if isinstance(data, str | bytes | bytearray):
            return validate_json(model_cls, data)
        return model_cls.model_validate(data)
    except pydantic.ValidationError as exc:
        raise payload_error(exc, model_cls.__name__) from exc


def validate_json(model_cls: type[M], data: str | bytes | bytearray) -> M:
    """``model_cls.model_validate_json(data)``: the same model, or the same error, sooner.

    pydantic's JSON mode parses the text into a tree of its own and then makes Python
    objects of what it leaves untyped, such as a circuit's instructions (see
    ``CheckedAfterJsonParse`` in :mod:`qrelay.payload.circuit`). Here the text is parsed
    straight into Python objects (``pydantic_core.from_json``) and those are validated in
    Python mode, with a context that tells the validators they are fresh from JSON
    (:func:`parsed_from_json`), so the circuit's checker still takes the instructions as
    parsed. The 805-instruction circuit of ``benchmarks/convert_bench.py`` is read in
    0.55 ms instead of 0.77 ms (the best of 15 means of 50 reads).

    Python mode words some errors for Python ("a valid list" where JSON has "a valid
    array"), so text that is not a JSON object, or that Python mode refuses, is validated
    again by ``model_validate_json``, whose answer is the one given. On JSON's own types
    the two modes accept the same input alike; ``tests/payload`` holds them to it.
    """
    try:
        parsed = pydantic_core.from_json(data)
    except ValueError:
        parsed = None  # not JSON: pydantic's error names the line and column
    if type(parsed) is dict:
        try:
            return model_cls.model_validate(parsed, context=_PARSED_JSON_CONTEXT)
        except pydantic.ValidationError:
            pass
    return model_cls.model_validate_json(data)


def validate_parsed(model_cls: type[M], parsed: dict[str, Any]) -> M:
    """Validate ``parsed``, a dict fresh from a JSON parse that nobody else holds, as
    ``model_cls`` in Python mode, telling the validators so (see :func:`parsed_from_json`).
    """
    return model_cls.model_validate(parsed, context=_PARSED_JSON_CONTEXT)


def parsed_from_json(info: pydantic.ValidationInfo) -> bool:
    """Whether the value being validated was made by a JSON parse for this validation alone.

    True in pydantic's JSON mode and under :func:`validate_json`. Such values are fresh
    dicts, lists, strings and numbers that nobody else holds, so a validator may keep them
    as they are once it has checked their types.
    """
    if info.mode == "json":
        return True
    context = info.context
    return type(context) is dict and context.get(_PARSED_JSON) is True


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
