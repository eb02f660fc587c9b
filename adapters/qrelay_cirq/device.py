"""``QRelayDevice``: a qrelay target as a ``cirq.Device`` that validates circuits.

Qubits: a target whose coupling map is a full rows x cols square lattice (index
``r * cols + c``) gets ``cirq.GridQubit(r, c)``; any other gets ``cirq.LineQubit(i)``
(``options["cirq_qubits"]``, a list of labels ``grid:r,c`` / ``line:i`` / ``named:x``,
overrides both). An operation is valid when its qubits are on the device, every op it
converts to is native, and its qubit pairs are coupled for that op; a classically
controlled one only on a device that runs feed-forward (with a ``SympyCondition``, one
that runs classical expressions), and a ``repeat_until`` loop only on one that runs
``while``. ``metadata`` exposes
the qubit graph (``cirq.DeviceMetadata`` with a networkx graph).
"""

from __future__ import annotations

import functools
from typing import Any

import cirq

from qrelay.payload import TargetInfo

_FREE_OPS = frozenset({"measure", "barrier", "delay", "if"})


def _grid_shape(info: TargetInfo) -> tuple[int, int] | None:
    """``(rows, cols)`` when the coupling map is exactly a square lattice of the qubits."""
    if info.coupling_map is None:
        return None
    edges = {tuple(sorted(pair)) for pair in info.coupling_map}
    n = info.num_qubits
    for rows in range(2, n):
        if n % rows:
            continue
        cols = n // rows
        if cols < 2:
            continue
        lattice = set()
        for r in range(rows):
            for c in range(cols):
                q = r * cols + c
                if c + 1 < cols:
                    lattice.add((q, q + 1))
                if r + 1 < rows:
                    lattice.add((q, q + cols))
        if lattice == edges:
            return rows, cols
    return None


def device_qubits(info: TargetInfo) -> list[cirq.Qid]:
    """The Cirq qubit of each device qubit index."""
    labels = info.options.get("cirq_qubits")
    if isinstance(labels, list) and len(labels) == info.num_qubits:
        from qrelay_cirq.convert import qubit_from_label

        return [qubit_from_label(str(label)) for label in labels]
    shape = _grid_shape(info)
    if shape is not None:
        cols = shape[1]
        return [cirq.GridQubit(i // cols, i % cols) for i in range(info.num_qubits)]
    return list(cirq.LineQubit.range(info.num_qubits))


class QRelayDevice(cirq.Device):
    """The device of a qrelay target: its qubits, native ops and connectivity."""

    def __init__(self, info: TargetInfo) -> None:
        self._info = info
        self._qubits = device_qubits(info)
        self._index = {q: i for i, q in enumerate(self._qubits)}
        self._native = frozenset(info.native_ops)
        self._pairs: dict[str, set[tuple[int, ...]]] = {}
        for gate in info.gates:
            self._pairs.setdefault(gate.op, set()).add(tuple(gate.qubits))
        self._coupling = (
            None if info.coupling_map is None else {tuple(p) for p in info.coupling_map}
        )

    @property
    def info(self) -> TargetInfo:
        return self._info

    @property
    def qubits(self) -> list[cirq.Qid]:
        """The device's qubits, in device index order."""
        return list(self._qubits)

    def __repr__(self) -> str:
        return f"<QRelayDevice {self._info.name}: {len(self._qubits)} qubits>"

    @functools.cached_property
    def metadata(self) -> cirq.DeviceMetadata:
        """The qubits and their connectivity graph (directed where the device is)."""
        import networkx as nx  # type: ignore[import-untyped]

        graph = nx.DiGraph() if self._directed() else nx.Graph()
        graph.add_nodes_from(self._qubits)
        pairs = (
            self._coupling
            if self._coupling is not None
            else {
                (a, b) for a in range(len(self._qubits)) for b in range(len(self._qubits)) if a < b
            }
        )
        for a, b in pairs:
            graph.add_edge(self._qubits[a], self._qubits[b])
        return cirq.DeviceMetadata(self._qubits, graph)

    def _directed(self) -> bool:
        if self._coupling is None:
            return False
        return any((b, a) not in self._coupling for a, b in self._coupling)

    # ------------------------------------------------------------------ validation
    def _device_index(self, qubit: cirq.Qid) -> int:
        index = self._index.get(qubit)
        if index is None:
            sample = ", ".join(str(q) for q in self._qubits[:4])
            raise ValueError(
                f"qubit {qubit} is not on device {self._info.name!r} "
                f"(its qubits are {sample}, ... {len(self._qubits)} in all)"
            )
        return index

    def validate_operation(self, operation: cirq.Operation) -> None:
        """Raise ``ValueError`` naming the qubit, gate, pair or control flow the device
        lacks; a ``CircuitOperation`` is validated operation by operation."""
        indices = [self._device_index(q) for q in operation.qubits]
        capabilities = self._info.capabilities
        if isinstance(operation, cirq.ClassicallyControlledOperation):
            if not capabilities.runs("if"):
                raise ValueError(
                    f"operation {operation} is classically controlled, and device "
                    f"{self._info.name!r} does not run feed-forward (capabilities.feed_forward)"
                )
            sympy_conditions = [
                c for c in operation.classical_controls if isinstance(c, cirq.SympyCondition)
            ]
            if sympy_conditions and not capabilities.runs("expressions"):
                raise ValueError(
                    f"operation {operation}: device {self._info.name!r} does not run "
                    "classical expressions as conditions (capabilities.control_flow)"
                )
        if isinstance(operation, cirq.CircuitOperation):
            if operation.repeat_until is not None and not capabilities.runs("while"):
                raise ValueError(
                    f"operation {operation} repeats until {operation.repeat_until}, and "
                    f"device {self._info.name!r} does not run 'while' loops "
                    "(capabilities.control_flow)"
                )
            once = operation.replace(repeat_until=None, repetitions=1)
            for sub in once.mapped_circuit(deep=False).all_operations():
                self.validate_operation(sub)
            return
        if cirq.is_measurement(operation) or isinstance(
            operation.gate, cirq.ResetChannel | cirq.WaitGate
        ):
            if isinstance(operation.gate, cirq.ResetChannel) and not (
                self._info.capabilities.reset
            ):
                raise ValueError(f"device {self._info.name!r} cannot reset qubits: {operation}")
            return
        if not self._native:
            return
        for op, qubits in _payload_ops(operation, indices, self._info):
            if op in _FREE_OPS:
                continue
            if op not in self._native:
                raise ValueError(
                    f"operation {operation} is not native to device {self._info.name!r}: it "
                    f"needs {op!r}; native ops are {sorted(self._native)}"
                )
            if len(qubits) >= 2:
                known = self._pairs.get(op)
                pair = tuple(qubits)
                if known is not None:
                    ok = pair in known
                else:
                    ok = self._coupling is None or pair in self._coupling
                if not ok:
                    names = ", ".join(str(self._qubits[i]) for i in qubits)
                    raise ValueError(
                        f"operation {operation}: qubits ({names}) are not coupled for "
                        f"{op!r} on device {self._info.name!r}"
                    )

    def validate_circuit(self, circuit: cirq.AbstractCircuit) -> None:
        """Validate every operation, and measurement placement when the device needs it."""
        super().validate_circuit(circuit)
        if not self._info.capabilities.mid_circuit_measurement:
            measured: set[cirq.Qid] = set()
            for moment in circuit:
                for op in moment:
                    if cirq.is_measurement(op):
                        measured.update(op.qubits)
                    elif measured.intersection(op.qubits):
                        raise ValueError(
                            f"device {self._info.name!r} measures only at the end, but "
                            f"{op} acts after a measurement of its qubit(s)"
                        )


def _payload_ops(
    operation: cirq.Operation, indices: list[int], info: TargetInfo
) -> list[tuple[str, list[int]]]:
    """The payload ops one operation converts to (fixed gates the device lacks as the
    native rotations they equal), on device qubit indices."""
    from qrelay_cirq.convert import from_cirq
    from qrelay_cirq.native import as_native

    ordered = list(operation.qubits)
    payload = as_native(from_cirq(cirq.Circuit(operation)), info)
    position = _label_positions(payload.qubit_labels, ordered)
    out: list[tuple[str, list[int]]] = []
    for inst in payload.iter_instructions():
        qubits = [indices[position[q]] for q in inst["qubits"]]
        out.append((inst["op"], qubits))
    return out


def _label_positions(labels: list[str] | None, ordered: list[Any]) -> dict[int, int]:
    """Payload qubit index -> position in ``operation.qubits`` (by label when recorded)."""
    from qrelay_cirq.convert import qubit_label

    if labels is None:
        return {i: i for i in range(len(ordered))}
    by_label = {qubit_label(qubit): position for position, qubit in enumerate(ordered)}
    return {index: by_label.get(label, index) for index, label in enumerate(labels)}
