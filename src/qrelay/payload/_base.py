"""The base model every wire object shares: frozen, strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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

    A model whose check spans its fields (a circuit, a readout) runs it in a "wrap"
    validator that returns an instance of the model as it is: pydantic passes a model
    instance placed in another model through unvalidated, but an "after" validator would
    run the whole check again, once per model the instance is placed in (a job's
    circuits, a result's readouts). A model is checked when it is made from input; an
    instance made unchecked (``model_construct``) is checked by whoever reads it from
    JSON (the service, a worker).
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
