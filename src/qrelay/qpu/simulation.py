"""How the emulated controller prepares a program and turns its simulation into readout.

:mod:`qrelay.qpu.emulator` holds the queues, jobs and calls; this module holds what one
program goes through on a device: :func:`prepare_program` checks and reduces an
executable once, :func:`simulate` runs the engine for the jobs' patch sets, and
:func:`readout` turns the simulated true states into bits and IQ points through the
device's IQ model (see the module docstring of :mod:`qrelay.qpu.emulator` for why the
readout error comes from the IQ model and not from the engine).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np

from qrelay.errors import ConflictError, DeviceError, PayloadError
from qrelay.payload import Bindings, Circuit, TargetInfo
from qrelay.payload.calibration import calibration_hash
from qrelay.payload.control import CONTROL_FLOW_OPS, op_names, read_clbits
from qrelay.qpu import native
from qrelay.qpu.iq import IQModel
from qrelay.qpu.records import Job, JobResult, JobState, Prepared
from qrelay.qpu.runner import RowArrays, Runner
from qrelay.qpu.translation import Executable


class ProgramCancelledError(Exception):
    """Every job of a running program was cancelled: the device stops it early."""


def steering_qubits(circuit: Circuit) -> frozenset[int]:
    """The qubits of ``circuit`` measured into a clbit its control flow reads."""
    if CONTROL_FLOW_OPS.isdisjoint(op_names(circuit.instructions)):
        return frozenset()
    read = read_clbits(circuit)
    return frozenset(
        inst["qubits"][0]
        for inst in circuit.iter_instructions()
        if inst["op"] == "measure" and inst["clbits"][0] in read
    )


def noise_target(reduced: TargetInfo, steering: frozenset[int] = frozenset()) -> TargetInfo:
    """The sliced device the engine simulates: no readout error (IQ supplies it), except
    on the ``steering`` qubits, whose values the program's conditions must read misread.

    Its ``calibration_id`` is the hash of its own content, so engines that cache noise
    models by calibration id never mix up two slices of one device.
    """
    noise = native.without_readout_error(reduced, keep=steering)
    return noise.model_copy(update={"calibration_id": "slice-" + calibration_hash(noise)})


def _check_executable(executable: Executable, target: TargetInfo) -> None:
    """Refuse an executable the device cannot run (gates, shots, readout sources)."""
    native.check_native(executable.circuit, target)
    if executable.num_shots < 1 or executable.num_shots > target.limits.max_shots:
        raise PayloadError(
            f"num_shots: {executable.num_shots} is outside 1..{target.limits.max_shots} "
            f"for {target.name}"
        )
    offsets = executable.circuit.register_offsets()
    for buffer, (register, bit) in executable.ro_sources.items():
        if register not in offsets or not 0 <= bit < offsets[register][1]:
            raise PayloadError(
                f"ro_sources: buffer {buffer!r} reads {register}[{bit}], which the "
                "program's registers do not have"
            )


def prepare_program(key: str, executable: Executable, target: TargetInfo) -> Prepared:
    """Check ``executable`` against ``target``, reduce it to the touched qubits, schedule it."""
    _check_executable(executable, target)
    reduced = native.reduce_to_touched(executable.circuit, target)
    steering = steering_qubits(reduced.circuit)
    writer: dict[tuple[str, int], int] = {}
    for inst in reduced.circuit.iter_instructions():  # a clbit's last writer counts
        if inst["op"] == "measure":
            writer[executable.circuit.clbit_location(inst["clbits"][0])] = inst["qubits"][0]
    sources = [
        (buffer, writer.get((register, bit), -1), register, bit)
        for buffer, (register, bit) in executable.ro_sources.items()
    ]
    return Prepared(
        key=key,
        executable=executable,
        target=target,
        reduced=reduced,
        noise=noise_target(reduced.target, steering),
        layout=native.PatchLayout.of(executable.circuit),
        sources=sources,
        duration_us=native.execution_duration_us(executable.circuit, target, executable.num_shots),
        steering=steering,
    )


def request_fingerprint(
    executable_key: str, patch_sets: Sequence[Mapping[str, Sequence[float]]], seed: int | None
) -> str:
    """What identifies an execute request when its idempotency key comes again."""
    blob = json.dumps(
        [executable_key, [{k: list(v) for k, v in sorted(p.items())} for p in patch_sets], seed],
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def check_request(
    prepared: Prepared,
    target: TargetInfo,
    sets: Sequence[Mapping[str, Sequence[float]]],
    *,
    bypass: bool,
) -> None:
    """Refuse an execute request before any of its sets is queued: a program translated
    for another calibration (unless ``bypass``), too many sets, or a set that does not fit
    the program's patch regions."""
    expected = prepared.executable.calibration_id
    current = target.calibration_id
    if expected and expected != current and not bypass:
        raise ConflictError(
            f"{target.name} was recalibrated (program translated for calibration "
            f"{expected}, device is at {current}); translate again or set "
            "bypass_settings_protection",
            status=409,
            code="stale_calibration",
        )
    limit = target.limits.max_bindings
    if len(sets) > limit:
        raise PayloadError(
            f"patch_values: {len(sets)} sets exceed the limit of {limit} for {target.name}"
        )
    for i, values in enumerate(sets):  # every set is checked before any is queued
        prepared.layout.check(values, where=f"patch_values[{i}]")


def simulate(
    runner: Runner,
    prepared: Prepared,
    jobs: list[Job],
    seed: int,
    *,
    noise: TargetInfo | None,
    chunk_rows: int,
) -> RowArrays:
    """Run the engine for the jobs' patch sets; one set of registers per job.

    Raises :class:`ProgramCancelledError` between chunks once every job is cancelled.
    """
    shots = prepared.executable.num_shots
    circuit: Circuit = prepared.reduced.circuit
    if circuit.parameters:
        rows = [prepared.layout.row(job.patch) for job in jobs]
        names = list(circuit.parameters)
        # An engine in this process may hold the GIL for a whole run, and the
        # controller's other calls (status, cancel) must be answered meanwhile: run
        # it chunk by chunk. An engine process runs all rows in one call.
        size = chunk_rows if runner.in_process else len(rows)
        registers: RowArrays = []
        for index, start in enumerate(range(0, len(rows), size)):
            if all(job.state is JobState.CANCELLED for job in jobs):
                raise ProgramCancelledError
            registers += runner.run(
                prepared.key,
                circuit,
                shots=shots,
                bindings=Bindings(names=names, values=rows[start : start + size]),
                noise=noise,
                seed=seed + index,
            )
    else:
        # No parameters: one run of all the jobs' shots, split afterwards.
        total = shots * len(jobs)
        (whole,) = runner.run(
            prepared.key, circuit, shots=total, bindings=None, noise=noise, seed=seed
        )
        registers = [
            {name: array[i * shots : (i + 1) * shots] for name, array in whole.items()}
            for i in range(len(jobs))
        ]
    if len(registers) != len(jobs):
        raise DeviceError(
            f"the engine returned {len(registers)} readouts for {len(jobs)} parameter sets"
        )
    return registers


def readout(
    iq_model: IQModel,
    prepared: Prepared,
    jobs: list[Job],
    registers: RowArrays,
    seed: int,
    *,
    noisy: bool,
) -> list[JobResult]:
    """Each job's buffers: the true states read through the IQ model (``noisy``: gate
    noise was simulated, so steering qubits were already misread in the run)."""
    shots = prepared.executable.num_shots
    rng = np.random.default_rng([seed, 0x1A])
    physical = np.asarray(prepared.reduced.physical, dtype=np.intp)
    sources = prepared.sources
    measured = [k for k, source in enumerate(sources) if source[1] >= 0]
    # (jobs, buffers, shots): each job's buffers stacked, ready for the wire
    bits = np.zeros((len(jobs), len(sources), shots), dtype=np.uint8)
    iq = (
        np.zeros((len(jobs), len(sources), shots), dtype=np.complex64)
        if prepared.executable.iq_readout
        else None
    )
    if measured:
        # true states, shape (jobs, shots, measured buffers)
        states = np.stack(
            [
                np.stack([regs[sources[k][2]][:, sources[k][3]] for k in measured], -1)
                for regs in registers
            ]
        )
        reduced_qubits = [sources[k][1] for k in measured]
        qubits = physical[reduced_qubits]
        if iq is not None:
            # points around the true state's centroid; the bit is the point discriminated
            points = iq_model.sample(states, qubits, rng)
            read = iq_model.discriminate(points, qubits)
            iq[:, measured, :] = points.transpose(0, 2, 1)
        else:
            read = iq_model.flips(states, qubits, rng)
        if noisy and prepared.steering:
            # misread in the run already: the bit is the value its conditions saw
            steered = np.isin(reduced_qubits, sorted(prepared.steering))
            read = np.where(steered, states, read)
        bits[:, measured, :] = read.transpose(0, 2, 1)
    names = [source[0] for source in sources]
    return [
        JobResult(
            names=names,
            bits=bits[i],
            iq=None if iq is None else iq[i],
            memory=job.patch,
            execution_duration_us=prepared.duration_us,
        )
        for i, job in enumerate(jobs)
    ]
