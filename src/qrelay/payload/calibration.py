"""Calibration snapshots: what a device measured of itself, versioned and kept.

A :class:`Calibration` is one snapshot of a target's qubits (T1, T2, frequency, readout
error and duration) and gates (error and duration per qubit tuple). Its id is a hash of
that content (:func:`calibration_hash`), so the same measurement posted twice is one
snapshot, and any change makes a new id. The service keeps every snapshot of a target;
the newest is the one its ``TargetInfo`` carries (:func:`apply`), and every result says
which one it ran under.

A job pins a calibration with the job options :data:`PIN_OPTION` and
:data:`POLICY_OPTION` (see :func:`pinned`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import Enum
from typing import Annotated, Final

from pydantic import Field, JsonValue

from qrelay.errors import DeviceError, PayloadError
from qrelay.payload._base import WireModel
from qrelay.payload.jobs import Timestamp
from qrelay.payload.targets import GateProperties, QubitProperties, TargetInfo

#: The most qubits and gate entries one posted snapshot may hold.
MAX_CALIBRATED_QUBITS: Final = 10_000
MAX_CALIBRATED_GATES: Final = 200_000

#: The job option that pins a calibration id.
PIN_OPTION: Final = "calibration_id"
#: The job option that says what a pinned job does when the target has recalibrated.
POLICY_OPTION: Final = "if_recalibrated"

CalibrationId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class RecalibratedPolicy(str, Enum):
    """What a job pinned to a calibration does when the target has another one now."""

    REFUSE = "refuse"
    RUN = "run"


class CalibrationSource(str, Enum):
    """Where a snapshot came from."""

    CATALOG = "catalog"  # the target's catalog entry, when the service first saw it
    DEVICE = "device"  # reported by the device (through the worker that serves it)
    OPERATOR = "operator"  # posted by an admin through the API


class NewCalibration(WireModel):
    """An admin's snapshot for ``POST /v1/targets/{name}/calibrations``.

    The qubits and gates replace the target's; they must fit its qubit count.
    """

    qubits: Annotated[list[QubitProperties], Field(max_length=MAX_CALIBRATED_QUBITS)]
    gates: Annotated[list[GateProperties], Field(max_length=MAX_CALIBRATED_GATES)] = []
    dt_ns: Annotated[float, Field(gt=0)] | None = None


class Calibration(WireModel):
    """One stored snapshot of a target's calibration."""

    calibration_id: str
    target: str
    taken_at: datetime
    source: CalibrationSource
    qubits: list[QubitProperties]
    gates: list[GateProperties]
    dt_ns: float | None = None


class CalibrationQuery(WireModel):
    """Filters of ``GET /v1/targets/{name}/calibrations``: oldest first, by time.

    ``from`` is inclusive and ``to`` exclusive; page with ``limit`` and ``cursor`` (the
    ``next_cursor`` of the previous page).
    """

    after: Annotated[Timestamp | None, Field(alias="from")] = None
    before: Annotated[Timestamp | None, Field(alias="to")] = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[str, Field(max_length=20, pattern=r"^[0-9]+$")] | None = None


class CalibrationPage(WireModel):
    """One page of a target's calibration history, oldest first."""

    calibrations: list[Calibration]
    next_cursor: str | None = None


def calibration_hash(info: TargetInfo) -> str:
    """A short hash of everything calibrated: it changes exactly when calibration does."""
    blob = json.dumps(
        {
            "qubits": [q.model_dump(mode="json") for q in info.qubits],
            "gates": [g.model_dump(mode="json") for g in info.gates],
            "coupling_map": info.coupling_map,
            "dt_ns": info.dt_ns,
            "options": info.options,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def apply(info: TargetInfo, calibration: Calibration) -> TargetInfo:
    """``info`` with the qubits, gates and id of ``calibration``."""
    return info.model_copy(
        update={
            "qubits": calibration.qubits,
            "gates": calibration.gates,
            "dt_ns": calibration.dt_ns if calibration.dt_ns is not None else info.dt_ns,
            "calibration_id": calibration.calibration_id,
        }
    )


def recalibrated(info: TargetInfo, new: NewCalibration) -> TargetInfo:
    """``info`` with ``new``'s qubits and gates and the id they hash to.

    Refuses (naming the entry) a snapshot that does not fit the target: a qubit count
    other than the target's, or a gate on a qubit it does not have.
    """
    if len(new.qubits) != info.num_qubits:
        raise PayloadError(
            f"qubits: {len(new.qubits)} entries, but {info.name} has {info.num_qubits} qubits"
        )
    for index, gate in enumerate(new.gates):
        outside = [q for q in gate.qubits if not 0 <= q < info.num_qubits]
        if outside or not gate.qubits:
            raise PayloadError(
                f"gates[{index}].qubits: {gate.qubits} is not a tuple of {info.name}'s qubits "
                f"0..{info.num_qubits - 1}"
            )
    updated = info.model_copy(
        update={
            "qubits": new.qubits,
            "gates": new.gates,
            "dt_ns": new.dt_ns if new.dt_ns is not None else info.dt_ns,
        }
    )
    return updated.model_copy(update={"calibration_id": calibration_hash(updated)})


def pinned(options: dict[str, JsonValue]) -> tuple[str | None, RecalibratedPolicy]:
    """The calibration id a job's options pin (or ``None``) and what to do if it is stale.

    Raises ``PayloadError`` naming the option for a malformed value.
    """
    pin = options.get(PIN_OPTION)
    policy = options.get(POLICY_OPTION, RecalibratedPolicy.REFUSE.value)
    if pin is not None and (
        not isinstance(pin, str) or not pin or len(pin) > 64 or not pin.isprintable()
    ):
        raise PayloadError(f"options.{PIN_OPTION}: expected a calibration id, got {pin!r}")
    try:
        mode = RecalibratedPolicy(policy)
    except ValueError:
        raise PayloadError(
            f"options.{POLICY_OPTION}: {policy!r} is not one of "
            f"{[p.value for p in RecalibratedPolicy]}"
        ) from None
    return pin, mode


def stale_message(target: str, pin: str, current: str | None) -> str:
    """What a job pinned to ``pin`` is told when ``target`` is at ``current`` now."""
    return (
        f"target {target!r} was recalibrated: the job pins calibration {pin}, the target "
        f"is at {current or 'no calibration'}; submit without the pin, pin the current "
        f"calibration, or set options.{POLICY_OPTION}='run' to run anyway"
    )


def check_pin(options: dict[str, JsonValue], target: str, current: str | None) -> None:
    """Refuse to run a job pinned to another calibration than ``current`` (the one the
    run would use), unless its options say to run anyway (``DeviceError``)."""
    pin, policy = pinned(options)
    if pin is not None and pin != current and policy is RecalibratedPolicy.REFUSE:
        raise DeviceError(stale_message(target, pin, current))


__all__ = [
    "MAX_CALIBRATED_GATES",
    "MAX_CALIBRATED_QUBITS",
    "PIN_OPTION",
    "POLICY_OPTION",
    "Calibration",
    "CalibrationId",
    "CalibrationPage",
    "CalibrationQuery",
    "CalibrationSource",
    "NewCalibration",
    "RecalibratedPolicy",
    "apply",
    "calibration_hash",
    "check_pin",
    "pinned",
    "recalibrated",
    "stale_message",
]
