"""``QRelayBackend``: a qrelay target as a Qiskit ``BackendV2``.

``target`` is built from the target's ``TargetInfo`` (native gates on their qubit tuples,
durations, errors, qubit T1/T2/frequency, ``dt``, measure), so ``transpile(qc, backend)``
respects the device and Aer's ``NoiseModel.from_backend`` works. ``run`` converts the
circuits once, sends each circuit's parameter binds as one bindings table, and splits the
work into several service jobs only when the target's limits demand it (the runtime's
:mod:`qrelay.runtime.splitting`, which every front end shares).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, Options

from qrelay.errors import ValidationError
from qrelay.payload import (
    Bindings,
    Circuit,
    JobType,
    NewJob,
    SimMethod,
    TargetInfo,
)
from qrelay.payload.calibration import PIN_OPTION, POLICY_OPTION
from qrelay.payload.limits import check_circuit, check_shots
from qrelay.payload.parsing import parse
from qrelay.payload.run_options import RunOptions
from qrelay.runtime import tracing
from qrelay.runtime.splitting import Segment, split_job
from qrelay_qiskit.job import RUN_KEY, QRelayJob, RunInfo

if TYPE_CHECKING:
    from qrelay_qiskit._handles import JobHandle
    from qrelay_qiskit.provider import QRelayProvider

logger = logging.getLogger("qrelay_qiskit")

_MEAS_RETURNS = ("single", "avg")


def bindings_from_qiskit(binds: Mapping[Any, Any], circuit: Circuit, index: int) -> Bindings:
    """One circuit's Qiskit ``parameter_binds`` entry (``{Parameter: [values]}``) as a table.

    A scalar counts as one value. Every column must have the same length, and every name
    must be a parameter of the circuit.
    """
    import numpy as np

    if not binds:
        raise ValidationError(f"parameter_binds[{index}]: empty; give one value list per parameter")
    names: list[str] = []
    columns = []
    for param, values in binds.items():
        name = getattr(param, "name", param)
        if not isinstance(name, str):
            raise ValidationError(
                f"parameter_binds[{index}]: key {param!r} is not a Parameter or a name"
            )
        column = np.atleast_1d(np.asarray(values, dtype=float))
        if column.ndim != 1:
            raise ValidationError(
                f"parameter_binds[{index}][{name}]: expected a flat list of values"
            )
        names.append(name)
        columns.append(column)
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        detail = {n: len(c) for n, c in zip(names, columns, strict=True)}
        raise ValidationError(f"parameter_binds[{index}]: value lists differ in length {detail}")
    declared = set(circuit.parameters)
    unknown = [n for n in names if n not in declared]
    if unknown:
        raise ValidationError(
            f"parameter_binds[{index}]: {unknown} are not parameters of circuit {index} "
            f"({circuit.name or 'unnamed'}); it has {sorted(declared)}"
        )
    missing = sorted(declared - set(names))
    if missing:
        raise ValidationError(f"parameter_binds[{index}]: no values for parameter(s) {missing}")
    table = np.stack(columns, axis=1)
    return Bindings(names=names, values=table.tolist())


def run_options(opts: Mapping[str, Any]) -> RunOptions:
    """The run options of a backend's options: ``seed_simulator`` is the seed (an
    integer, numpy's included), ``noise`` the noise spec, the rest as named (``histogram``
    is set by the estimator, which reads readouts in either form)."""
    seed = opts.get("seed_simulator")
    if seed is not None:
        try:
            seed = operator.index(seed)
        except TypeError:
            raise ValidationError(
                f"seed_simulator: expected a non-negative integer, got {seed!r}"
            ) from None
    return RunOptions.from_fields(
        shots=int(opts["shots"]),
        memory=bool(opts["memory"]),
        meas_level=int(opts["meas_level"]),
        verbatim=bool(opts.get("verbatim")),
        options={
            "seed": seed,
            "noise": opts.get("noise"),
            "optimization_level": opts.get("optimization_level"),
            "histogram": opts.get("histogram"),
        },
    )


class QRelayBackend(BackendV2):  # type: ignore[misc]
    """A qrelay target (simulator or QPU) as a Qiskit backend."""

    def __init__(self, provider: QRelayProvider | None, info: TargetInfo) -> None:
        super().__init__(
            provider=provider,
            name=info.name,
            description=info.description or f"qrelay target {info.name}",
            backend_version=info.calibration_id or "1",
        )
        self._info = info
        self._target: Any = None

    # ------------------------------------------------------------------ description
    @property
    def info(self) -> TargetInfo:
        """The ``TargetInfo`` this backend was built from."""
        return self._info

    @property
    def target(self) -> Any:
        """The Qiskit ``Target`` of the device (built once, from its calibration)."""
        if self._target is None:
            from qrelay_qiskit.target import build_target

            self._target = build_target(self._info)
        return self._target

    @property
    def max_circuits(self) -> None:
        """No limit from the user's side: ``run`` splits work to fit the target's limits."""
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(
            shots=1024,
            memory=False,
            parameter_binds=None,
            meas_level=2,
            meas_return="single",
            seed_simulator=None,
            sim_method=None,
            noise=None,
            optimization_level=None,
            priority=0,
            tags=None,
            verbatim=False,
            calibration_id=None,
            if_recalibrated=None,
        )

    def __repr__(self) -> str:
        return f"<QRelayBackend('{self.name}')>"

    # ------------------------------------------------------------------ copies
    def __deepcopy__(self, memo: dict[int, Any]) -> QRelayBackend:
        """A copy with its own options that shares the provider (and its connection).

        Clients copy a backend before changing its options (qiskit-experiments,
        qiskit-ibm-runtime's local mode); the connection is not theirs to duplicate.
        """
        import copy

        twin = QRelayBackend(self.provider, self._info)
        twin._target = self._target
        options = copy.deepcopy(dict(self.options.items()), memo)
        twin.set_options(**options)
        memo[id(self)] = twin
        return twin

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the provider's settings, the target's name and the options.

        Unpickling (in this process or another) reconnects through a provider with the
        same settings and looks the target up again, so it gets the current calibration.
        """
        return (_restore_backend, (self.provider, self.name, dict(self.options.items())))

    # ------------------------------------------------------------------ running
    def run(self, run_input: Any, **options: Any) -> QRelayJob:
        """Run one circuit or a list of circuits as one Qiskit job.

        Options (unknown ones are refused by name): ``shots``, ``memory`` (hex per shot),
        ``parameter_binds`` (one ``{Parameter: [values]}`` per circuit), ``meas_level``
        (2 counts, 1 IQ points), ``meas_return`` (``single`` or ``avg``),
        ``seed_simulator``, ``sim_method`` (``sim`` / ``noise-sim``: simulate instead of
        run), ``noise`` (the noise spec a simulator target takes for ``noise-sim``, e.g.
        ``{"depolarizing_2q": 0.01}``), ``optimization_level`` (the target's compiler,
        0 to 3), ``priority``, ``tags``, ``verbatim`` (skip compiling),
        ``calibration_id`` (pin a calibration: the job is refused if the target has
        recalibrated since) and ``if_recalibrated`` (``"run"``: run a pinned job anyway).
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ValidationError(
                f"unknown run option(s) {unknown} for backend {self.name!r}; "
                f"known: {sorted(self.options)}"
            )
        opts = dict(self.options.__dict__) | options
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        if not circuits:
            raise ValidationError("run: no circuits given")
        for index, qc in enumerate(circuits):
            if not isinstance(qc, QuantumCircuit):
                raise ValidationError(
                    f"run: item {index} is a {type(qc).__name__}, not a QuantumCircuit"
                )
        with tracing.span("qrelay.client.run", target=self.name, circuits=len(circuits)):
            with tracing.span("qrelay.client.convert"):
                new_jobs, infos = self._build_jobs(circuits, opts)
            with tracing.span("qrelay.client.submit"):
                handles = self.submit_jobs(new_jobs)
            parent = tracing.traceparent()
        logger.debug("backend %s: submitted %d service job(s)", self.name, len(handles))
        return QRelayJob(self, handles, infos=infos, traceparent=parent)

    def submit_jobs(self, jobs: list[NewJob]) -> list[JobHandle]:
        """Submit service jobs through this backend's provider."""
        provider = self._require_provider()
        return [provider.submit_job(job) for job in jobs]

    def _require_provider(self) -> QRelayProvider:
        provider = self.provider
        if provider is None:
            raise ValidationError(f"backend {self.name!r} has no provider to submit through")
        return provider  # type: ignore[no-any-return]

    def _build_jobs(
        self, circuits: list[QuantumCircuit], opts: dict[str, Any]
    ) -> tuple[list[NewJob], list[RunInfo]]:
        from qrelay_qiskit.convert import from_qiskit

        shots = int(opts["shots"])
        if shots < 1:
            raise ValidationError(f"shots: {shots} is below 1")
        check_shots(shots, self._info)
        meas_level = int(opts["meas_level"])
        if meas_level not in (1, 2):
            raise ValidationError(f"meas_level: {meas_level} is not supported (use 1 or 2)")
        meas_return = str(getattr(opts["meas_return"], "value", opts["meas_return"]))
        if meas_return not in _MEAS_RETURNS:
            raise ValidationError(f"meas_return: {meas_return!r} is not 'single' or 'avg'")
        if meas_level == 1 and not self._info.capabilities.iq_readout:
            raise ValidationError(
                f"meas_level=1: target {self.name!r} gives no IQ readout; use meas_level=2"
            )
        # Built valid by construction and checked once, by the service that reads the
        # job's JSON (its error names the circuit); not checked here a second time. A
        # circuit given more than once (the same object, as in ``[qc] * 100``) is
        # converted once: its payload is immutable, so the list may share it.
        converted: dict[int, Circuit] = {}
        payloads = []
        for qc in circuits:
            payload = converted.get(id(qc))
            if payload is None:
                payload = converted[id(qc)] = from_qiskit(qc, validate=False)
            payloads.append(payload)
        for index, payload in enumerate(payloads):
            check_circuit(payload, self._info, index)
        tables = self._tables(payloads, opts.get("parameter_binds"))
        return self.plan_jobs(payloads, tables, opts)

    def plan_jobs(
        self, payloads: list[Circuit], tables: list[Bindings | None], opts: dict[str, Any]
    ) -> tuple[list[NewJob], list[RunInfo]]:
        """Service jobs for payload circuits and their tables, split to fit the limits
        (:func:`qrelay.runtime.splitting.split_job`); each records its segments."""
        meas_level = int(opts["meas_level"])
        meas_return = str(getattr(opts["meas_return"], "value", opts["meas_return"]))
        sim_method = opts.get("sim_method")
        job_type = JobType.SUBMIT
        method = None
        if sim_method is not None:
            try:
                method = SimMethod(sim_method)
            except ValueError as exc:
                raise ValidationError(
                    f"sim_method: {sim_method!r} is not one of {[m.value for m in SimMethod]}"
                ) from exc
            job_type = JobType.SIMULATE
        fields = run_options(opts).job_fields()
        for key in (PIN_OPTION, POLICY_OPTION):
            if opts.get(key) is not None:
                fields["options"][key] = str(opts[key])
        whole = parse(
            NewJob,
            {
                "job_type": job_type,
                "target": self.name,
                "circuits": payloads,
                "bindings": tables if any(t is not None for t in tables) else None,
                "sim_method": method,
                "priority": int(opts.get("priority") or 0),
                "tags": list(opts.get("tags") or []),
                **fields,
            },
        )

        def info_of(segments: tuple[Segment, ...]) -> RunInfo:
            return RunInfo(
                memory=bool(opts["memory"]),
                meas_level=meas_level,
                meas_return=meas_return,
                segments=segments,
                total=len(payloads),
            )

        parts = split_job(
            whole, self._info.limits, lambda segments: {RUN_KEY: info_of(segments).to_json()}
        )
        return [part.job for part in parts], [info_of(part.segments) for part in parts]

    @staticmethod
    def _tables(payloads: list[Circuit], binds: Any) -> list[Bindings | None]:
        if binds is None:
            for index, circuit in enumerate(payloads):
                if circuit.parameters:
                    raise ValidationError(
                        f"circuit {index} ({circuit.name or 'unnamed'}) has unbound parameters "
                        f"{sorted(circuit.parameters)}; bind them or pass parameter_binds"
                    )
            return [None] * len(payloads)
        if isinstance(binds, Mapping):
            binds = [binds]
        binds = list(binds)
        if len(binds) != len(payloads):
            raise ValidationError(
                f"parameter_binds: {len(binds)} entries for {len(payloads)} circuit(s); "
                "give one per circuit"
            )
        tables: list[Bindings | None] = []
        for index, (circuit, entry) in enumerate(zip(payloads, binds, strict=True)):
            if not circuit.parameters and not entry:
                tables.append(None)
                continue
            tables.append(bindings_from_qiskit(entry, circuit, index))
        return tables


def _restore_backend(
    provider: QRelayProvider | None, name: str, options: dict[str, Any]
) -> QRelayBackend:
    """A pickled backend again: target ``name`` of ``provider`` with ``options`` set."""
    if provider is None:
        raise ValidationError(f"backend {name!r} was pickled without a provider to reconnect")
    backend = QRelayBackend(provider, provider.get_backend(name).info)
    backend.set_options(**options)
    return backend
