"""Rows and circuits that differ only in their last single-qubit gates share one state.

An estimator measures one circuit in many bases: the circuit, then a layer of bound
rotations that picks each row's basis (and twirl), then measurements; its table repeats
each parameter row once per basis and twirl. Simulated whole, every such row evolves the
same state again. Split instead at the last multi-qubit gate of each qubit, the circuit
is a *prefix* and a *suffix* of single-qubit gates; the engine saves the prefix's state
vector once per distinct row of the prefix's own parameters, remembers it by the
prefix's content and those rows, and gives each row its probabilities by applying its
suffix to that state with numpy. The probabilities are those of the whole circuit, so
the shots drawn from them are exactly the whole circuit's (see
:mod:`qrelay_qiskit.sampling`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: Instructions that neither act on the state nor stop the split.
_PASSIVE = frozenset({"measure", "barrier", "delay"})


@dataclass(frozen=True)
class Split:
    """A measured-last circuit as its prefix (state saved) and its single-qubit suffix."""

    circuit: Any  # the QuantumCircuit split
    kept: list[Any]  # its instructions before the suffix, measurements dropped
    suffix: list[tuple[Any, int]]  # (gate, qubit index) in circuit order
    key: str  # the prefix's content
    parameters: list[Any]  # the prefix's symbols, by name

    def prefix(self) -> Any:
        """The prefix as a circuit (built when its state must be simulated)."""
        prefix = self.circuit.copy_empty_like()
        for instruction in self.kept:
            prefix.append(instruction)
        return prefix


def split(qc: Any) -> Split:
    """``qc`` (measurements last, no control flow) cut before its trailing 1-qubit gates.

    Walking back from the end, a single-qubit gate belongs to the suffix while no
    multi-qubit gate (or other operation) after it touches its qubit: it then commutes
    past everything left of the suffix on other qubits, so prefix then suffix is the
    circuit's unitary.
    """
    index = {bit: i for i, bit in enumerate(qc.qubits)}
    blocked: set[int] = set()
    suffix: list[tuple[Any, int]] = []
    kept: list[Any] = []
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(qc.num_qubits).encode())
    for instruction in reversed(qc.data):
        operation = instruction.operation
        if operation.name in _PASSIVE:
            continue
        qubits = [index[q] for q in instruction.qubits]
        # a gate with a matrix of its own (a composite gate without one stays in the prefix)
        single = len(qubits) == 1 and not instruction.clbits and hasattr(operation, "__array__")
        if single and qubits[0] not in blocked:
            suffix.append((operation, qubits[0]))
            continue
        blocked.update(qubits)
        kept.append(instruction)
        digest.update(f"{operation.name}{[str(p) for p in operation.params]}{qubits};".encode())
    suffix.reverse()
    kept.reverse()
    symbols = {s for i in kept for p in i.operation.params for s in getattr(p, "parameters", ())}
    parameters = sorted(symbols, key=lambda p: p.name)
    return Split(qc, kept, suffix, digest.hexdigest(), parameters)


def distinct_rows(
    parameters: list[Any], binds: list[dict[Any, list[float]]] | None, rows: int
) -> tuple[list[dict[Any, list[float]]] | None, npt.NDArray[np.intp], str]:
    """The prefix's distinct binding rows, the distinct row of each row, and their key.

    Rows that give the prefix's ``parameters`` the same values (an estimator's bases and
    twirls of one parameter row) share one prefix state, so Aer evolves each state once.
    The key holds the parameters' names and the distinct values.
    """
    if not parameters or binds is None:
        return None, np.zeros(rows, dtype=np.intp), ""
    columns = np.column_stack([np.asarray(binds[0][p], dtype=float) for p in parameters])
    unique, inverse = np.unique(columns, axis=0, return_inverse=True)
    digest = hashlib.blake2b(digest_size=16)
    for parameter in parameters:
        digest.update(parameter.name.encode())
    digest.update(unique.tobytes())
    own = [{p: unique[:, j].tolist() for j, p in enumerate(parameters)}]
    return own, inverse.reshape(-1).astype(np.intp), digest.hexdigest()


#: Most qubits whose suffix gates are applied together, as one ``2**k x 2**k`` matrix.
_GROUP = 5

#: A group's fused matrices per row, most significant qubit first (``None``: identity).
_Group = tuple[int, int, list[npt.NDArray[np.complex128] | None]]


def probabilities(
    states: npt.NDArray[np.complex128],
    inverse: npt.NDArray[np.intp],
    suffix: list[tuple[Any, int]],
    binds: list[dict[Any, list[float]]] | None,
    measured: tuple[int, ...],
    *,
    max_amplitudes: int,
) -> npt.NDArray[np.float64]:
    """``(rows, 2**len(measured))``: row ``i``'s state ``states[inverse[i]]`` with the
    suffix applied at its values, and the probabilities of the measured qubits (bit ``j``
    of an outcome is ``measured[j]``, as Aer's ``save_probabilities`` numbers them).

    The suffix is a product of single-qubit unitaries, so each qubit's gates are first
    multiplied into one matrix per row, and the qubits are taken a group at a time (at
    most ``_GROUP``, and at most half the qubits, so a group's matrix is no larger than a
    state) as the Kronecker product of theirs, built once per distinct row: a few batched
    matrix products per row instead of a pass over the state per gate. Rows are taken a
    chunk at a time, at most ``max_amplitudes`` amplitudes each, so many rows over few
    states stay within a bounded working set.
    """
    rows = len(inverse)
    size = states.shape[-1]
    count = size.bit_length() - 1
    fused: dict[int, npt.NDArray[np.complex128]] = {}
    for gate, qubit in suffix:
        matrices = _matrices(gate, binds, rows)
        previous = fused.get(qubit)
        fused[qubit] = matrices if previous is None else np.matmul(matrices, previous)
    width = max(1, min(_GROUP, count // 2))
    groups: list[_Group] = []
    for low in range(0, count, width):
        high = min(low + width, count)
        qubits = range(high - 1, low - 1, -1)
        if any(q in fused for q in qubits):
            groups.append((low, high, [fused.get(q) for q in qubits]))
    step = max(1, max_amplitudes // size)
    return np.concatenate(
        [
            _chunk(states[inverse[start : start + step]], groups, start, measured)
            for start in range(0, rows, step)
        ]
    )


def _products(
    matrices: list[npt.NDArray[np.complex128] | None], start: int, rows: int
) -> npt.NDArray[np.complex128]:
    """``(rows, 2**k, 2**k)``: rows ``start ...`` of a group's Kronecker product, built
    once per distinct row (rows of one basis and twirl share it)."""
    taken = [None if m is None else m[start : start + rows] for m in matrices]
    stacked = np.concatenate([m.reshape(rows, 4) for m in taken if m is not None], axis=1)
    _, first, index = np.unique(
        np.ascontiguousarray(stacked).view(np.float64),
        axis=0,
        return_index=True,
        return_inverse=True,
    )
    distinct = [None if m is None else m[first] for m in taken]
    products: npt.NDArray[np.complex128] = _kron(distinct, len(first))[index.reshape(-1)]
    return products


def _kron(
    matrices: list[npt.NDArray[np.complex128] | None], rows: int
) -> npt.NDArray[np.complex128]:
    """``(rows, 2**k, 2**k)``: per row, the Kronecker product of ``k`` single-qubit
    matrices (most significant qubit first; ``None`` is the identity)."""
    eye = np.broadcast_to(np.eye(2, dtype=complex), (rows, 2, 2))
    product: npt.NDArray[np.complex128] = np.ones((rows, 1, 1), dtype=complex)
    for matrix in matrices:
        factor = eye if matrix is None else matrix
        side = product.shape[1]
        product = (product[:, :, None, :, None] * factor[:, None, :, None, :]).reshape(
            rows, 2 * side, 2 * side
        )
    return product


def _chunk(
    state: npt.NDArray[np.complex128],
    groups: list[_Group],
    start: int,
    measured: tuple[int, ...],
) -> npt.NDArray[np.float64]:
    """The probabilities of rows ``start ...`` (``state``: their prefix states)."""
    rows, size = state.shape
    count = size.bit_length() - 1
    for low, high, matrices in groups:
        # amplitude index = top * 2**high + group * 2**low + bottom: each row's matrix
        # acts on ``group``
        block = _products(matrices, start, rows)
        if low == 0:
            flat = state.reshape(rows, size >> high, 1 << high)
            state = np.matmul(flat, np.swapaxes(block, 1, 2)).reshape(rows, size)
        else:
            deep = state.reshape(rows, size >> high, 1 << (high - low), 1 << low)
            state = np.matmul(block[:, None], deep).reshape(rows, size)
    weights: npt.NDArray[np.float64] = np.abs(state) ** 2
    if measured == tuple(range(count)):  # outcome bit j is qubit j: the state's own order
        return weights
    shaped = weights.reshape((rows,) + (2,) * count)
    unmeasured = tuple(count - q for q in range(count) if q not in measured)
    marginal = shaped.sum(axis=unmeasured) if unmeasured else shaped
    # the remaining axes hold the measured qubits, highest index first; outcome bit j is
    # measured[j], so the axes go in the order measured[-1], ..., measured[0]
    remaining = sorted(measured, reverse=True)
    order = [remaining.index(q) + 1 for q in reversed(measured)]
    return np.transpose(marginal, [0, *order]).reshape(rows, -1)


def _matrices(
    gate: Any, binds: list[dict[Any, list[float]]] | None, rows: int
) -> npt.NDArray[np.complex128]:
    """``(rows, 2, 2)``: the gate's matrix at each row's parameter values (each distinct
    set of values evaluated once)."""
    symbols = sorted(
        {s for p in gate.params for s in getattr(p, "parameters", ())}, key=lambda s: s.name
    )
    if not symbols:
        return np.broadcast_to(np.asarray(gate.to_matrix(), dtype=complex), (rows, 2, 2))
    if binds is None:
        raise ValueError(f"{gate.name}: unbound parameters and no bindings")
    columns = np.column_stack([np.asarray(binds[0][s], dtype=float) for s in symbols])
    unique, inverse = np.unique(columns, axis=0, return_inverse=True)
    found = np.empty((len(unique), 2, 2), dtype=complex)
    for u, point in enumerate(unique):
        assignment = dict(zip(symbols, point.tolist(), strict=True))
        values = []
        for p in gate.params:
            if hasattr(p, "parameters") and p.parameters:
                values.append(float(p.bind({s: assignment[s] for s in p.parameters})))
            else:
                values.append(float(p))
        concrete = gate.copy()
        concrete.params = values
        found[u] = np.asarray(concrete.to_matrix(), dtype=complex)
    matrices: npt.NDArray[np.complex128] = found[inverse.reshape(-1)]
    return matrices
