"""Targets: what a device is, what it can do, and what it costs.

:class:`TargetInfo` carries what a transpiler and a noise model need, so a Qiskit
``Target``, a Cirq device and the emulator's noise are all built from this one object.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import Field, JsonValue

from qrelay.payload._base import WireModel
from qrelay.payload.maintenance import MaintenanceWindow


class TargetStatus(str, Enum):
    """Whether a target takes jobs now. ``available`` needs a live worker serving it."""

    AVAILABLE = "available"
    OFFLINE = "offline"
    RETIRED = "retired"
    DEV_ONLY = "dev_only"
    #: A maintenance window is open: jobs queue, none runs until it ends.
    MAINTENANCE = "maintenance"


class QubitProperties(WireModel):
    """Calibration of one qubit. Times in microseconds, frequency in GHz."""

    t1_us: Annotated[float, Field(gt=0)] | None = None
    t2_us: Annotated[float, Field(gt=0)] | None = None
    frequency_ghz: float | None = None
    readout_error: Annotated[float, Field(ge=0, le=1)] | None = None
    readout_duration_ns: Annotated[float, Field(ge=0)] | None = None


class GateProperties(WireModel):
    """One native op on one qubit tuple: its error probability and duration."""

    op: str
    qubits: list[int]
    error: Annotated[float, Field(ge=0, le=1)] | None = None
    duration_ns: Annotated[float, Field(ge=0)] | None = None


class TargetLimits(WireModel):
    """What one job may ask of the target."""

    max_shots: Annotated[int, Field(ge=1)] = 100_000
    max_circuits: Annotated[int, Field(ge=1)] = 1_000
    max_qubits: Annotated[int, Field(ge=1)] | None = None
    max_bindings: Annotated[int, Field(ge=1)] = 100_000
    max_instructions: Annotated[int, Field(ge=1)] = 1_000_000
    #: The most turns one ``while`` loop may take in one shot; a shot that reaches it
    #: fails the run (payload.v2 control flow).
    max_loop_iterations: Annotated[int, Field(ge=1, le=1_000_000)] = 1_000


class TargetCapabilities(WireModel):
    """What the device can run beyond a plain circuit.

    ``expectation_values``: the target computes exact expectation values of a circuit's
    observables (an ideal simulator; see :mod:`qrelay.payload.observables`).
    """

    parameter_batch: bool = False
    mid_circuit_measurement: bool = True
    reset: bool = True
    feed_forward: bool = False
    iq_readout: bool = False
    expectation_values: bool = False
    #: With ``feed_forward``: the control-flow ops of :mod:`qrelay.payload.control` the
    #: device runs (``if``, ``while``, ``for``, ``switch``, ``break``, ``continue``,
    #: ``store``), and whether its conditions may be classical expressions
    #: (``expressions``). ``None``: all of them.
    control_flow: list[str] | None = None

    def runs(self, feature: str) -> bool:
        """True when the device runs control-flow op (or feature) ``feature``."""
        return self.feed_forward and (self.control_flow is None or feature in self.control_flow)


class TargetInfo(WireModel):
    """A target in full: the catalog entry, its calibration and its live status.

    ``native_ops`` is empty for simulators that take any op. ``gates`` lists per qubit
    tuple the ops with their calibration; ``coupling_map`` the directed pairs that a
    two-qubit op may act on (``None``: all-to-all). ``driver`` names the device driver
    plugin that serves it (``aer``, ``cirq``, ``qpu-grpc``).
    """

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
    description: str = ""
    provider: str = "qrelay"
    driver: str
    simulator: bool = False
    num_qubits: Annotated[int, Field(ge=1)]
    native_ops: list[str] = []
    coupling_map: list[tuple[int, int]] | None = None
    qubits: list[QubitProperties] = []
    gates: list[GateProperties] = []
    dt_ns: Annotated[float, Field(gt=0)] | None = None
    limits: TargetLimits = TargetLimits()
    capabilities: TargetCapabilities = TargetCapabilities()
    price_per_shot: Annotated[float, Field(ge=0)] = 0.0
    calibration_id: str | None = None
    status: TargetStatus = TargetStatus.OFFLINE
    queue_depth: Annotated[int, Field(ge=0)] = 0
    #: The target's open and coming maintenance windows, soonest first.
    maintenance: list[MaintenanceWindow] = []
    supports_submit: bool = True
    supports_compile: bool = True
    options: dict[str, JsonValue] = {}


class TargetModel(WireModel):
    """A target's one-line summary, as ``GET /v1/targets`` lists it."""

    target_name: str
    num_qubits: int
    simulator: bool
    status: TargetStatus
    supports_submit: bool = True
    supports_compile: bool = True
    available: bool = False
    retired: bool = False
    price_per_shot: float = 0.0
    queue_depth: int = 0

    @classmethod
    def from_info(cls, info: TargetInfo) -> TargetModel:
        return cls(
            target_name=info.name,
            num_qubits=info.num_qubits,
            simulator=info.simulator,
            status=info.status,
            supports_submit=info.supports_submit,
            supports_compile=info.supports_compile,
            available=info.status is TargetStatus.AVAILABLE,
            retired=info.status is TargetStatus.RETIRED,
            price_per_shot=info.price_per_shot,
            queue_depth=info.queue_depth,
        )


class GetTargetsFilterModel(WireModel):
    """Filters of ``GET /v1/targets``; a field left ``None`` does not filter."""

    simulator: bool | None = None
    supports_submit: bool | None = None
    supports_compile: bool | None = None
    available: bool | None = None
    retired: bool | None = None
    min_num_qubits: Annotated[int, Field(ge=0)] | None = None

    def admits(self, model: TargetModel) -> bool:
        """Whether ``model`` passes every filter that is set (``None`` filters nothing)."""
        checks = (
            (self.simulator, model.simulator),
            (self.supports_submit, model.supports_submit),
            (self.supports_compile, model.supports_compile),
            (self.available, model.available),
            (self.retired, model.retired),
        )
        if any(wanted is not None and wanted != actual for wanted, actual in checks):
            return False
        return self.min_num_qubits is None or model.num_qubits >= self.min_num_qubits


class RetrieveTargetInfoModel(WireModel):
    """Asks for one target's full info, with options that may change it (e.g. noise)."""

    target: str
    options_dict: dict[str, Any] = {}
