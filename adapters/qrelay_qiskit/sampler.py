"""``QRelaySamplerV2``: Qiskit's ``BaseSamplerV2`` on a qrelay backend.

Each PUB travels as one circuit with its whole parameter array as one bindings table, and
all PUBs of a ``run`` go in one service job (one per distinct shot count, and split only
when the target's limits demand it). Results come back as a ``PrimitiveResult`` of
``SamplerPubResult`` with one ``BitArray`` per classical register, built straight from
the packed readout: our rows are little-endian packed bits, a ``BitArray`` row is the
same bytes in reverse order, so no bit is unpacked on the common path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from qiskit.primitives import BaseSamplerV2
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.primitives.containers import (
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import JobStatus

from qrelay.errors import JobCancelledError, JobFailedError, ValidationError
from qrelay.payload import Bindings, Circuit, Readout
from qrelay_qiskit._handles import JobHandle
from qrelay_qiskit.backend import QRelayBackend
from qrelay_qiskit.job import (
    RunInfo,
    cancelled_failure,
    combine_statuses,
    gather,
    wait_all,
)
from qrelay_qiskit.result import bit_layout

_FINAL = (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)


class QRelaySamplerV2(BaseSamplerV2):  # type: ignore[misc]
    """A ``SamplerV2`` whose PUBs run on a qrelay backend as one job."""

    def __init__(
        self,
        backend: QRelayBackend,
        *,
        default_shots: int = 1024,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        """``options`` are backend run options (``priority``, ``tags``, ``sim_method``, ...)."""
        if default_shots < 1:
            raise ValidationError(f"default_shots: {default_shots} is not a positive count")
        given = set(options or {})
        reserved = {"parameter_binds", "shots", "memory", "meas_level", "meas_return"}
        unknown = sorted((given - set(backend.options)) | (given & reserved))
        if unknown:
            raise ValidationError(
                f"options: {unknown} are not sampler options for {backend.name!r} "
                f"(the sampler sets {sorted(reserved)} itself)"
            )
        self._backend = backend
        self._default_shots = default_shots
        self._seed = seed
        self._options = dict(options or {})

    @property
    def backend(self) -> QRelayBackend:
        return self._backend

    @property
    def default_shots(self) -> int:
        return self._default_shots

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> QRelaySamplerJob:
        """Submit the PUBs; returns a job whose ``result()`` is a ``PrimitiveResult``."""
        from qrelay_qiskit.convert import from_qiskit

        default = self._default_shots if shots is None else shots
        coerced = [SamplerPub.coerce(pub, default) for pub in pubs]
        if not coerced:
            raise ValidationError("run: no PUBs given")
        groups: dict[int, list[int]] = {}
        for index, pub in enumerate(coerced):
            pub_shots = pub.shots if pub.shots is not None else default
            groups.setdefault(int(pub_shots), []).append(index)
        parts: list[_Part] = []
        for group_shots, members in groups.items():
            payloads = [from_qiskit(coerced[i].circuit) for i in members]
            tables = [
                _table(coerced[i], payload, i) for i, payload in zip(members, payloads, strict=True)
            ]
            opts = dict(self._backend.options.__dict__) | self._options
            opts.update(shots=group_shots, memory=False, meas_level=2, meas_return="single")
            if self._seed is not None:
                opts["seed_simulator"] = self._seed
            jobs, infos = self._backend.plan_jobs(payloads, tables, opts)
            handles = self._backend.submit_jobs(jobs)
            parts.append(_Part(members, handles, infos))
        return QRelaySamplerJob(coerced, parts, target=self._backend.name)


def _table(pub: SamplerPub, payload: Circuit, index: int) -> Bindings | None:
    circuit = pub.circuit
    rows = math.prod(pub.shape)
    if circuit.num_parameters == 0:
        if rows != 1:
            raise ValidationError(
                f"pub {index}: a circuit with no parameters takes no parameter array "
                f"(shape {pub.shape})"
            )
        return None
    params = list(circuit.parameters)
    values = pub.parameter_values.as_array(params).reshape(rows, len(params))
    names = [p.name for p in params]
    missing = sorted(set(payload.parameters) - set(names))
    if missing:
        raise ValidationError(f"pub {index}: no values for parameter(s) {missing}")
    return Bindings(names=names, values=values.tolist())


class _Part:
    """The service jobs of the PUBs that share one shot count."""

    def __init__(self, members: list[int], handles: list[JobHandle], infos: list[RunInfo]):
        self.members = members
        self.handles = handles
        self.infos = infos


class QRelaySamplerJob(BasePrimitiveJob):  # type: ignore[misc]
    """The job of a ``QRelaySamplerV2.run``: one or more service jobs behind one id."""

    def __init__(
        self, pubs: list[SamplerPub], parts: list[_Part], *, target: str | None = None
    ) -> None:
        handles = [h for part in parts for h in part.handles]
        super().__init__(",".join(h.job_id for h in handles))
        self._pubs = pubs
        self._parts = parts
        self._target = target
        self._result: Any = None

    @property
    def handles(self) -> list[JobHandle]:
        return [h for part in self._parts for h in part.handles]

    def status(self) -> JobStatus:
        return combine_statuses(h.status() for h in self.handles)

    def done(self) -> bool:
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        return self.status() in _FINAL

    def cancel(self) -> None:
        for handle in self.handles:
            handle.cancel()

    def result(self, timeout: float | None = None, *, progress: bool | None = None) -> Any:
        """The ``PrimitiveResult``; raises ``JobFailedError`` if a PUB failed and
        ``JobCancelledError`` if one was cancelled, with the reason in one line.

        While it waits, a status line (queue position, elapsed time) is shown on a terminal
        or in a notebook; ``progress=False`` (or ``QRELAY_PROGRESS=0``) turns it off.
        """
        if self._result is not None:
            return self._result
        results: list[Any] = [None] * len(self._pubs)
        for part in self._parts:
            datas = wait_all(part.handles, timeout, progress=progress, target=self._target)
            rows, layouts, failures, _shots = gather(datas, part.infos, part.handles)
            for local, pub_index in enumerate(part.members):
                if local in failures:
                    reason = failures[local]
                    error = JobCancelledError if cancelled_failure(reason) else JobFailedError
                    one_line = " ".join(reason.split())
                    raise error(f"pub {pub_index}: {one_line}", job_id=self.job_id())
                layout = layouts[local]
                assert layout is not None
                results[pub_index] = _pub_result(self._pubs[pub_index], layout, rows[local])
        self._result = PrimitiveResult(results, metadata={"version": 2})
        return self._result


def _pub_result(pub: SamplerPub, layout: Circuit, rows: list[Readout]) -> Any:
    shape = tuple(pub.shape)
    count = math.prod(shape)
    if len(rows) != count:
        raise JobFailedError(f"expected {count} readouts for the PUB, got {len(rows)}")
    shots_set = {r.successful_shots for r in rows}
    if len(shots_set) != 1:
        raise JobFailedError(f"binding rows returned different shot counts {sorted(shots_set)}")
    shots = shots_set.pop()
    circuit = pub.circuit
    sources = bit_layout(layout).sources
    offsets = layout.register_offsets()
    starts = {start: (name, size) for name, (start, size) in offsets.items()}
    unpacked: npt.NDArray[np.uint8] | None = None
    meas: dict[str, BitArray] = {}
    for creg in circuit.cregs:
        size = creg.size
        qiskit_bits = [circuit.find_bit(bit).index for bit in creg]
        src = [sources[k] if k < len(sources) else None for k in qiskit_bits]
        first = src[0] if src else None
        match = starts.get(first) if first is not None else None
        if (
            first is not None
            and match is not None
            and match[1] == size
            and src == list(range(first, first + size))
        ):
            name = match[0]
            blob = b"".join(r.register(name).bits for r in rows)
            nbytes = (size + 7) // 8
            packed = np.frombuffer(blob, dtype=np.uint8).reshape(count, shots, nbytes)
            array = np.ascontiguousarray(packed[..., ::-1]).reshape((*shape, shots, nbytes))
        else:
            if unpacked is None:
                unpacked = _unpack_all(rows, shots, layout.num_clbits)
            cols = np.zeros((count, shots, size), dtype=np.uint8)
            for j, s in enumerate(src):
                if s is not None:
                    cols[..., j] = unpacked[..., s]
            packed = np.packbits(cols, axis=-1, bitorder="little")
            array = np.ascontiguousarray(packed[..., ::-1]).reshape(
                (*shape, shots, packed.shape[-1])
            )
        meas[creg.name] = BitArray(array, size)
    return SamplerPubResult(
        DataBin(**meas, shape=shape),
        metadata={"shots": shots, "circuit_metadata": circuit.metadata},
    )


def _unpack_all(rows: list[Readout], shots: int, width: int) -> npt.NDArray[np.uint8]:
    out = np.zeros((len(rows), shots, width), dtype=np.uint8)
    for i, readout in enumerate(rows):
        arrays = [reg.array() for reg in readout.registers]
        if arrays:
            out[i] = np.concatenate(arrays, axis=1)
    return out
