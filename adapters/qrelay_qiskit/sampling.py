"""Ideal circuits whose measurements all come last: sample the final state's distribution.

When nothing acts on a qubit after it is measured (no gate, reset or condition), every
shot of an ideal simulation samples the same final state, so the shots are draws from
one distribution: the probabilities of the measured qubits' outcomes. The engine then
asks Aer for those probabilities once (``save_probabilities``) and draws the shots with
numpy's multinomial, instead of having Aer record each shot. Aer samples such circuits
from the final state too, but its per-shot bookkeeping (a classical register update and
a hex string per shot) costs several times what the probabilities and the draw cost, for
a small circuit and for a long sweep alike (figures: "Design measurements" in
``docs/performance.md``).

The draw is exactly the multinomial of the shots: the counts have Aer's distribution,
and :func:`qrelay_qiskit.shots.shots_from_outcomes` orders the shots at random as the
counts path does.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from qrelay.payload import OPS, Circuit, OpKind

#: Most measured qubits sampled this way: the probabilities of ``2**n`` outcomes come
#: back from Aer per row, which past this outgrows recording the shots.
MAX_MEASURED: Final = 12
#: Most probabilities (rows x outcomes) one run may bring back (32 MiB of doubles).
MAX_PROBABILITIES: Final = 1 << 22
#: Past :data:`MAX_MEASURED`, the distribution is still worth bringing back when there
#: are at least ``2**n / SHOTS_PER_OUTCOME`` shots a row: a shot Aer records costs about
#: 30 times an outcome's probability and draw (a million shots of 20 random bits: about
#: 10 s of Aer's run against 0.3 s for the probabilities and the draw, on a loaded
#: two-core machine), so this keeps a wide margin.
SHOTS_PER_OUTCOME: Final = 8
#: Clbit values are held as 64-bit integers.
_MAX_CLBITS: Final = 63

_TRANSPARENT: Final = frozenset(
    name for name, spec in OPS.items() if spec.kind in (OpKind.BARRIER, OpKind.DELAY)
)
_UNITARY_KINDS: Final = (OpKind.GATE, OpKind.UNITARY)


@dataclass(frozen=True, slots=True)
class FinalMeasurements:
    """The measurements of a circuit that measures last.

    ``qubits`` are the measured qubits in the order the outcome index reads them (bit
    ``j`` of an outcome is ``qubits[j]``, as Aer's ``save_probabilities`` numbers them);
    ``clbits`` pairs each written clbit with the position in ``qubits`` of the qubit it
    holds (the last measurement into a clbit wins, as in a run).
    """

    qubits: tuple[int, ...]
    clbits: tuple[tuple[int, int], ...]

    def outcome_values(self) -> npt.NDArray[np.uint64]:
        """The clbit value (bit ``c`` = clbit ``c``) of each outcome index (read-only).

        A layout of at most :data:`MAX_MEASURED` qubits is computed once per process: a
        job of many small circuits asks for the same few layouts again and again (100
        three-qubit circuits spent 0.9 ms of their job building them)."""
        compute = _layout_values if len(self.qubits) <= MAX_MEASURED else _outcome_values
        return compute(len(self.qubits), self.clbits)

    def fits(self, rows: int, shots: int = 0) -> bool:
        """Whether ``rows`` probability vectors of this size are worth bringing back for
        ``shots`` shots a row: few measured qubits, or many shots for their outcomes."""
        n = len(self.qubits)
        if rows << n > MAX_PROBABILITIES:
            return False
        return n <= MAX_MEASURED or shots * SHOTS_PER_OUTCOME >= 1 << n


def _outcome_values(width: int, clbits: tuple[tuple[int, int], ...]) -> npt.NDArray[np.uint64]:
    """See :meth:`FinalMeasurements.outcome_values` (a function of the layout only)."""
    outcomes = np.arange(1 << width, dtype=np.uint64)
    values = np.zeros_like(outcomes)
    for clbit, position in clbits:
        values |= ((outcomes >> np.uint64(position)) & np.uint64(1)) << np.uint64(clbit)
    values.flags.writeable = False
    return values


#: :func:`_outcome_values` kept per layout (of at most :data:`MAX_MEASURED` qubits: 32 KiB
#: each at most).
_layout_values = functools.lru_cache(maxsize=256)(_outcome_values)


def final_measurements(circuit: Circuit) -> FinalMeasurements | None:
    """The measurements of ``circuit`` if they come last, else ``None``.

    ``None`` also when there is nothing to sample (no measurement) or the clbits do not
    fit a 64-bit value; such circuits keep Aer's shot-by-shot run.
    """
    if circuit.num_clbits > _MAX_CLBITS:
        return None
    positions: dict[int, int] = {}
    holds: dict[int, int] = {}
    for inst in circuit.instructions:
        op = inst["op"]
        if op == "measure":
            qubit = inst["qubits"][0]
            position = positions.setdefault(qubit, len(positions))
            holds[inst["clbits"][0]] = position
        elif op in _TRANSPARENT:
            continue
        elif OPS[op].kind in _UNITARY_KINDS:
            if positions and not positions.keys().isdisjoint(inst["qubits"]):
                return None  # a gate after a measurement of its qubit
        else:
            return None  # reset, if: the shots differ in more than their draw
    if not positions:
        return None
    return FinalMeasurements(tuple(positions), tuple(sorted(holds.items())))


#: Cells (rows x outcomes) drawn per block of :func:`draw`: a block is one multinomial
#: call with a generator of its own, so a large draw spreads over threads.
_BLOCK_CELLS: Final = 1 << 16


def draw(
    probabilities: npt.NDArray[np.float64],
    shots: int,
    rng: np.random.Generator,
    *,
    max_threads: int | None = None,
) -> npt.NDArray[np.int64]:
    """``(rows, outcomes)`` counts: ``shots`` shots drawn per row of ``probabilities``.

    A draw of at most :data:`_BLOCK_CELLS` cells is one multinomial with ``rng``. A larger
    one (an estimator's bases over its parameter rows: 800 rows of 1,024 outcomes cost
    about 35 ms in one thread) is split into blocks of rows of that size, each drawn with
    a generator spawned from ``rng``, on up to ``max_threads`` threads (numpy releases the
    GIL while it draws). The blocks depend only on the shape, never on the thread count,
    so a seeded draw gives the same counts on any machine.
    """
    rows, outcomes = probabilities.shape
    per_block = max(1, _BLOCK_CELLS // outcomes)
    if rows <= per_block:
        counts: npt.NDArray[np.int64] = rng.multinomial(shots, probabilities)
        return counts
    starts = range(0, rows, per_block)
    generators = rng.spawn(len(starts))
    blocks = [
        (generator, probabilities[start : start + per_block])
        for generator, start in zip(generators, starts, strict=True)
    ]
    threads = min(len(blocks), max_threads or os.cpu_count() or 1)
    if threads <= 1:
        return np.concatenate([g.multinomial(shots, p) for g, p in blocks])
    with ThreadPoolExecutor(threads, thread_name_prefix="qrelay-draw") as pool:
        drawn = list(pool.map(lambda block: block[0].multinomial(shots, block[1]), blocks))
    return np.concatenate(drawn)
