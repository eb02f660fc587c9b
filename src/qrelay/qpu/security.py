"""Who may call a QPU controller, over what, and how large a message may be.

A controller checks a shared secret on every call: the client sends it in the
``authorization`` call metadata (``Bearer <token>``), a server interceptor compares it in
constant time with each token it accepts, and refuses anything else with
``UNAUTHENTICATED`` before a servicer method runs. A controller may accept several tokens
(one per deployment that shares it); idempotency keys are scoped per token, so two
callers can never see each other's executions through a key (see :func:`caller_id`).

TLS is optional and uses grpcio's own credentials: the server is given its certificate
chain and private key (``grpc.ssl_server_credentials``), the client the root certificate
that signed it (``grpc.ssl_channel_credentials``).

Messages are bounded both ways by ``max_message_bytes`` (default
:data:`DEFAULT_MAX_MESSAGE_BYTES`): the largest real executable and the largest readout
of one job fit with room to spare; results of many jobs are split over several answers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import grpc

from qrelay.errors import ConfigurationError

if TYPE_CHECKING:
    from qrelay.settings import QpuSettings

log = logging.getLogger(__name__)

#: Call metadata that carries the token (gRPC metadata keys are lower case).
TOKEN_METADATA_KEY: Final = "authorization"  # noqa: S105 - a header name
_SCHEME: Final = "Bearer "
#: Default bound of one gRPC message, each way. A full 27-qubit readout of 100,000 shots
#: is 2.7 MB (one byte per bit); IQ points add 8 bytes per bit.
DEFAULT_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
#: The setting that changes it, named in every error about it.
MAX_MESSAGE_SETTING: Final = "qpu_max_message_bytes (QRELAY_QPU_MAX_MESSAGE_BYTES)"


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    """gRPC channel and server options that bound messages to ``max_message_bytes``."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def call_metadata(token: str | None) -> tuple[tuple[str, str], ...] | None:
    """The metadata a client sends with each call (``None`` without a token)."""
    if not token:
        return None
    return ((TOKEN_METADATA_KEY, _SCHEME + token),)


def presented_token(metadata: Sequence[Any] | None) -> str:
    """The token a call carries in its metadata, or ``""``."""
    for item in metadata or ():
        if item.key == TOKEN_METADATA_KEY and isinstance(item.value, str):
            value: str = item.value
            return value.removeprefix(_SCHEME) if value.startswith(_SCHEME) else ""
    return ""


def caller_id(token: str) -> str:
    """A stable, non-secret name for the holder of ``token`` (``""`` for no token).

    The controller prefixes idempotency keys with it: a key given by one caller can
    never replay, or collide with, an execution of another.
    """
    if not token:
        return ""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def read_tokens(path: Path) -> list[str]:
    """The tokens in a token file: one per line; blank lines and ``#`` comments skipped."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"QPU token file {path}: {exc.strerror or exc}") from exc
    tokens = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    if not tokens:
        raise ConfigurationError(f"QPU token file {path}: holds no token")
    return tokens


def read_pem(path: Path, what: str) -> bytes:
    """A PEM file's bytes; a clear error naming ``what`` when it cannot be read."""
    try:
        data = path.expanduser().read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{what} {path}: {exc.strerror or exc}") from exc
    if b"-----BEGIN " not in data:
        raise ConfigurationError(f"{what} {path}: not a PEM file")
    return data


@dataclass(frozen=True)
class ServerSecurity:
    """How a controller guards itself: accepted tokens, TLS, message bound.

    ``tokens`` empty means every caller is let in (an operator must then firewall the
    port). ``certificate_chain`` and ``private_key`` (PEM) turn TLS on.
    """

    tokens: tuple[str, ...] = ()
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    _digests: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if any(not t for t in self.tokens):
            raise ConfigurationError("QPU controller tokens: a token must not be empty")
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ConfigurationError(
                "QPU controller TLS: give both the certificate chain and the private key"
            )
        if self.max_message_bytes < 1024:
            raise ConfigurationError(
                f"{MAX_MESSAGE_SETTING}: {self.max_message_bytes} is below 1024 bytes"
            )
        digests = tuple(hashlib.sha256(t.encode()).digest() for t in self.tokens)
        object.__setattr__(self, "_digests", digests)

    @property
    def tls(self) -> bool:
        return self.certificate_chain is not None

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is one of the accepted tokens (constant time per token)."""
        if not self._digests:
            return True
        digest = hashlib.sha256(token.encode()).digest()
        found = False
        for known in self._digests:  # no early exit: every token is compared
            found |= hmac.compare_digest(digest, known)
        return found

    def credentials(self) -> grpc.ServerCredentials:
        assert self.certificate_chain is not None
        assert self.private_key is not None
        return grpc.ssl_server_credentials([(self.private_key, self.certificate_chain)])

    def interceptors(self) -> list[grpc.ServerInterceptor]:
        return [TokenInterceptor(self)] if self.tokens else []


def _refuse(message: str) -> grpc.RpcMethodHandler:
    def handler(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(handler)


class TokenInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses every call whose metadata does not carry an accepted token."""

    def __init__(self, security: ServerSecurity) -> None:
        self._security = security
        self._missing = _refuse(
            f"no token: send '{TOKEN_METADATA_KEY}: Bearer <token>' in the call metadata"
        )
        self._wrong = _refuse("the token is not accepted by this controller")

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        token = presented_token(handler_call_details.invocation_metadata)
        if not token:
            log.info("QPU call %s refused: no token", handler_call_details.method)
            return self._missing
        if not self._security.accepts(token):
            log.info("QPU call %s refused: wrong token", handler_call_details.method)
            return self._wrong
        return continuation(handler_call_details)


@dataclass(frozen=True)
class ClientSecurity:
    """How a client reaches a controller: its token, the TLS root, the message bound."""

    token: str | None = None
    root_certificates: bytes | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: The name the server's certificate must carry, when it differs from the host.
    server_name: str | None = None

    @property
    def tls(self) -> bool:
        return self.root_certificates is not None

    def options(self) -> list[tuple[str, Any]]:
        options = channel_options(self.max_message_bytes)
        if self.tls and self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return options

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(root_certificates=self.root_certificates)

    def metadata(self) -> tuple[tuple[str, str], ...] | None:
        return call_metadata(self.token)


def configured_tokens(settings: QpuSettings) -> list[str]:
    """Every token configured: ``qpu_token`` first, then those of ``qpu_token_file``."""
    found = [settings.qpu_token.get_secret_value()] if settings.qpu_token else []
    if settings.qpu_token_file is not None:
        found += read_tokens(settings.qpu_token_file)
    return found


def server_security(settings: QpuSettings | None = None, **overrides: Any) -> ServerSecurity:
    """A controller's guard from the settings (``QRELAY_QPU_*``, the ``[qpu]`` table)."""
    from qrelay.settings import QpuSettings

    s = settings or QpuSettings.load(**overrides)
    if (s.qpu_tls_cert is None) != (s.qpu_tls_key is None):
        raise ConfigurationError("QPU controller TLS: set both qpu_tls_cert and qpu_tls_key")
    return ServerSecurity(
        tokens=tuple(configured_tokens(s)),
        certificate_chain=None
        if s.qpu_tls_cert is None
        else read_pem(s.qpu_tls_cert, "qpu_tls_cert"),
        private_key=None if s.qpu_tls_key is None else read_pem(s.qpu_tls_key, "qpu_tls_key"),
        max_message_bytes=s.qpu_max_message_bytes,
    )


def client_security(settings: QpuSettings | None = None, **overrides: Any) -> ClientSecurity:
    """A client's way to a controller from the settings: its token, TLS root, bound."""
    from qrelay.settings import QpuSettings

    s = settings or QpuSettings.load(**overrides)
    tokens = configured_tokens(s)
    return ClientSecurity(
        token=tokens[0] if tokens else None,
        root_certificates=None if s.qpu_tls_ca is None else read_pem(s.qpu_tls_ca, "qpu_tls_ca"),
        max_message_bytes=s.qpu_max_message_bytes,
        server_name=s.qpu_tls_server_name,
    )
