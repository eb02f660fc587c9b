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
