"""Readout to ``qiskit.result.Result``: Qiskit's own keys, built with numpy.

Qiskit keys a result by *its* classical bits: memory slot ``k`` is ``circuit.clbits[k]``,
and ``Result.get_counts`` splits the bitstring by the header's ``creg_sizes`` (last
declared register leftmost, clbit 0 rightmost). So the result is built the way Aer builds
its own: counts and memory keyed by the hex value over Qiskit's clbits, with a header that
carries ``creg_sizes``, ``memory_slots`` and the circuit name, and Qiskit's formatting does
the rest. That makes the keys match Aer's exactly, loose clbits included.

The payload holds every clbit in a register (declaration order gives the global index),
and the Qiskit adapter keeps that index equal to Qiskit's memory slot; the real Qiskit
registers, when they differ from the payload's, are in ``Circuit.metadata["qiskit.cregs"]``
(see :func:`bit_layout`). Counts come from
:meth:`Readout.value_counts` (``bincount`` over packed values) and a remap of the few
distinct values; one string per shot is built only when ``memory=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qrelay.errors import ConversionError
from qrelay.payload import Circuit, Readout
from qrelay.payload.readout import bitstrings

_U64 = np.uint64


@dataclass(frozen=True)
class BitLayout:
    """Where Qiskit's clbits live in a payload circuit's readout.

    ``sources[k]`` is the payload global clbit that holds Qiskit clbit ``k`` (``None``
    for a clbit with no payload bit, which reads 0). ``identity`` is true when Qiskit
    clbit ``k`` is payload clbit ``k`` for every ``k``, the common case that needs no remap.
    """

    sources: tuple[int | None, ...]
    creg_sizes: tuple[tuple[str, int], ...]
    qreg_sizes: tuple[tuple[str, int], ...]
    name: str
    metadata: dict[str, Any]
    global_phase: float = 0.0

    @property
    def memory_slots(self) -> int:
        return len(self.sources)

    @property
    def identity(self) -> bool:
        return all(src == k for k, src in enumerate(self.sources))

    def header(self, num_qubits: int) -> dict[str, Any]:
        """The experiment header Qiskit's formatting reads (as Aer writes it)."""
        return {
            "name": self.name,
            "n_qubits": num_qubits,
            "qreg_sizes": [list(item) for item in self.qreg_sizes],
            "creg_sizes": [list(item) for item in self.creg_sizes],
            "memory_slots": self.memory_slots,
            "global_phase": self.global_phase,
            "metadata": dict(self.metadata),
        }


def _register_sizes(value: Any, what: str) -> tuple[tuple[str, int], ...] | None:
    """``[[name, [bit, ...]], ...]`` (as the Qiskit adapter records it) as name/size pairs."""
    if value is None:
        return None
    try:
        return tuple(
            (str(name), len(bits) if isinstance(bits, list) else int(bits)) for name, bits in value
        )
    except (TypeError, ValueError) as exc:
        raise ConversionError(
            f"circuit metadata {what!r} is not a list of [name, [bit, ...]]"
        ) from exc


def bit_layout(circuit: Circuit) -> BitLayout:
    """The Qiskit clbit layout of a payload circuit.

    The Qiskit adapter keeps payload global clbit ``k`` equal to Qiskit memory slot ``k``
    and, when Qiskit's registers do not tile the clbits in order (loose clbits, shared or
    reordered bits), records the real registers in ``metadata["qiskit.cregs"]`` as
    ``[[name, [clbit, ...]], ...]``. Without that entry (registers that tile, or a circuit
    that did not come from Qiskit) the payload registers are the Qiskit registers.
    """
    meta = circuit.metadata
    cregs = _register_sizes(meta.get("qiskit.cregs"), "qiskit.cregs")
    if cregs is None:
        cregs = tuple((reg.name, reg.size) for reg in circuit.registers)
    qregs = _register_sizes(meta.get("qiskit.qregs"), "qiskit.qregs")
    if qregs is None:
        if circuit.qubit_registers is not None:
            qregs = tuple((reg.name, reg.size) for reg in circuit.qubit_registers)
        else:
            qregs = (("q", circuit.num_qubits),) if circuit.num_qubits else ()
    user_meta = {k: v for k, v in meta.items() if not k.startswith("qiskit.")}
    phase = circuit.global_phase
    return BitLayout(
        sources=tuple(range(circuit.num_clbits)),
        creg_sizes=cregs,
        qreg_sizes=qregs,
        name=circuit.name or "circuit",
        metadata=user_meta,
        global_phase=float(phase) if isinstance(phase, int | float) else 0.0,
    )


def _remap(values: npt.NDArray[np.uint64], layout: BitLayout) -> npt.NDArray[np.uint64]:
    """Payload joint values (register 0 in the low bits) as Qiskit clbit values."""
    if layout.identity:
        return values
    out = np.zeros_like(values)
    for k, src in enumerate(layout.sources):
        if src is not None:
            out |= ((values >> _U64(src)) & _U64(1)) << _U64(k)
    return out


def _wide_rows(readout: Readout, layout: BitLayout) -> list[int]:
    """Per-shot Qiskit values for more than 64 clbits (Python ints; rare, so plain)."""
    arrays = [reg.array() for reg in readout.registers]
    bits = (
        np.concatenate(arrays, axis=1)
        if arrays
        else np.zeros((readout.successful_shots, 0), np.uint8)
    )
    cols = [
        bits[:, src] if src is not None else np.zeros(len(bits), np.uint8) for src in layout.sources
    ]
    ordered = np.stack(cols[::-1], axis=1) if cols else np.zeros((len(bits), 0), np.uint8)
    return [int("".join(map(str, row)) or "0", 2) for row in ordered.tolist()]


def _check_registers(readout: Readout, circuit: Circuit) -> None:
    names = [reg.name for reg in readout.registers]
    expected = [reg.name for reg in circuit.registers]
    if names != expected:
        raise ConversionError(
            f"readout registers {names} do not match the circuit's registers {expected}"
        )


#: A circuit's counts as integers: the distinct Qiskit clbit values and their shots.
IntegerCounts = tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]


def integer_counts(readout: Readout, circuit: Circuit, layout: BitLayout) -> IntegerCounts | None:
    """The distinct Qiskit clbit values of ``readout`` and how often each came; ``None``
    for more than 64 clbits (values that numpy cannot hold)."""
    _check_registers(readout, circuit)
    if layout.memory_slots > 64 or circuit.num_clbits > 64:
        return None
    values, freq = readout.value_counts()
    mapped = _remap(values, layout)
    if not layout.identity:
        # Distinct payload values may collide after a remap that drops bits.
        uniq, inverse = np.unique(mapped, return_inverse=True)
        freq = np.bincount(inverse, weights=freq, minlength=len(uniq)).astype(np.int64)
        mapped = uniq
    kept = freq > 0
    return mapped[kept], freq[kept].astype(np.int64, copy=False)


def level2_data(
    readout: Readout,
    circuit: Circuit,
    layout: BitLayout,
    *,
    memory: bool,
    counted: IntegerCounts | None = None,
) -> dict[str, Any]:
    """``counts`` (hex keys) and, when asked, per-shot hex ``memory``; ``counted`` is
    :func:`integer_counts` of the same readout, when already made."""
    _check_registers(readout, circuit)
    data: dict[str, Any] = {}
    if layout.memory_slots > 64 or circuit.num_clbits > 64:
        rows = _wide_rows(readout, layout)
        counts: dict[str, int] = {}
        for value in rows:
            key = hex(value)
            counts[key] = counts.get(key, 0) + 1
        data["counts"] = counts
        if memory:
            data["memory"] = [hex(v) for v in rows]
        return data
    if counted is None:
        counted = integer_counts(readout, circuit, layout)
    if counted is None:  # pragma: no cover - only for more than 64 clbits, handled above
        raise ConversionError("counts of more than 64 clbits are not integers")
    values, freq = counted
    data["counts"] = dict(zip(map(hex, values.tolist()), freq.tolist(), strict=True))
    if memory:
        per_shot = _remap(readout.joint_values(), layout)
        data["memory"] = [hex(v) for v in per_shot.tolist()]
    return data


def count_keys(
    values: npt.NDArray[np.uint64], memory_slots: int, creg_sizes: Sequence[Sequence[Any]]
) -> list[str]:
    """Qiskit's count keys for clbit values, as ``Result.get_counts`` writes them.

    That is the value in binary over ``memory_slots`` bits, cut from the left into the
    registers of ``creg_sizes`` (last register leftmost) with a space between, bits past
    the registers dropped (Qiskit's own rule, for a header whose registers do not cover
    every slot). The keys are made by :func:`qrelay.payload.readout.bitstrings` in one
    numpy pass, with each field moved so that the leftmost field holds the lowest bits,
    as that function writes them. Keys may repeat when bits are dropped (see
    :func:`counts_from_integers`).
    """
    if memory_slots <= 0:  # no slots: Qiskit writes the value unpadded
        return [format(v, "b") for v in values.tolist()]
    if not creg_sizes:
        return bitstrings(values, [memory_slots])
    fields: list[int] = []
    joint = np.zeros(len(values), dtype=np.uint64)
    start = 0  # from the left of the memory_slots-wide string
    offset = 0
    for _name, size in reversed(creg_sizes):
        width = max(0, min(int(size), memory_slots - start))
        if width:
            low = memory_slots - start - width
            part = (values >> np.uint64(low)) & np.uint64((1 << width) - 1)
            joint |= part << np.uint64(offset)
        fields.append(width)
        offset += width
        start += width
    return bitstrings(joint, fields)


def counts_from_integers(
    counted: IntegerCounts,
    *,
    memory_slots: int,
    creg_sizes: Sequence[Sequence[Any]] | None,
    time_taken: float | None = None,
) -> Any:
    """A ``qiskit.result.Counts`` equal to the one Qiskit formats from hex keys, with each
    distinct key formatted once, in numpy (:func:`count_keys`)."""
    from qrelay_qiskit.counts import IntegerKeyedCounts

    values, freq = counted
    # Where the registers drop bits, several values share a key and the last one's count
    # stands, as in Qiskit's formatting (values in the order of the hex counts).
    return IntegerKeyedCounts(
        count_keys(values, memory_slots, creg_sizes or ()),
        values,
        freq,
        creg_sizes=[list(item) for item in creg_sizes] if creg_sizes else None,
        memory_slots=memory_slots,
        time_taken=time_taken,
    )


def level1_memory(
    readout: Readout, circuit: Circuit, layout: BitLayout, *, meas_return: str
) -> list[Any]:
    """IQ points in Qiskit's level-1 shapes: ``single`` shots x slots, ``avg`` slots.

    Each point is ``[re, im]`` as Qiskit's result schema writes complex numbers.
    """
    _check_registers(readout, circuit)
    shots = readout.successful_shots
    columns: list[npt.NDArray[np.complex64]] = []
    offsets = list(circuit.register_offsets().values())
    iq_arrays = [reg.iq_array() for reg in readout.registers]
    if all(iq is None for iq in iq_arrays):
        raise ConversionError(
            "meas_level=1 asked for IQ points, but the device returned none; "
            "use a target whose capabilities include iq_readout"
        )
    for src in layout.sources:
        column = np.zeros(shots, dtype=np.complex64)
        if src is not None:
            for index, (start, size) in enumerate(offsets):
                iq = iq_arrays[index]
                if start <= src < start + size and iq is not None:
                    column = iq[:, src - start]
                    break
        columns.append(column)
    matrix = np.stack(columns, axis=1) if columns else np.zeros((shots, 0), np.complex64)
    if meas_return == "avg":
        matrix = matrix.mean(axis=0)
    pairs = np.stack([matrix.real, matrix.imag], axis=-1).astype(float)
    result: list[Any] = pairs.tolist()
    return result


def experiment_results(
    circuit: Circuit,
    readouts: Sequence[Readout],
    *,
    memory: bool = False,
    meas_level: int = 2,
    meas_return: str = "single",
    layout: BitLayout | None = None,
    calibration_id: str | None = None,
    integer: list[IntegerCounts | None] | None = None,
) -> list[Any]:
    """One ``ExperimentResult`` per readout (per binding row) of one circuit.

    ``calibration_id`` (the calibration the circuit ran under) becomes the experiment's
    metadata ``calibration_id``. With ``integer``, each one's :func:`integer_counts`
    (``None``: none) is appended to it, for :func:`build_result`.
    """
    from qiskit.result.models import ExperimentResult, ExperimentResultData

    layout = layout or bit_layout(circuit)
    header = layout.header(circuit.num_qubits)
    out = []
    for readout in readouts:
        # Extra keywords of an ExperimentResult are its metadata (read as attributes).
        extra: dict[str, Any] = {}
        if readout.execution_duration_us is not None:
            extra["time_taken"] = readout.execution_duration_us / 1e6
        if calibration_id is not None:
            extra["calibration_id"] = calibration_id
        counted = None
        if meas_level == 1:
            data = ExperimentResultData(
                memory=level1_memory(readout, circuit, layout, meas_return=meas_return)
            )
            exp = ExperimentResult(
                shots=readout.successful_shots,
                success=True,
                data=data,
                meas_level=1,
                meas_return=meas_return,
                header=dict(header),
                status="DONE",
                **extra,
            )
        else:
            counted = integer_counts(readout, circuit, layout)
            data = ExperimentResultData(
                **level2_data(readout, circuit, layout, memory=memory, counted=counted)
            )
            exp = ExperimentResult(
                shots=readout.successful_shots,
                success=True,
                data=data,
                meas_level=2,
                header=dict(header),
                status="DONE",
                **extra,
            )
        out.append(exp)
        if integer is not None:
            integer.append(counted)
    return out


def failed_experiment(circuit: Circuit, shots: int, message: str, *, meas_level: int) -> Any:
    """An unsuccessful experiment, so one failed circuit does not hide the others."""
    from qiskit.result.models import ExperimentResult, ExperimentResultData

    layout = bit_layout(circuit)
    return ExperimentResult(
        shots=shots,
        success=False,
        data=ExperimentResultData(),
        meas_level=meas_level,
        header=layout.header(circuit.num_qubits),
        status=message,
    )


def build_result(
    experiments: list[Any],
    *,
    backend_name: str,
    job_id: str,
    backend_version: str = "1",
    date: str | None = None,
    calibration_ids: Sequence[str | None] = (),
    integer: list[IntegerCounts | None] | None = None,
) -> Any:
    """A ``qiskit.result.Result`` from experiment results.

    ``calibration_ids`` (per circuit, the calibration it ran under) are the result's
    metadata ``calibration_ids``, and ``calibration_id`` when they are one. With
    ``integer`` (one entry per experiment, see :func:`experiment_results`) its
    ``get_counts`` formats from those (:class:`qrelay_qiskit.counts.CountsResult`).
    """
    from qrelay_qiskit.counts import CountsResult

    extra: dict[str, Any] = {}
    if any(c is not None for c in calibration_ids):
        extra["calibration_ids"] = list(calibration_ids)
        if len(set(calibration_ids)) == 1:
            extra["calibration_id"] = calibration_ids[0]

    success = all(exp.success for exp in experiments)
    return CountsResult(
        integer_counts=integer or (),
        backend_name=backend_name,
        backend_version=backend_version,
        job_id=job_id,
        success=success,
        results=experiments,
        date=date,
        status="COMPLETED" if success else "PARTIAL COMPLETED",
        header={"backend_name": backend_name},
        **extra,
    )
