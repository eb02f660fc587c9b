"""Size and character bounds of the free-form fields of the wire: metadata, tags, names.

Circuits are bounded by :mod:`qrelay.payload.circuit`; these bounds cover what a user may
store along with a job, or name a thing with, and what a listing later sends back. They
are part of the wire format, so a client refuses an oversized job before sending it.

Text that is stored and searched (tags, names, filters) holds no control characters:
``U+0000`` cannot be stored by PostgreSQL at all, and the others would make a tag or a
name that prints as something else.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

import pydantic_core
from pydantic import AfterValidator, Field, JsonValue

from qrelay.errors import PayloadError

#: The largest serialised ``metadata`` of a job, in bytes (compact JSON, UTF-8). The
#: Qiskit adapter keeps one small entry per circuit there, so it must hold one for each of
#: ``MAX_CIRCUITS`` circuits with room to spare.
MAX_METADATA_BYTES: Final = 256 * 1024
#: The most tags on one job, and the longest tag, in characters.
MAX_TAGS: Final = 50
MAX_TAG_LENGTH: Final = 100
#: The longest name of a user, a worker or a circuit, in characters.
MAX_NAME_LENGTH: Final = 200
#: The longest parameter (symbol) name of a circuit, in characters.
MAX_SYMBOL_LENGTH: Final = 256

#: The largest balance an administrator may set, in units of ``price_per_shot``: the
#: service keeps money as 64-bit micro-units, which hold about 9.2e12 units.
MAX_BALANCE: Final = 10**12

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: str) -> str:
    """``value`` unchanged, or a ``PayloadError`` if it holds a control character."""
    found = _CONTROL.search(value)
    if found is not None:
        raise PayloadError(
            f"holds the control character U+{ord(found.group()):04X} at position "
            f"{found.start()}; control characters are not allowed"
        )
    return value


def metadata_within_bound(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``value`` unchanged, or a ``PayloadError`` if its JSON exceeds the metadata bound."""
    size = len(pydantic_core.to_json(value))
    if size > MAX_METADATA_BYTES:
        raise PayloadError(
            f"{size} bytes serialised exceed the limit of {MAX_METADATA_BYTES} bytes"
        )
    return value


#: A job tag: 1 to ``MAX_TAG_LENGTH`` characters, none of them a control character.
Tag = Annotated[str, Field(min_length=1, max_length=MAX_TAG_LENGTH), AfterValidator(printable)]
#: The tags of one job.
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]
#: A name: 1 to ``MAX_NAME_LENGTH`` characters, none of them a control character.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(printable)]
#: Text without control characters (bound its length where it is used).
Printable = Annotated[str, AfterValidator(printable)]
#: A job's ``metadata``: any JSON object of at most ``MAX_METADATA_BYTES`` serialised.
Metadata = Annotated[dict[str, JsonValue], AfterValidator(metadata_within_bound)]
