"""Decoding helpers agree with the payload's reference counting, in every register order."""

from __future__ import annotations

import numpy as np

from qrelay.payload import Readout
from qrelay.runtime import decode


def _readout(seed: int = 3) -> Readout:
    rng = np.random.default_rng(seed)
    return Readout.from_arrays(
        {
            "a": rng.random((2000, 3)) < 0.5,
            "b": rng.random((2000, 9)) < 0.3,
            "m": rng.random((2000, 1)) < 0.5,
        }
    )


def test_counts_match_payload_counts() -> None:
    readout = _readout()
    assert decode.counts(readout) == readout.counts()
    assert sum(decode.counts(readout).values()) == 2000


def test_counts_by_hand() -> None:
    bits = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 1]], dtype=np.uint8)  # bit 0 first
    readout = Readout.from_arrays({"c": bits, "d": np.array([[1], [0], [1]])})
    assert decode.counts(readout) == {"001 1": 1, "001 0": 1, "110 1": 1}
    assert decode.counts(readout, ["d", "c"], sep="") == {"1001": 1, "0001": 1, "1110": 1}
    assert decode.int_counts(readout, ["c"]) == {1: 2, 6: 1}
    assert decode.bitstrings(readout) == ["001 1", "001 0", "110 1"]


def test_bitstrings_agree_with_counts() -> None:
    readout = _readout(5)
    strings = decode.bitstrings(readout)
    assert len(strings) == 2000
    tally: dict[str, int] = {}
    for s in strings:
        tally[s] = tally.get(s, 0) + 1
    assert tally == decode.counts(readout)


def test_wide_registers_use_unique_path() -> None:
    rng = np.random.default_rng(1)
    readout = Readout.from_arrays({"w": rng.random((500, 40)) < 0.5})
    assert decode.counts(readout) == readout.counts()


def test_merge_counts() -> None:
    assert decode.merge_counts([{"0": 2, "1": 1}, {"1": 3}]) == {"0": 2, "1": 4}


def test_one_bitstring_format_for_every_separator() -> None:
    """Every separator, one or several characters, gives the same fields in the same order."""
    from qrelay.payload.readout import bitstrings

    readout = _readout(7)
    joint = readout.joint_values()
    widths = [3, 9, 1]
    spaced = bitstrings(joint, widths)
    for sep in ("", "-", " | "):
        assert bitstrings(joint, widths, sep=sep) == [s.replace(" ", sep) for s in spaced]
    assert decode.counts(readout, sep=" | ") == {
        k.replace(" ", " | "): v for k, v in readout.counts().items()
    }


def test_joint_values_are_the_counted_values() -> None:
    """The per-shot joint values histogram to exactly what ``value_counts`` reports."""
    readout = _readout(11)
    values, hits = readout.value_counts(["m", "a"])
    uniq, freq = np.unique(readout.joint_values(["m", "a"]), return_counts=True)
    assert uniq.tolist() == values.tolist()
    assert freq.tolist() == hits.tolist()
