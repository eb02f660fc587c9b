"""Qiskit's ``Counts`` and ``Result`` for counts made from integers.

``Result.get_counts`` formats every distinct key of every experiment in Python, each time
it is called (hex to binary, padding, a space between registers): for a million shots of
20 random bits that is most of the time a user waits. :class:`CountsResult` answers
``get_counts`` from the integer counts the adapter already holds, with the keys made in
one numpy pass (:func:`qrelay_qiskit.result.counts_from_integers`); the counts are equal
to Qiskit's own, key for key. Experiments without integer counts (more than 64 clbits,
failed ones) go through Qiskit's own ``get_counts``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit import QuantumCircuit
from qiskit.result import Counts, Result


class IntegerKeyedCounts(Counts):  # type: ignore[misc]
    """A ``Counts`` whose binary keys are already formatted, with the integer outcomes
    kept beside them as arrays (``int_outcomes`` and ``hex_outcomes`` answer from those,
    as for a ``Counts`` made from hex keys).

    The mapping is filled once, straight from the keys and counts. ``Counts.__init__``
    is not called: for keys already formatted it would copy the mapping twice and check
    every key's type (a third of the cost of 644,000 keys); the attributes it sets are
    set here to what it gives binary keys without a header (``int_raw`` and ``hex_raw``
    ``None``), then the header's ``creg_sizes`` and ``memory_slots``.
    """

    def __init__(
        self,
        keys: Iterable[str],
        values: npt.NDArray[np.uint64],
        freq: npt.NDArray[np.int64],
        *,
        creg_sizes: list[list[Any]] | None,
        memory_slots: int | None,
        time_taken: float | None = None,
    ) -> None:
        dict.__init__(self, zip(keys, freq.tolist(), strict=True))
        self.int_raw = None
        self.hex_raw = None
        self.creg_sizes = creg_sizes
        self.memory_slots = memory_slots
        self.time_taken = time_taken
        self._values = values
        self._freq = freq

    def int_outcomes(self) -> dict[int, int]:
        """The counts keyed by the integer value of the clbits."""
        return dict(zip(self._values.tolist(), self._freq.tolist(), strict=True))

    def hex_outcomes(self) -> dict[str, int]:
        """The counts keyed by the hexadecimal value of the clbits."""
        return dict(zip(map(hex, self._values.tolist()), self._freq.tolist(), strict=True))


class CountsResult(Result):  # type: ignore[misc]
    """A ``qiskit.result.Result`` whose ``get_counts`` formats from integer counts.

    ``integer_counts[i]`` belongs to ``results[i]``: ``None`` where Qiskit's own
    formatting applies.
    """

    def __init__(self, *args: Any, integer_counts: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._integer_counts = list(integer_counts)

    def get_counts(self, experiment: Any = None) -> Any:
        """The counts of one experiment (or of each, as a list), as Qiskit's."""
        keys: Sequence[Any] = range(len(self.results)) if experiment is None else [experiment]
        out = [self._counts(key) for key in keys]
        return out[0] if len(out) == 1 else out

    def _counts(self, key: Any) -> Any:
        from qrelay_qiskit.result import counts_from_integers

        index = self._index(key)
        counted = None
        if index is not None and index < len(self._integer_counts):
            counted = self._integer_counts[index]
        if counted is None or not getattr(self.results[index], "success", False):
            return super().get_counts(key)  # Qiskit's own, with its errors and warnings
        header = self.results[index].header or {}
        return counts_from_integers(
            counted,
            memory_slots=int(header.get("memory_slots") or 0),
            creg_sizes=header.get("creg_sizes"),
            time_taken=header.get("time_taken"),
        )

    def _index(self, key: Any) -> int | None:
        """The index in ``results`` of one experiment named by index, circuit or name;
        ``None`` when the name is not one experiment's alone (Qiskit's lookup decides)."""
        if isinstance(key, QuantumCircuit):
            key = key.name
        if isinstance(key, int):
            if -len(self.results) <= key < len(self.results):
                return key % len(self.results)
            return None
        named = [
            i
            for i, exp in enumerate(self.results)
            if getattr(exp, "header", None) is not None and exp.header.get("name", "") == key
        ]
        return named[0] if len(named) == 1 else None
