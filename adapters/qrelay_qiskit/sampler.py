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
from qiskit.primitives.containers import (
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.sampler_pub import SamplerPub

from qrelay.errors import JobFailedError, ValidationError
from qrelay.payload import Bindings, Circuit, Readout
from qrelay_qiskit.backend import QRelayBackend
from qrelay_qiskit.mitigation import COMPILE_SEED, compiles_locally, device_pass_manager
from qrelay_qiskit.primitive_jobs import (
    QRelayPrimitiveJob,
    Submission,
    bindings,
    collect,
    pub_table,
    submit,
)
from qrelay_qiskit.primitive_options import SamplerOptions, parse_options, randomizations
from qrelay_qiskit.result import bit_layout
from qrelay_qiskit.sampler_twirl import TwirledCopy, join_copies, twirled_copies


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
        """``options`` are backend run options (``priority``, ``tags``, ``sim_method``, ...)
        and IBM's ``twirling`` and ``dynamical_decoupling`` groups (nested or dotted)."""
        if default_shots < 1:
            raise ValidationError(f"default_shots: {default_shots} is not a positive count")
        groups = ("twirling", "dynamical_decoupling")
        chosen = {k: v for k, v in (options or {}).items() if str(k).split(".", 1)[0] in groups}
        options = {k: v for k, v in (options or {}).items() if k not in chosen}
        self._mitigation: SamplerOptions = parse_options(SamplerOptions, chosen)
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

    @property
    def options(self) -> SamplerOptions:
        """The ``twirling`` and ``dynamical_decoupling`` options (assignable)."""
        return self._mitigation

    def _randomizing(self) -> bool:
        twirling = self._mitigation.twirling
        return bool(twirling.enable_gates or twirling.enable_measure)

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
        if self._randomizing() or self._mitigation.dynamical_decoupling.enable:
            return self._run_randomized(coerced, groups)
        parts: list[Submission] = []
        for group_shots, members in groups.items():
            payloads = [from_qiskit(coerced[i].circuit) for i in members]
            tables = [
                _table(coerced[i], payload, i) for i, payload in zip(members, payloads, strict=True)
            ]
            parts.append(
                submit(
                    self._backend,
                    members,
                    payloads,
                    tables,
                    shots=group_shots,
                    options=self._options,
                    seed=self._seed,
                )
            )
        return QRelaySamplerJob(coerced, parts)

    def _run_randomized(
        self, pubs: list[SamplerPub], groups: dict[int, list[int]]
    ) -> QRelaySamplerJob:
        """Twirled and decoupled copies of every PUB's circuit, in the same job."""
        from qrelay_qiskit.convert import from_qiskit

        options = self._mitigation
        device = compiles_locally(self._backend)
        manager = device_pass_manager(self._backend, self._seed or COMPILE_SEED) if device else None
        rng = np.random.default_rng(self._seed)
        native = set(self._backend.info.native_ops)
        decoupling = (
            options.dynamical_decoupling.sequence_type
            if options.dynamical_decoupling.enable and device
            else None
        )
        copies: dict[int, list[TwirledCopy]] = {}
        parts: list[Submission] = []
        for group_shots, members in groups.items():
            count, per = (
                randomizations(options.twirling, group_shots)
                if self._randomizing()
                else (1, group_shots)
            )
            entries: list[int] = []
            payloads: list[Circuit] = []
            tables: list[Bindings | None] = []
            for i in members:
                pub = pubs[i]
                circuit = manager.run(pub.circuit) if manager is not None else pub.circuit
                copies[i] = twirled_copies(
                    circuit,
                    index=i,
                    count=count,
                    gates=bool(options.twirling.enable_gates),
                    measure=bool(options.twirling.enable_measure),
                    rng=rng,
                    native=native,
                    target=self._backend.target if device else None,
                    decoupling=decoupling,
                )
                for copy in copies[i]:
                    payload = from_qiskit(copy.circuit)
                    entries.append(i)
                    payloads.append(payload)
                    tables.append(_table(pub, payload, i))
            parts.append(
                submit(
                    self._backend,
                    entries,
                    payloads,
                    tables,
                    shots=per,
                    options=self._options,
                    seed=None,  # the copies must be independent samples
                    verbatim=device,
                )
            )
        return QRelaySamplerJob(pubs, parts, copies)


def _table(pub: SamplerPub, payload: Circuit, index: int) -> Bindings | None:
    values = pub_table(pub.circuit, pub.parameter_values, tuple(pub.shape), payload, index)
    return bindings([p.name for p in pub.circuit.parameters], values)


class QRelaySamplerJob(QRelayPrimitiveJob):
    """The job of a ``QRelaySamplerV2.run``: one or more service jobs behind one id."""

    def __init__(
        self,
        pubs: list[SamplerPub],
        parts: list[Submission],
        copies: dict[int, list[TwirledCopy]] | None = None,
    ) -> None:
        super().__init__(parts, self._collect)
        self._pubs = pubs
        self._copies = copies

    def _collect(self, parts: list[Submission], timeout: float | None, job_id: str) -> Any:
        results: list[Any] = [None] * len(self._pubs)
        for part in parts:
            rows, layouts = collect(part, timeout, job_id)
            if self._copies is None:
                for local, pub_index in enumerate(part.members):
                    pub = self._pubs[pub_index]
                    results[pub_index] = _pub_result(pub, layouts[local], rows[local])
                continue
            locals_of: dict[int, list[int]] = {}
            for local, pub_index in enumerate(part.members):
                locals_of.setdefault(pub_index, []).append(local)
            for pub_index, locals_ in locals_of.items():
                copies = self._copies[pub_index]
                joined = join_copies(copies, [rows[k] for k in locals_])
                result = _pub_result(self._pubs[pub_index], layouts[locals_[0]], joined)
                result.metadata["num_randomizations"] = len(copies)
                results[pub_index] = result
        return PrimitiveResult(results, metadata={"version": 2})


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
