"""Sampling terminal-measurement circuits from their final states, all sweep points at once.

A simulator's ``run_sweep`` resolves, translates and simulates the circuit once per
binding row; for a small circuit that per-point bookkeeping costs far more than the
simulation. When every measurement is terminal (no gate touches a qubit after it is
measured, no ``reset``, no ``if``) and there is no noise, the shots of a point are
independent draws from the final state's ``|amplitude|^2``. So this module evolves the
states of all binding rows together with numpy (one batched matrix product per
instruction), draws every point's shots with one ``searchsorted``, and writes the measured
qubits' bits straight into the payload registers.

Gate matrices come from Cirq through :func:`~qrelay_cirq.convert.instruction_unitaries`
(so they follow exactly the converter's conventions); the parametrized gates that sweeps
use most have vectorized closed forms, checked against Cirq in the tests. Global phases
are dropped: they do not change a distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import numpy as np

from qrelay.payload import Bindings, Circuit, Instruction
from qrelay.payload import expressions as pexpr
from qrelay.payload.ops import OPS, OpKind

#: Largest circuit sampled here. Beyond it the simulation itself, not the per-point
#: bookkeeping, dominates, and qsim's fused multi-threaded kernels win (numpy is ahead up
#: to 12 qubits, even at 14, behind at 16: "Design measurements" in
#: ``docs/performance.md``).
MAX_QUBITS: Final = 13
#: Amplitudes held at once (points x 2^n) while evolving a chunk of binding rows.
_CHUNK_AMPLITUDES: Final = 1 << 18

Matrices = np.ndarray[Any, np.dtype[np.complex128]]
Floats = np.ndarray[Any, np.dtype[np.float64]]
#: States evolve in single precision, as qsim's do: ample for sampling, half the traffic.
States = np.ndarray[Any, np.dtype[np.complex64]]


def is_terminal(circuit: Circuit) -> bool:
    """True when all measurements are terminal and nothing is classical or non-unitary.

    Only gates, ``unitary``, ``barrier``, ``delay`` and ``measure`` may appear, and after a
    qubit's first measurement only ``measure``, ``barrier`` and ``delay`` may touch it.
    """
    if circuit.num_qubits > MAX_QUBITS:
        return False
    measured: set[int] = set()
    for inst in circuit.instructions:
        op = inst["op"]
        if op == "measure":
            measured.add(inst["qubits"][0])
            continue
        if op in ("barrier", "delay"):
            continue
        spec = OPS.get(op)
        if spec is None or spec.kind not in (OpKind.GATE, OpKind.UNITARY):
            return False
        if measured.intersection(inst["qubits"]):
            return False
    return True


# ------------------------------------------------------------------ gate matrices
# Each takes per-point parameter arrays (shape (P,)) and returns (P, d, d), the
# instruction's first qubit most significant (Cirq's order over the instruction's qubits).


def _stack(rows: Sequence[Sequence[Any]], size: int) -> Matrices:
    out = np.empty((size, len(rows), len(rows)), dtype=np.complex128)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            out[:, i, j] = value
    return out


def _rx(p: Sequence[Floats]) -> Matrices:
    c, s = np.cos(p[0] / 2), -1j * np.sin(p[0] / 2)
    return _stack([[c, s], [s, c]], len(p[0]))


def _ry(p: Sequence[Floats]) -> Matrices:
    c, s = np.cos(p[0] / 2), np.sin(p[0] / 2)
    return _stack([[c, -s], [s, c]], len(p[0]))


def _rz(p: Sequence[Floats]) -> Matrices:
    e = np.exp(0.5j * p[0])
    return _stack([[1 / e, 0], [0, e]], len(p[0]))


def _phase(p: Sequence[Floats]) -> Matrices:
    return _stack([[1, 0], [0, np.exp(1j * p[0])]], len(p[0]))


def _u(p: Sequence[Floats]) -> Matrices:
    theta, phi, lam = p
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return _stack(
        [[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]],
        len(theta),
    )


def _r(p: Sequence[Floats]) -> Matrices:
    theta, phi = p
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return _stack([[c, -1j * np.exp(-1j * phi) * s], [-1j * np.exp(1j * phi) * s, c]], len(theta))


def _controlled(
    single: Callable[[Sequence[Floats]], Matrices],
) -> Callable[[Sequence[Floats]], Matrices]:
    def build(p: Sequence[Floats]) -> Matrices:
        out = np.zeros((len(p[0]), 4, 4), dtype=np.complex128)
        out[:, 0, 0] = out[:, 1, 1] = 1
        out[:, 2:, 2:] = single(p)
        return out

    return build


def _rxx(p: Sequence[Floats]) -> Matrices:
    c, s = np.cos(p[0] / 2), -1j * np.sin(p[0] / 2)
    return _stack([[c, 0, 0, s], [0, c, s, 0], [0, s, c, 0], [s, 0, 0, c]], len(p[0]))


def _ryy(p: Sequence[Floats]) -> Matrices:
    c, s = np.cos(p[0] / 2), -1j * np.sin(p[0] / 2)
    return _stack([[c, 0, 0, -s], [0, c, s, 0], [0, s, c, 0], [-s, 0, 0, c]], len(p[0]))


def _rzz(p: Sequence[Floats]) -> Matrices:
    e = np.exp(0.5j * p[0])
    return _stack([[1 / e, 0, 0, 0], [0, e, 0, 0], [0, 0, e, 0], [0, 0, 0, 1 / e]], len(p[0]))


#: Vectorized matrices of parametrized gates; other parametrized gates ask Cirq per point.
CLOSED_FORMS: Final[dict[str, Callable[[Sequence[Floats]], Matrices]]] = {
    "rx": _rx,
    "ry": _ry,
    "rz": _rz,
    "p": _phase,
    "u": _u,
    "r": _r,
    "cp": _controlled(_phase),
    "crx": _controlled(_rx),
    "cry": _controlled(_ry),
    "crz": _controlled(_rz),
    "rxx": _rxx,
    "ryy": _ryy,
    "rzz": _rzz,
}


# ------------------------------------------------------------------ evolution


class _Columns:
    """Per-point values of the circuit's parameter expressions, evaluated once each."""

    def __init__(self, bindings: Bindings | None) -> None:
        self.bindings = bindings
        self.size = 1 if bindings is None else len(bindings)
        self.table: Floats | None = None
        self.index: dict[str, int] = {}
        self.rows: list[dict[str, float]] | None = None
        if bindings is not None:
            self.table = np.asarray(bindings.values, dtype=np.float64).reshape(
                len(bindings), len(bindings.names)
            )
            self.index = {name: j for j, name in enumerate(bindings.names)}

    def values(self, expr: pexpr.Expr) -> Floats:
        if isinstance(expr, int | float) and not isinstance(expr, bool):
            return np.full(self.size, float(expr))
        if isinstance(expr, str) and self.table is not None and expr in self.index:
            return self.table[:, self.index[expr]]
        if self.rows is None:
            self.rows = [{}] if self.bindings is None else list(self.bindings.rows())
        return np.array([pexpr.evaluate(expr, row) for row in self.rows], dtype=np.float64)

    def row_dicts(self) -> list[dict[str, float] | None]:
        if self.bindings is None:
            return [None]
        if self.rows is None:
            self.rows = list(self.bindings.rows())
        return list(self.rows)


def _gate_matrices(circuit: Circuit, inst: Instruction, columns: _Columns) -> Matrices:
    """The instruction's matrix, shape (d, d) when shared by all points, else (P, d, d)."""
    from qrelay_cirq.convert import instruction_unitaries

    params = inst.get("params", ())
    if all(pexpr.is_numeric(p) for p in params):
        shared: Matrices = instruction_unitaries(circuit, inst)[0]
        return shared
    closed = CLOSED_FORMS.get(inst["op"])
    if closed is not None:
        return closed([columns.values(p) for p in params])
    return instruction_unitaries(circuit, inst, columns.row_dicts())


def _apply(state: States, matrix: States, qubits: Sequence[int], n: int) -> States:
    """``state`` (2, ..., 2, P) with ``matrix`` on ``qubits`` (payload indices).

    Works on views of the state's 2^k blocks (no transposed copies; the points axis last
    keeps each block's rows contiguous) and skips the zero entries of the matrix, so a
    CNOT is two copies and a rotation four multiply-adds.
    """
    k = len(qubits)
    d = 1 << k
    shared = matrix.ndim == 2
    blocks = []
    for i in range(d):
        index: list[Any] = [slice(None)] * (n + 1)
        for t, q in enumerate(qubits):
            index[q] = (i >> (k - 1 - t)) & 1
        blocks.append(tuple(index))
    views = [state[b] for b in blocks]
    nonzero = np.abs(matrix) > 0 if shared else np.any(np.abs(matrix) > 0, axis=0)
    out = np.empty_like(state)
    for i in range(d):
        target = out[blocks[i]]
        first = True
        for j in range(d):
            if not nonzero[i, j]:
                continue
            m = matrix[i, j] if shared else matrix[:, i, j]
            if first:
                np.multiply(views[j], m, out=target)
                first = False
            else:
                target += views[j] * m
        if first:
            target[...] = 0
    return out


def probability_chunks(circuit: Circuit, bindings: Bindings | None) -> Iterator[Floats]:
    """Consecutive blocks of binding rows' basis-state probabilities, (rows, 2^n) each.

    Qubit 0 is the most significant bit of a basis-state index. Rows are evolved and
    yielded a block at a time so memory stays bounded however long the sweep.
    """
    n = circuit.num_qubits
    columns = _Columns(bindings)
    points = columns.size
    gates: list[tuple[States, list[int]]] = []
    for inst in circuit.instructions:
        if inst["op"] in ("measure", "barrier", "delay", "id"):
            continue
        matrix = _gate_matrices(circuit, inst, columns).astype(np.complex64)
        gates.append((matrix, list(inst["qubits"])))
    chunk = max(1, _CHUNK_AMPLITUDES >> n)
    for start in range(0, points, chunk):
        stop = min(points, start + chunk)
        state = np.zeros((2,) * n + (stop - start,), dtype=np.complex64)
        state[(0,) * n] = 1.0
        for matrix, qubits in gates:
            part = matrix if matrix.ndim == 2 else matrix[start:stop]
            state = _apply(state, part, qubits, n)
        amplitudes = state.reshape(-1, stop - start).T
        probs: Floats = (amplitudes.real**2 + amplitudes.imag**2).astype(np.float64)
        yield probs


def final_probabilities(circuit: Circuit, bindings: Bindings | None) -> Floats:
    """Per binding row, the probabilities of the 2^n basis states (all rows at once)."""
    return np.concatenate(list(probability_chunks(circuit, bindings)))


def sample_indices(
    probs: Floats, shots: int, rng: np.random.Generator
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Per row of ``probs`` (P, 2^n), ``shots`` basis-state indices drawn from it."""
    points, size = probs.shape
    cumulative = np.cumsum(probs, axis=1)
    cumulative /= cumulative[:, -1:]
    offsets = np.arange(points, dtype=np.float64)[:, None]
    draws = rng.random((points, shots)) + offsets
    found = np.searchsorted((cumulative + offsets).ravel(), draws.ravel(), side="right")
    found = found.reshape(points, shots) - np.arange(points)[:, None] * size
    # a draw landing exactly on a row's end (or past it by rounding) is that row's last state
    result: np.ndarray[Any, np.dtype[np.int64]] = np.clip(found, 0, size - 1)
    return result


def register_bits(
    circuit: Circuit, indices: np.ndarray[Any, np.dtype[np.int64]]
) -> dict[str, np.ndarray[Any, np.dtype[np.uint8]]]:
    """Per payload register, shots x width raw bits of sampled basis states ``indices``.

    Measurements are written in program order (a bit written twice keeps its last value);
    unmeasured bits are 0 -- as :func:`qrelay_cirq.convert.register_arrays` does.
    """
    n = circuit.num_qubits
    shots = len(indices)
    arrays = {reg.name: np.zeros((shots, reg.size), dtype=np.uint8) for reg in circuit.registers}
    table = [(reg.name, j) for reg in circuit.registers for j in range(reg.size)]
    for inst in circuit.instructions:
        if inst["op"] != "measure":
            continue
        register, bit = table[inst["clbits"][0]]
        arrays[register][:, bit] = (indices >> (n - 1 - inst["qubits"][0])) & 1
    return arrays
