"""The ``direct`` provider: one QPU controller through :mod:`qrelay.qpu.api`, no service.

Each circuit of a job is compiled to the device (with the ``qiskit-transpile`` compiler
plugin when it is installed and the job is not ``verbatim``), translated to an
executable, and submitted with its bindings table as one parameter batch; results come
back per binding row as payload readouts. There is no queue of ours, no user and no
balance: this is the path for a lab that owns a controller and wants no service.

Job handles live in this process only (the controller keeps results, but the register
layout of each executable is known only here); ``job(id)`` finds jobs submitted through
any ``DirectProvider`` of this process.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from qrelay import registry
from qrelay.errors import (
    ConfigurationError,
    NotFoundError,
    QpuJobCancelledError,
    QpuJobFailedError,
    QpuNotFoundError,
    QpuTimeoutError,
)
from qrelay.payload import (
    CircuitStatus,
    JobCancellationResults,
    JobData,
    JobResults,
    JobStatus,
    NewJob,
    Readout,
    RunOptions,
    TargetInfo,
    TargetModel,
    TargetStatus,
    job_status,
)
from qrelay.qpu.native import PatchLayout
from qrelay.runtime.async_client import raise_for_outcome

_STATES = {
    "queued": CircuitStatus.PENDING,
    "running": CircuitStatus.RUNNING,
    "completed": CircuitStatus.COMPLETED,
    "failed": CircuitStatus.FAILED,
    "cancelled": CircuitStatus.CANCELLED,
}


@dataclass
class _Part:
    """One circuit of a direct job: its translation and its controller job ids (per row)."""

    translation: Any
    job_ids: list[str]
    circuit: Any


class DirectJob:
    """A job on one controller: a handle with the same methods as :class:`qrelay.Job`."""

    def __init__(self, provider: DirectProvider, job: NewJob, parts: list[_Part]) -> None:
        self._provider = provider
        self._job = job
        self._parts = parts
        self._job_id = f"direct-{uuid.uuid4().hex[:16]}"
        self._submitted = datetime.now(UTC)
        self._readouts: list[list[Readout] | None] | None = None
        self._messages: list[str | None] = [None] * len(parts)
        self._statuses: list[CircuitStatus] = [CircuitStatus.PENDING] * len(parts)

    @property
    def job_id(self) -> str:
        return self._job_id

    @property
    def controller_job_ids(self) -> list[list[str]]:
        """The controller's job ids, per circuit and binding row."""
        return [list(part.job_ids) for part in self._parts]

    def _refresh(self) -> None:
        from qrelay.qpu import api

        if self._readouts is not None:
            return
        for i, part in enumerate(self._parts):
            if self._statuses[i] in (CircuitStatus.FAILED, CircuitStatus.CANCELLED):
                continue
            states = [
                api.get_job_status(job_id, client=self._provider.qpu_client)
                for job_id in part.job_ids
            ]
            # A state this version does not know fails the circuit, naming the state: a
            # waiter must never wait on a state that no transition leaves.
            mapped = [_STATES.get(s.state, CircuitStatus.FAILED) for s in states]
            self._statuses[i] = job_status(mapped)
            failed = next(
                (
                    s.message or None
                    if s.state == "failed"
                    else f"the controller reported an unknown state {s.state!r}"
                    for s in states
                    if s.state not in _STATES or s.state == "failed"
                ),
                None,
            )
            self._messages[i] = failed

    def data(self) -> JobData:
        self._refresh()
        return self._data()

    def _data(self) -> JobData:
        done = self._readouts is not None
        counts: list[dict[str, int] | None] = (
            [rows[0].counts() if rows else None for rows in self._readouts]
            if self._readouts is not None
            else [None] * len(self._parts)
        )
        return JobData(
            job_id=self._job_id,
            job_type=self._job.job_type,
            target=self._job.target,
            user_email="direct@localhost",
            status=job_status(self._statuses),
            statuses=list(self._statuses),
            status_messages=list(self._messages),
            num_circuits=len(self._parts),
            shots=[self._job.shots] * len(self._parts),
            counts=counts,
            compiled_circuits=[part.circuit for part in self._parts],
            tags=list(self._job.tags),
            metadata=dict(self._job.metadata),
            submission_timestamp=self._submitted,
            readouts=self._readouts if done else None,
            layouts=list(self._job.circuits) if done else None,
        )

    def status(self) -> JobStatus:
        return self.data().status

    def wait(self, timeout: float | None = None) -> JobData:
        """Wait for every row of every circuit; ``JobTimeoutError`` past ``timeout``."""
        from qrelay.errors import JobTimeoutError
        from qrelay.qpu import api

        if self._readouts is not None:
            return self._data()
        options = api.ExecutionOptions(timeout=timeout)
        readouts: list[list[Readout] | None] = []
        for i, part in enumerate(self._parts):
            try:
                results = api.retrieve_results_batch(
                    part.job_ids, client=self._provider.qpu_client, execution_options=options
                )
            except (QpuJobFailedError, QpuJobCancelledError) as exc:
                failed = isinstance(exc, QpuJobFailedError)
                self._statuses[i] = CircuitStatus.FAILED if failed else CircuitStatus.CANCELLED
                self._messages[i] = str(exc)
                readouts.append(None)
                continue
            except QpuTimeoutError as exc:
                raise JobTimeoutError(
                    f"job {self._job_id} did not finish within {timeout} s",
                    job_id=self._job_id,
                ) from exc
            readouts.append([part.translation.to_readout(r) for r in results])
            self._statuses[i] = CircuitStatus.COMPLETED
        self._readouts = readouts
        return self._data()

    def result(self, timeout: float | None = None) -> JobResults:
        data = self.wait(timeout)
        raise_for_outcome(data)
        assert data.readouts is not None
        return JobResults(
            job_id=self._job_id,
            statuses=data.statuses,
            circuits=list(self._job.circuits),
            readouts=data.readouts,
        )

    def cancel(self) -> JobCancellationResults:
        from qrelay.qpu import api

        outcomes: dict[str, str] = {}
        for part in self._parts:
            outcomes |= api.cancel_jobs(part.job_ids, client=self._provider.qpu_client)
        if outcomes and all(o == "cancelled" for o in outcomes.values()):
            self._statuses = [CircuitStatus.CANCELLED] * len(self._parts)
            return JobCancellationResults(succeeded=[self._job_id])
        if all(o == "already_finished" for o in outcomes.values()):
            return JobCancellationResults(already_terminal=[self._job_id])
        return JobCancellationResults(
            succeeded=[self._job_id],
            warnings=[f"{k}: {v}" for k, v in outcomes.items() if v != "cancelled"],
        )


class DirectProvider:
    """One QPU controller as a provider. See the module docstring."""

    _jobs: ClassVar[dict[str, DirectJob]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        address: str | None = None,
        *,
        qpu_client: Any = None,
        compile: bool = True,  # noqa: A002 - mirrors the job option it controls
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigurationError(
                f"direct provider: unknown option(s) {sorted(unknown)} "
                "(known: address, qpu_client, compile)"
            )
        from qrelay.qpu import api

        if qpu_client is None:
            if address is None:
                import os

                address = os.environ.get(api.ADDRESS_ENV) or None
            token = None
            if address is None:
                start_fleet = registry.load(registry.EMBEDDED, "fleet")
                fleet = start_fleet()
                address, token = fleet.address, fleet.token
            qpu_client = api.QpuClient(gateway=address, token=token)
        self.address = address
        self.qpu_client = qpu_client
        self._compile = compile
        self._infos: dict[str, TargetInfo] = {}

    @property
    def name(self) -> str:
        return "direct"

    def targets(self) -> list[TargetModel]:
        from qrelay.qpu import api

        info = api.get_controller_info(client=self.qpu_client)
        names = [d["quantum_processor_id"] for d in info.get("devices", [])]
        return [TargetModel.from_info(self.target(name)) for name in names]

    def target(self, name: str) -> TargetInfo:
        from qrelay.qpu import api

        try:
            info = api.get_device_info(name, client=self.qpu_client)
        except QpuNotFoundError as exc:
            raise NotFoundError(
                f"the controller has no device {name!r} ({exc})", status=404, code="not_found"
            ) from exc
        info = info.model_copy(update={"status": TargetStatus.AVAILABLE})
        self._infos[name] = info
        return info

    def _compiler(self) -> Any:
        if not self._compile:
            return None
        try:
            return registry.load(registry.COMPILERS, "qiskit-transpile")()
        except ConfigurationError:
            return None

    def submit(self, job: NewJob) -> DirectJob:
        from qrelay.qpu import api, translation
        from qrelay.qpu.options import ApiExecutionOptions, ExecutionOptions

        target = self._infos.get(job.target) or self.target(job.target)
        compiler = None if job.verbatim else self._compiler()
        run = RunOptions.of(job)
        level, seed = run.optimization_level, run.seed
        parts = []
        key = uuid.uuid4().hex
        for index, circuit in enumerate(job.circuits):
            compiled = (
                compiler.compile(circuit, target, optimization_level=level).circuit
                if compiler
                else circuit
            )
            translated = translation.translate(
                compiled, job.shots, job.target, iq_readout=job.meas_level == 1
            )
            table = job.bindings[index] if job.bindings else None
            ids = api.submit_with_parameter_batch(
                translated,
                PatchLayout.of(compiled).sets(table),
                client=self.qpu_client,
                # circuit i draws with seed + i, as a worker's task does
                execution_options=ExecutionOptions.builder()
                .api_options(
                    ApiExecutionOptions(seed=None if seed is None else (seed + index) % 2**32)
                )
                .build(),
                idempotency_key=f"{key}-{index}",
            )
            parts.append(_Part(translation=translated, job_ids=ids, circuit=compiled))
        handle = DirectJob(self, job, parts)
        with self._lock:
            self._jobs[handle.job_id] = handle
        return handle

    def job(self, job_id: str) -> DirectJob:
        with self._lock:
            found = self._jobs.get(job_id)
        if found is None:
            raise NotFoundError(
                f"no direct job {job_id!r} in this process (direct jobs are kept by the "
                "process that submitted them)",
                status=404,
                code="not_found",
            )
        return found

    def close(self) -> None:
        self.qpu_client.close()

    def __repr__(self) -> str:
        return f"<DirectProvider {self.address}>"
