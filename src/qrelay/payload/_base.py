"""The base model every wire object shares: frozen, strict about unknown fields."""

from __future__ import annotations

from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationInfo,
    model_validator,
)

#: The version of the wire format. A change to any model is a change to this package
#: and to a golden file in ``tests/golden/payload``, on purpose.
PAYLOAD_VERSION = "payload.v1"
#: payload.v2 adds loops, ``switch``, classical expressions and typed classical variables
#: (:mod:`qrelay.payload.control`). A job says the oldest version that reads it, so jobs
#: without those stay payload.v1 and readers that know only payload.v1 keep reading them.
PAYLOAD_V2 = "payload.v2"
#: Every version this reader knows, oldest first.
PAYLOAD_VERSIONS = (PAYLOAD_VERSION, PAYLOAD_V2)


class WireModel(BaseModel):
    """A frozen pydantic model that refuses unknown fields.

    Refusing unknown fields turns a typo (``shot=100``) into an error that names the field
    instead of a silently ignored option. NaN and infinities are refused in every float
    field; the circuit and the bindings table check their numbers themselves, with
    messages that name the instruction or the row.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        populate_by_name=True,
        use_enum_values=False,
        ser_json_inf_nan="strings",
        defer_build=True,
    )


class CheckedModel(WireModel):
    """A wire model with a check across its fields (:meth:`_check`), run once: when the
    model is made from input.

    Pydantic passes a model instance placed in another model through unvalidated, but an
    "after" validator would run the whole check again, once per model the instance is
    placed in (a job's circuits, a result's readouts). The check runs in a "wrap"
    validator instead, which returns an instance as it is. An instance made unchecked
    (``model_construct``) is checked by whoever reads it from JSON (the service, a
    worker).
    """

    @model_validator(mode="wrap")
    @classmethod
    def _checked_once(
        cls, value: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        if isinstance(value, cls):
            return value  # checked when it was made
        return handler(value)._check(info)

    def _check(self, info: ValidationInfo) -> Self:
        """The model itself, checked across its fields (raises ``PayloadError`` naming
        the field); ``info`` says whether it was read from JSON."""
        return self
