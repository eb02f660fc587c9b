"""Options of the QPU API: how to reach a controller, and how patiently.

Kept apart from :mod:`qrelay.qpu.api` so importing the options needs no gRPC.

Where a call goes (:class:`ConnectionStrategy`, resolved by :class:`QpuClient`):

- ``endpoint_address(addr)``: exactly ``addr``, no lookup.
- ``endpoint_id(id)``: the address the client's ``endpoints`` table gives ``id``.
- ``direct_access()``: the processor's own controller, from the client's ``addresses``
  table; then ``QRELAY_QPU_ADDRESS``.
- ``gateway()`` (the default): the client's ``gateway``, which routes for every processor;
  then the processor's own address; then ``QRELAY_QPU_ADDRESS``.

A strategy that resolves to nothing raises :class:`~qrelay.errors.BuildOptionsError`
naming what to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from qrelay.errors import BuildOptionsError

#: The environment variable naming the default controller (``host:port``).
ADDRESS_ENV: Final = "QRELAY_QPU_ADDRESS"

StrategyKind = Literal["gateway", "direct_access", "endpoint_id", "endpoint_address"]


@dataclass(frozen=True)
class ConnectionStrategy:
    """Which controller endpoint a call uses; build one with the static constructors."""

    kind: StrategyKind = "gateway"
    value: str | None = None

    @staticmethod
    def gateway() -> ConnectionStrategy:
        """Through the routing endpoint that serves every processor (the default)."""
        return ConnectionStrategy("gateway")

    @staticmethod
    def direct_access() -> ConnectionStrategy:
        """The processor's own controller endpoint."""
        return ConnectionStrategy("direct_access")

    @staticmethod
    def endpoint_id(endpoint_id: str) -> ConnectionStrategy:
        """A named endpoint, looked up in the client's ``endpoints`` table."""
        if not endpoint_id:
            raise BuildOptionsError("endpoint_id: must not be empty")
        return ConnectionStrategy("endpoint_id", endpoint_id)

    @staticmethod
    def endpoint_address(address: str) -> ConnectionStrategy:
        """A raw ``host:port``, used as is."""
        if not address or ":" not in address:
            raise BuildOptionsError(f"endpoint_address: {address!r} is not host:port")
        return ConnectionStrategy("endpoint_address", address)

    def is_gateway(self) -> bool:
        return self.kind == "gateway"

    def is_direct_access(self) -> bool:
        return self.kind == "direct_access"

    def get_endpoint_id(self) -> str | None:
        return self.value if self.kind == "endpoint_id" else None

    def get_endpoint_address(self) -> str | None:
        return self.value if self.kind == "endpoint_address" else None


@dataclass(frozen=True)
class QpuApiDuration:
    """A duration as seconds plus nanoseconds, like ``google.protobuf.Duration``."""

    seconds: int = 0
    nanos: int = 0

    def __post_init__(self) -> None:
        if self.seconds < 0 or not 0 <= self.nanos < 1_000_000_000:
            raise BuildOptionsError(
                f"QpuApiDuration: seconds must be >= 0 and nanos in [0, 1e9), got "
                f"{self.seconds}s {self.nanos}ns"
            )

    @classmethod
    def from_seconds(cls, seconds: float) -> QpuApiDuration:
        if seconds < 0:
            raise BuildOptionsError(f"duration: {seconds} seconds is negative")
        whole = int(seconds)
        return cls(whole, round((seconds - whole) * 1e9) % 1_000_000_000)

    def total_seconds(self) -> float:
        return self.seconds + self.nanos / 1e9


def _duration(value: QpuApiDuration | float | None, what: str) -> QpuApiDuration | None:
    if value is None or isinstance(value, QpuApiDuration):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BuildOptionsError(f"{what}: expected seconds or a QpuApiDuration, got {value!r}")
    return QpuApiDuration.from_seconds(float(value))


@dataclass(frozen=True, init=False)
class ApiExecutionOptions:
    """Options sent with each request to the controller.

    ``bypass_settings_protection`` runs a program although the device was recalibrated
    since it was translated. ``timeout`` bounds each call to the controller (its gRPC
    deadline); ``None`` uses the execution options' timeout. ``seed`` (0 to 2**32 - 1)
    seeds an emulated device's shot and readout noise, so the same submission gives the
    same readout; ``None`` lets the controller draw one.
    """

    bypass_settings_protection: bool = False
    timeout: QpuApiDuration | None = None
    seed: int | None = None

    def __init__(
        self,
        bypass_settings_protection: bool = False,
        timeout: QpuApiDuration | float | None = None,
        seed: int | None = None,
    ) -> None:
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32
        ):
            raise BuildOptionsError(f"api_options.seed: {seed!r} is not an integer in [0, 2**32)")
        object.__setattr__(self, "bypass_settings_protection", bool(bypass_settings_protection))
        object.__setattr__(self, "timeout", _duration(timeout, "api_options.timeout"))
        object.__setattr__(self, "seed", seed)


@dataclass(frozen=True)
class ExecutionOptions:
    """How the API reaches a controller (``connection_strategy``) and how long it waits.

    ``timeout`` (seconds, ``None``: no bound) bounds each call and the whole wait of
    ``retrieve_results``.
    """

    connection_strategy: ConnectionStrategy = field(default_factory=ConnectionStrategy.gateway)
    timeout: float | None = 30.0
    api_options: ApiExecutionOptions | None = None

    def __post_init__(self) -> None:
        if self.timeout is not None and not self.timeout > 0:
            raise BuildOptionsError(f"timeout: {self.timeout} must be positive or None")
        if not isinstance(self.connection_strategy, ConnectionStrategy):
            raise BuildOptionsError("connection_strategy: expected a ConnectionStrategy")

    @classmethod
    def default(cls) -> ExecutionOptions:
        return cls()

    @staticmethod
    def builder() -> ExecutionOptionsBuilder:
        return ExecutionOptionsBuilder()

    def call_timeout(self) -> float | None:
        """The deadline of one call: the API options' timeout, else ``timeout``."""
        if self.api_options is not None and self.api_options.timeout is not None:
            return self.api_options.timeout.total_seconds()
        return self.timeout


class ExecutionOptionsBuilder:
    """Builds :class:`ExecutionOptions` step by step; ``build()`` checks the result."""

    def __init__(self, base: ExecutionOptions | None = None) -> None:
        self._options = base or ExecutionOptions()
        self._error: str | None = None

    @classmethod
    def default(cls) -> ExecutionOptionsBuilder:
        return cls()

    def connection_strategy(self, strategy: ConnectionStrategy) -> ExecutionOptionsBuilder:
        if not isinstance(strategy, ConnectionStrategy):
            self._error = f"connection_strategy: expected a ConnectionStrategy, got {strategy!r}"
        else:
            self._options = replace(self._options, connection_strategy=strategy)
        return self

    def timeout(self, seconds: float | QpuApiDuration | None) -> ExecutionOptionsBuilder:
        value = seconds.total_seconds() if isinstance(seconds, QpuApiDuration) else seconds
        if value is not None and not value > 0:
            self._error = f"timeout: {seconds!r} must be positive or None"
        else:
            self._options = replace(self._options, timeout=value)
        return self

    def api_options(self, options: ApiExecutionOptions | None) -> ExecutionOptionsBuilder:
        self._options = replace(self._options, api_options=options)
        return self

    def build(self) -> ExecutionOptions:
        if self._error is not None:
            raise BuildOptionsError(self._error)
        return replace(self._options)


@dataclass(frozen=True)
class EndpointTable:
    """The addresses a :class:`ConnectionStrategy` resolves through (no connections)."""

    addresses: Mapping[str, str] = field(default_factory=dict)
    gateway: str | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, strategy: ConnectionStrategy, quantum_processor_id: str | None) -> str:
        """The ``host:port`` a call for ``quantum_processor_id`` goes to."""
        env = os.environ.get(ADDRESS_ENV) or None
        if strategy.kind == "endpoint_address":
            assert strategy.value is not None
            return strategy.value
        if strategy.kind == "endpoint_id":
            assert strategy.value is not None
            if strategy.value not in self.endpoints:
                known = ", ".join(sorted(self.endpoints)) or "none"
                raise BuildOptionsError(
                    f"endpoint_id {strategy.value!r} is unknown to this client (known: {known})"
                )
            return self.endpoints[strategy.value]
        if quantum_processor_id:
            direct = self.addresses.get(quantum_processor_id)
        else:  # a call about no processor in particular: any one controller will do
            distinct = set(self.addresses.values())
            direct = distinct.pop() if len(distinct) == 1 else None
        via_gateway = self.gateway if strategy.kind == "gateway" else None
        found = via_gateway or direct or env
        if not found:
            raise BuildOptionsError(
                f"no controller address for {quantum_processor_id or 'this call'} "
                f"({strategy.kind}): pass QpuClient(addresses={{...}}) or "
                f"QpuClient(gateway=...), use ConnectionStrategy.endpoint_address(...), "
                f"or set {ADDRESS_ENV}"
            )
        return found
