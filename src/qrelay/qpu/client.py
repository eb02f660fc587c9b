"""The QPU API's result types and its client (internal; import them from :mod:`qrelay.qpu.api`).

:class:`QpuClient` knows where the controllers are and holds one gRPC channel per
address; :func:`client_or_default` gives the client a call uses when its caller named none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy.typing as npt

from qrelay.qpu.options import (
    ADDRESS_ENV,
    EndpointTable,
    ExecutionOptions,
    QpuApiDuration,
)

if TYPE_CHECKING:
    from qrelay.qpu.security import ClientSecurity


@dataclass(frozen=True)
class ExecutionResult:
    """One readout buffer: ``data`` of ``shape``, ``dtype`` ``"integer"`` or ``"complex"``.

    ``data`` is a read-only view of the received bytes (copy it to modify it).
    """

    shape: list[int]
    data: npt.NDArray[Any]
    dtype: Literal["integer", "complex"]

    def to_list(self) -> list[Any]:
        return list(self.data.tolist())


@dataclass(frozen=True)
class ExecutionResults:
    """Every buffer of one job, its final memory and the device time it took."""

    buffers: dict[str, ExecutionResult]
    memory: dict[str, list[float]] = field(default_factory=dict)
    execution_duration_microseconds: int | None = None


@dataclass(frozen=True)
class JobStatus:
    """Where a job is: ``state`` (queued, running, completed, failed, cancelled)."""

    job_id: str
    state: str
    quantum_processor_id: str
    estimated_delay: QpuApiDuration
    queue_position: int
    message: str
    execution_count: int

    @property
    def terminal(self) -> bool:
        return self.state in ("completed", "failed", "cancelled")


def grpc_module() -> Any:
    try:
        import grpc
    except ImportError as exc:  # pragma: no cover - grpcio is in the server extra
        from qrelay.errors import MissingDependencyError

        raise MissingDependencyError("grpcio", "server") from exc
    return grpc


def proto() -> tuple[Any, Any]:
    from qrelay.qpu._proto import controller_pb2, controller_pb2_grpc

    return controller_pb2, controller_pb2_grpc


class QpuClient:
    """Knows where the controllers are and keeps one channel per address.

    ``addresses`` maps a processor id to its own controller (``direct_access``);
    ``gateway`` is a controller that routes for every processor (``gateway``, the
    default); ``endpoints`` names endpoints for ``endpoint_id``. Anything unset falls
    back to ``QRELAY_QPU_ADDRESS``. Channels are opened on first use; ``close()`` (or
    ``with``) closes them.

    ``token`` is sent with every call; ``root_certificates`` (PEM) turns TLS on;
    ``max_message_bytes`` bounds one message each way. Each one left unset comes from
    the settings (``QRELAY_QPU_TOKEN`` or ``QRELAY_QPU_TOKEN_FILE``, ``QRELAY_QPU_TLS_CA``,
    ``QRELAY_QPU_MAX_MESSAGE_BYTES``, or the ``[qpu]`` table of the config file).
    """

    def __init__(
        self,
        addresses: Mapping[str, str] | None = None,
        gateway: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        *,
        token: str | None = None,
        root_certificates: bytes | None = None,
        max_message_bytes: int | None = None,
        server_name: str | None = None,
    ) -> None:
        self.table = EndpointTable(
            addresses=dict(addresses or {}), gateway=gateway, endpoints=dict(endpoints or {})
        )
        self._given: dict[str, Any] = {
            "token": token,
            "root_certificates": root_certificates,
            "max_message_bytes": max_message_bytes,
            "server_name": server_name,
        }
        self._security: ClientSecurity | None = None
        self._lock = threading.Lock()
        self._stubs: dict[str, tuple[Any, Any]] = {}
        self._aio: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, tuple[Any, Any]]
        ] = weakref.WeakKeyDictionary()

    def resolve(
        self, quantum_processor_id: str | None, options: ExecutionOptions | None = None
    ) -> str:
        """The ``host:port`` a call for this processor goes to under ``options``."""
        strategy = (options or ExecutionOptions()).connection_strategy
        return self.table.resolve(strategy, quantum_processor_id)

    @property
    def security(self) -> ClientSecurity:
        """The token, TLS root and message bound this client uses (settings fill gaps)."""
        with self._lock:
            return self._resolved()

    def _resolved(self) -> ClientSecurity:
        if self._security is None:
            grpc_module()
            from qrelay.qpu.security import client_security

            configured = client_security()
            given = {k: v for k, v in self._given.items() if v is not None}
            self._security = dataclasses.replace(configured, **given)
        return self._security

    def metadata(self) -> tuple[tuple[str, str], ...] | None:
        """The call metadata (the token) sent with every call."""
        return self.security.metadata()

    def stub(self, address: str) -> Any:
        with self._lock:
            found = self._stubs.get(address)
            if found is None:
                grpc = grpc_module()
                security = self._resolved()
                if security.tls:
                    channel = grpc.secure_channel(
                        address, security.credentials(), options=security.options()
                    )
                else:
                    channel = grpc.insecure_channel(address, options=security.options())
                found = (channel, proto()[1].ControllerStub(channel))
                self._stubs[address] = found
            return found[1]

    def aio_stub(self, address: str) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            per_loop = self._aio.setdefault(loop, {})
            found = per_loop.get(address)
            if found is None:
                grpc = grpc_module()
                security = self._resolved()
                if security.tls:
                    channel = grpc.aio.secure_channel(
                        address, security.credentials(), options=security.options()
                    )
                else:
                    channel = grpc.aio.insecure_channel(address, options=security.options())
                found = (channel, proto()[1].ControllerStub(channel))
                per_loop[address] = found
            return found[1]

    def close(self) -> None:
        """Close the synchronous channels (async ones close with their event loop)."""
        with self._lock:
            stubs, self._stubs = self._stubs, {}
        for channel, _stub in stubs.values():
            channel.close()

    async def aclose(self) -> None:
        """Close the channels this event loop opened."""
        loop = asyncio.get_running_loop()
        with self._lock:
            per_loop = self._aio.pop(loop, {})
        for channel, _stub in per_loop.values():
            await channel.close()

    def __enter__(self) -> QpuClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_default_lock = threading.Lock()
_default_clients: dict[str | None, QpuClient] = {}


def client_or_default(client: QpuClient | None) -> QpuClient:
    if client is not None:
        return client
    import os

    env = os.environ.get(ADDRESS_ENV) or None
    with _default_lock:
        found = _default_clients.get(env)
        if found is None:
            found = _default_clients[env] = QpuClient()
        return found
