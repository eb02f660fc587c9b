"""The one exception tree of qrelay.

Every error qrelay raises on purpose is a :class:`QRelayError`, so a caller can catch
ours without catching the world. Third-party errors (httpx, grpc, SQLAlchemy, Qiskit,
Cirq) are translated once, where they enter, with ``raise ... from exc`` so the cause
stays visible.

::

    QRelayError
    ├── ValidationError            bad input: names the field, instruction, qubit or register
    │   ├── PayloadError           a circuit, expression, bindings table or readout is invalid
    │   └── ConversionError        a framework object cannot become a payload (or back)
    ├── ConfigurationError         settings, config file, profile, plugin or missing extra
    │   └── MissingDependencyError an optional dependency is not installed (with the extra)
    ├── TransportError             the network failed: connect, read, timeout
    ├── ServiceError               the service answered with an error (problem+json)
    │   ├── AuthenticationError    401: no, malformed or revoked token
    │   ├── PermissionDeniedError  403: the token may not do this
    │   ├── NotFoundError          404: no such job, target or user (or not yours)
    │   ├── ConflictError          409: lease lost, concurrent duplicate, wrong state
    │   ├── InsufficientBalanceError 402
    │   └── RateLimitedError       429 / 503 with Retry-After
    ├── JobError                   a job did not give what was asked
    │   ├── JobFailedError         a circuit failed; carries the reason
    │   ├── JobCancelledError      the job was cancelled
    │   └── JobTimeoutError        waiting ran past its bound
    └── DeviceError                a device or its controller refused or failed
        ├── ChildGoneError         a simulation's child process ended before it answered
        └── QpuApiError            the QPU API (``qrelay.qpu.api``); ``.code`` says what
            ├── SubmissionError    the controller refused an executable or patch values
            ├── BuildOptionsError  execution options that cannot be built
            ├── QpuTimeoutError    a wait for results ran past its bound (the jobs go on)
            ├── QpuJobFailedError  a job failed on the device
            ├── QpuJobCancelledError a job was cancelled on the controller
            ├── QpuUnavailableError the controller cannot be reached or did not answer
            ├── QpuNotFoundError   the controller knows no such job or processor
            └── QpuAuthenticationError the controller refused the caller's token
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BuildOptionsError",
    "ChildGoneError",
    "ConfigurationError",
    "ConflictError",
    "ConversionError",
    "DeviceError",
    "InsufficientBalanceError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobTimeoutError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadError",
    "PermissionDeniedError",
    "QRelayError",
    "QpuApiError",
    "QpuAuthenticationError",
    "QpuJobCancelledError",
    "QpuJobFailedError",
    "QpuNotFoundError",
    "QpuTimeoutError",
    "QpuUnavailableError",
    "RateLimitedError",
    "ServiceError",
    "SubmissionError",
    "TransportError",
    "ValidationError",
]


class QRelayError(Exception):
    """The root of every error qrelay raises on purpose."""


class ValidationError(QRelayError, ValueError):
    """Bad input. The message names what is wrong: field, instruction, qubit or register.

    It is also a :class:`ValueError`, so code that validates with the standard idiom
    keeps working.
    """

    def __init__(self, message: str, *, location: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.location = location


class PayloadError(ValidationError):
    """A payload object (circuit, expression, bindings, readout) is invalid."""


class ConversionError(ValidationError):
    """A framework object cannot be turned into a payload, or a payload into it."""


class ConfigurationError(QRelayError):
    """Settings, a config file, a profile or a plugin is wrong or missing."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message says which extra installs it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module!r} is not installed; install it with: pip install 'qrelay[{extra}]'"
        )
        self.module = module
        self.extra = extra


class TransportError(QRelayError):
    """The network failed: the service could not be reached or did not answer in time."""


class ServiceError(QRelayError):
    """The service answered with an RFC 9457 problem document.

    ``code`` is the stable machine-readable code, ``status`` the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 500,
        code: str = "internal",
        detail: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


class AuthenticationError(ServiceError):
    """401: the token is missing, malformed or revoked."""


class PermissionDeniedError(ServiceError):
    """403: the token is valid but may not do this."""


class NotFoundError(ServiceError):
    """404: no such object, or it belongs to someone else."""


class ConflictError(ServiceError):
    """409: a lease was lost, a duplicate is in flight, or the state forbids this."""


class InsufficientBalanceError(ServiceError):
    """402: the estimate exceeds the balance; nothing was stored."""


class RateLimitedError(ServiceError):
    """429 or 503: try again after ``retry_after`` seconds."""


class JobError(QRelayError):
    """A job did not give what was asked."""

    def __init__(self, message: str, *, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobFailedError(JobError):
    """A circuit of the job failed; the message carries the reason the service stored."""


class JobCancelledError(JobError):
    """The job was cancelled before it gave a result."""


class JobTimeoutError(JobError, TimeoutError):
    """Waiting for a job ran past its bound. The job itself goes on."""


class DeviceError(QRelayError):
    """A device or its controller refused or failed a program."""


class ChildGoneError(DeviceError):
    """A child process (a simulation engine's) ended before it answered."""


class QpuApiError(DeviceError):
    """An error from the QPU API (``qrelay.qpu.api``).

    ``code`` is stable and machine-readable: the gRPC status name the controller answered
    (``"INVALID_ARGUMENT"``, ``"RESOURCE_EXHAUSTED"``, ...) or, for what the API decides
    itself, the subclass's own code. Callers tell errors apart by type or ``code``, never
    by message text.
    """

    default_code = "UNKNOWN"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code


class SubmissionError(QpuApiError):
    """The controller refused an executable or its patch values."""

    default_code = "INVALID_ARGUMENT"


class BuildOptionsError(QpuApiError):
    """Execution options that cannot be built (for example a bad connection strategy)."""

    default_code = "INVALID_OPTIONS"


class QpuTimeoutError(QpuApiError, TimeoutError):
    """A wait for results ran past its bound. The jobs themselves go on."""

    default_code = "TIMEOUT"


class QpuJobFailedError(QpuApiError):
    """A job failed on the device; the message carries the controller's reason."""

    default_code = "JOB_FAILED"


class QpuJobCancelledError(QpuApiError):
    """A job was cancelled on the controller (or could not be, for :func:`cancel_job`)."""

    default_code = "JOB_CANCELLED"


class QpuUnavailableError(QpuApiError):
    """The controller could not be reached or did not answer in time: worth another try."""

    default_code = "UNAVAILABLE"


class QpuNotFoundError(QpuApiError):
    """The controller knows no such job or quantum processor (or forgot it on restart)."""

    default_code = "NOT_FOUND"


class QpuAuthenticationError(QpuApiError):
    """The controller refused the call: no token, or not one it accepts."""

    default_code = "UNAUTHENTICATED"
