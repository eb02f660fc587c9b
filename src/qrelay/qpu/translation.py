"""Translation: a payload circuit becomes an executable for one fleet device.

The circuit must already be native (the worker compiles with the Qiskit transpiler before
it gets here): translation checks it against the device, fixes the shot count and lists
the readout sources, one buffer per register bit, named ``"<register>[<bit>]"``.

The executable (``TranslationResult.program``) is a JSON string, opaque to callers, that
:func:`qrelay.qpu.api.submit` sends to the controller as is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from qrelay.errors import PayloadError, SubmissionError
from qrelay.payload import Circuit, Readout
from qrelay.payload.lowering import HIDDEN_PREFIX
from qrelay.qpu import native
from qrelay.qpu.fleet import fleet_device

if TYPE_CHECKING:
    from qrelay.qpu.api import ExecutionResults

#: The format tag of an executable's JSON.
EXECUTABLE_FORMAT: Final = "qrelay.executable.v1"
#: Suffix of the complex buffer that holds a readout's IQ points.
IQ_SUFFIX: Final = ".iq"


def buffer_name(register: str, bit: int) -> str:
    """The buffer that holds bit ``bit`` of ``register``."""
    return f"{register}[{bit}]"


def executable_fields(program: str) -> dict[str, Any]:
    """The JSON fields of an executable's ``program``, its format checked (its circuit
    as it was written: :meth:`Executable.from_json` validates it, the controller's client
    sends it on as it is)."""
    try:
        data = json.loads(program)
    except ValueError as exc:
        raise SubmissionError(f"program: not an executable (not JSON: {exc})") from exc
    if not isinstance(data, dict) or data.get("format") != EXECUTABLE_FORMAT:
        raise SubmissionError(
            f"program: not a {EXECUTABLE_FORMAT} executable; make one with "
            "qrelay.qpu.translation.translate"
        )
    return data


@dataclass(frozen=True)
class Executable:
    """The parsed form of an executable (what ``program`` encodes)."""

    quantum_processor_id: str
    circuit: Circuit
    num_shots: int
    ro_sources: dict[str, tuple[str, int]]
    iq_readout: bool = False
    calibration_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": EXECUTABLE_FORMAT,
                "quantum_processor_id": self.quantum_processor_id,
                "num_shots": self.num_shots,
                "iq_readout": self.iq_readout,
                "calibration_id": self.calibration_id,
                "ro_sources": {k: list(v) for k, v in self.ro_sources.items()},
                "circuit": self.circuit.model_dump(mode="json", exclude_defaults=True),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, program: str) -> Executable:
        data = executable_fields(program)
        return cls(
            quantum_processor_id=str(data["quantum_processor_id"]),
            circuit=Circuit.model_validate(data["circuit"]),
            num_shots=int(data["num_shots"]),
            ro_sources={k: (str(v[0]), int(v[1])) for k, v in data["ro_sources"].items()},
            iq_readout=bool(data.get("iq_readout", False)),
            calibration_id=data.get("calibration_id"),
        )


@dataclass(frozen=True)
class TranslationResult:
    """An executable and where its readout buffers come from.

    ``ro_sources`` maps each buffer name to its ``(register, bit)``.
    """

    program: str
    ro_sources: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def executable(self) -> Executable:
        return Executable.from_json(self.program)

    def to_readout(self, results: ExecutionResults) -> Readout:
        """The payload readout (per register, IQ when present) of one job's results."""
        circuit = self.executable.circuit
        return readout_from_buffers(circuit, self.ro_sources, results)


def readout_from_buffers(
    circuit: Circuit, ro_sources: dict[str, tuple[str, int]], results: ExecutionResults
) -> Readout:
    """Stack per-bit buffers back into per-register arrays (and IQ) of a payload readout."""
    shots = next((int(b.shape[0]) for b in results.buffers.values()), 0)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    iq: dict[str, np.ndarray[Any, Any]] = {}
    for reg in circuit.registers:
        if not reg.name.startswith(HIDDEN_PREFIX):  # the engine's own, dropped by it
            arrays[reg.name] = np.zeros((shots, reg.size), dtype=np.uint8)
    for name, (register, bit) in ro_sources.items():
        if register not in arrays:
            continue
        found = results.buffers.get(name)
        if found is not None:
            arrays[register][:, bit] = found.data
        iq_found = results.buffers.get(name + IQ_SUFFIX)
        if iq_found is not None:
            size = arrays[register].shape[1]
            target = iq.setdefault(register, np.zeros((shots, size), dtype=np.complex64))
            target[:, bit] = iq_found.data
    return Readout.from_arrays(
        arrays,
        iq=iq or None,
        memory=results.memory or None,
        execution_duration_us=results.execution_duration_microseconds,
    )


def translate(
    circuit: Circuit,
    num_shots: int,
    quantum_processor_id: str,
    *,
    iq_readout: bool = False,
    calibration_id: str | None = None,
) -> TranslationResult:
    """Check that ``circuit`` is native for the device and make its executable.

    The executable is for ``calibration_id`` (default: the fleet device's own): the
    controller refuses it as stale once the device has another.

    Raises ``PayloadError`` naming the instruction, op or qubit pair the device lacks.
    """
    target = fleet_device(quantum_processor_id)
    if num_shots < 1 or num_shots > target.limits.max_shots:
        raise PayloadError(
            f"num_shots: {num_shots} is outside 1..{target.limits.max_shots} for {target.name}"
        )
    native.check_native(circuit, target)
    ro_sources = {
        buffer_name(reg.name, bit): (reg.name, bit)
        for reg in circuit.registers
        if not reg.name.startswith(HIDDEN_PREFIX)
        for bit in range(reg.size)
    }
    executable = Executable(
        quantum_processor_id=quantum_processor_id,
        circuit=circuit,
        num_shots=num_shots,
        ro_sources=ro_sources,
        iq_readout=iq_readout,
        calibration_id=calibration_id or target.calibration_id,
    )
    return TranslationResult(program=executable.to_json(), ro_sources=ro_sources)
