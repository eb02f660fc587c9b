"""The binary frame readouts are stored in: a JSON header, then the raw buffers.

Readouts hold bytes (packed bits, IQ points, turns, histogram counts); in JSON each would
be base64 text a third larger, encoded and decoded on every store and read. The service
stores a job's readouts as one frame (:func:`encode_readouts`) and shapes its answers
from it (:func:`decode_readouts`).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any, Final

from qrelay.errors import PayloadError
from qrelay.payload.readout import Readout, RegisterReadout, RegisterTurns

__all__ = ["decode_readouts", "encode_readouts"]

_FRAME_MAGIC: Final = b"QRRB1\n"


def encode_readouts(readouts: Sequence[Readout]) -> bytes:
    """A binary frame of readouts: a JSON header, then the raw buffers. No base64."""
    header: list[dict[str, Any]] = []
    buffers: list[bytes] = []
    for readout in readouts:
        regs = []
        for reg in readout.registers:
            entry: dict[str, Any] = {"name": reg.name, "width": reg.width, "bits": len(reg.bits)}
            buffers.append(reg.bits)
            if reg.iq is not None:
                entry["iq"] = len(reg.iq)
                buffers.append(reg.iq)
            regs.append(entry)
        item: dict[str, Any] = {
            "successful_shots": readout.successful_shots,
            "registers": regs,
            "memory": readout.memory,
            "execution_duration_us": readout.execution_duration_us,
        }
        if readout.expectation_values is not None:
            item["expectation_values"] = readout.expectation_values
        if readout.turns is not None:
            item["turns"] = [
                {"name": t.name, "width": t.width, "turns": t.turns, "bits": len(t.bits)}
                for t in readout.turns
            ]
            for t in readout.turns:
                buffers += [t.bits, t.counts]
        if readout.outcome_counts is not None:
            item["outcome_counts"] = len(readout.outcome_counts)
            buffers.append(readout.outcome_counts)
        header.append(item)
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([_FRAME_MAGIC, struct.pack("<I", len(head)), head, *buffers])


def decode_readouts(frame: bytes) -> list[Readout]:
    """The readouts of a frame made by :func:`encode_readouts`, as they were.

    They are not checked again: a frame is made only of readouts checked when they were
    made (by the driver, or read from a worker's JSON), and it is read back only to be
    written out as JSON, which its reader checks (see
    :class:`qrelay.payload._base.CheckedModel`). Checking an estimator's 800 histogram
    readouts again took longer than writing their JSON.
    """
    if not frame.startswith(_FRAME_MAGIC):
        raise PayloadError("readout frame: bad magic; not a qrelay readout frame")
    start = len(_FRAME_MAGIC)
    try:
        (head_len,) = struct.unpack_from("<I", frame, start)
        header = json.loads(frame[start + 4 : start + 4 + head_len])
    except (struct.error, ValueError) as exc:
        raise PayloadError(f"readout frame: unreadable header ({exc})") from exc
    buffers = _Buffers(memoryview(frame), start + 4 + head_len)
    readouts = [_readout(item, buffers) for item in header]
    if buffers.pos != len(frame):
        raise PayloadError(f"readout frame: {len(frame) - buffers.pos} trailing byte(s)")
    return readouts


class _Buffers:
    """The frame's raw buffers, handed out in the order the header lists them."""

    def __init__(self, view: memoryview, pos: int) -> None:
        self.view = view
        self.pos = pos

    def take(self, size: int) -> bytes:
        out = bytes(self.view[self.pos : self.pos + size])
        self.pos += size
        return out


def _readout(item: dict[str, Any], buffers: _Buffers) -> Readout:
    """One readout of a frame: its header ``item``, its buffers taken from ``buffers``."""
    regs = []
    for entry in item["registers"]:
        bits = buffers.take(entry["bits"])
        iq = buffers.take(entry["iq"]) if "iq" in entry else None
        regs.append(
            RegisterReadout.model_construct(
                name=entry["name"], width=entry["width"], bits=bits, iq=iq
            )
        )
    turns = None
    if "turns" in item:
        turns = [
            RegisterTurns.model_construct(
                name=entry["name"],
                width=entry["width"],
                turns=entry["turns"],
                bits=buffers.take(entry["bits"]),
                counts=buffers.take(4 * item["successful_shots"]),
            )
            for entry in item["turns"]
        ]
    counts = buffers.take(item["outcome_counts"]) if "outcome_counts" in item else None
    return Readout.model_construct(
        successful_shots=item["successful_shots"],
        registers=regs,
        memory=item["memory"],
        execution_duration_us=item["execution_duration_us"],
        expectation_values=item.get("expectation_values"),
        turns=turns,
        outcome_counts=counts,
    )
