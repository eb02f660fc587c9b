"""Circuits that differ only in their last single-qubit gates share one simulated state.

An estimator measures one circuit in many bases: each basis is a payload circuit of its
own (the circuit, then a layer of ``h``/``sdg`` and twirl rotations, then measurements),
and each runs as a task of its own. Simulated whole, every basis evolves the same state
again. Split instead at the last multi-qubit gate of each qubit, the circuit is a
*prefix* (the same for every basis) and a *suffix* of single-qubit gates; the engine
saves the prefix's state vector per binding row once, remembers it by the prefix's
content and bindings, and gives each basis its probabilities by applying its suffix to
that state with numpy. The probabilities are those of the whole circuit, so the shots
drawn from them are exactly the whole circuit's (see :mod:`qrelay_qiskit.sampling`).
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


def bindings_key(parameters: list[Any], binds: list[dict[Any, list[float]]] | None) -> str:
    """The prefix's binding rows as a key: its parameters' names and values (``parameters``
    in a fixed order, as :attr:`Split.parameters` has them)."""
    if not parameters or binds is None:
        return ""
    digest = hashlib.blake2b(digest_size=16)
    for parameter in parameters:
        digest.update(parameter.name.encode())
        digest.update(np.asarray(binds[0][parameter], dtype=float).tobytes())
    return digest.hexdigest()


def probabilities(
    states: npt.NDArray[np.complex128],
    suffix: list[tuple[Any, int]],
    binds: list[dict[Any, list[float]]] | None,
    rows: int,
    measured: tuple[int, ...],
) -> npt.NDArray[np.float64]:
    """``(rows, 2**len(measured))``: each row's state (one, or one per row) with the
    suffix applied, and the probabilities of the measured qubits (bit ``j`` of an outcome
    is ``measured[j]``, as Aer's ``save_probabilities`` numbers them)."""
    size = states.shape[-1]
    count = size.bit_length() - 1
    state = np.broadcast_to(states, (rows, size))
    for gate, qubit in suffix:
        matrices = _matrices(gate, binds, rows)
        # amplitude index = high * 2**(qubit + 1) + bit * 2**qubit + low: the matrix acts
        # on ``bit``, row by row
        view = state.reshape(rows, size >> (qubit + 1), 2, 1 << qubit)
        state = np.matmul(matrices[:, None], view).reshape(rows, size)
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
    """``(rows, 2, 2)``: the gate's matrix at each row's parameter values."""
    symbols = [p for p in gate.params if hasattr(p, "parameters") and p.parameters]
    if not symbols:
        return np.broadcast_to(np.asarray(gate.to_matrix(), dtype=complex), (rows, 2, 2))
    if binds is None:
        raise ValueError(f"{gate.name}: unbound parameters and no bindings")
    columns = binds[0]
    seen: dict[tuple[float, ...], npt.NDArray[np.complex128]] = {}
    out = np.empty((rows, 2, 2), dtype=complex)
    for row in range(rows):
        values = []
        for p in gate.params:
            if hasattr(p, "parameters") and p.parameters:
                bound = p.bind({s: columns[s][row] for s in p.parameters})
                values.append(float(bound))
            else:
                values.append(float(p))
        key = tuple(values)
        found = seen.get(key)
        if found is None:
            concrete = gate.copy()
            concrete.params = values
            found = seen[key] = np.asarray(concrete.to_matrix(), dtype=complex)
        out[row] = found
    return out
