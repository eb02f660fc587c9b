"""The one exception tree: shape, the standard bases callers rely on, and the drawing."""

from __future__ import annotations

import inspect
import pickle

import pytest

from qrelay import errors
from qrelay.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    MissingDependencyError,
    PayloadError,
    QRelayError,
    RateLimitedError,
    ServiceError,
    SubmissionError,
    ValidationError,
)

PARENTS = {
    "ValidationError": "QRelayError",
    "PayloadError": "ValidationError",
    "ConversionError": "ValidationError",
    "ConfigurationError": "QRelayError",
    "MissingDependencyError": "ConfigurationError",
    "TransportError": "QRelayError",
    "ServiceError": "QRelayError",
    "AuthenticationError": "ServiceError",
    "PermissionDeniedError": "ServiceError",
    "NotFoundError": "ServiceError",
    "ConflictError": "ServiceError",
    "InsufficientBalanceError": "ServiceError",
    "RateLimitedError": "ServiceError",
    "JobError": "QRelayError",
    "JobFailedError": "JobError",
    "JobCancelledError": "JobError",
    "JobTimeoutError": "JobError",
    "DeviceError": "QRelayError",
    "ChildGoneError": "DeviceError",
    "QpuApiError": "DeviceError",
    "SubmissionError": "QpuApiError",
    "BuildOptionsError": "QpuApiError",
    "QpuTimeoutError": "QpuApiError",
    "QpuJobFailedError": "QpuApiError",
    "QpuJobCancelledError": "QpuApiError",
    "QpuUnavailableError": "QpuApiError",
    "QpuNotFoundError": "QpuApiError",
    "QpuAuthenticationError": "QpuApiError",
}


def public_classes() -> dict[str, type[BaseException]]:
    return {
        name: obj
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and not name.startswith("_")
    }


def test_every_error_is_a_qrelay_error_and_exported() -> None:
    classes = public_classes()
    assert set(classes) == set(errors.__all__)
    for cls in classes.values():
        assert issubclass(cls, QRelayError)


@pytest.mark.parametrize(("child", "parent"), sorted(PARENTS.items()))
def test_tree_shape(child: str, parent: str) -> None:
    assert getattr(errors, parent) in getattr(errors, child).__mro__[1:]


def test_tree_is_complete_and_drawn_in_the_docstring() -> None:
    """Every class sits in the table above and is drawn in the module docstring."""
    doc = errors.__doc__ or ""
    for name in public_classes():
        if name == "QRelayError":
            continue
        assert name in PARENTS, f"{name} is missing from the tree test"
        assert name in doc, f"{name} is not drawn in the qrelay.errors docstring"


def test_standard_bases_callers_rely_on() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(PayloadError, ValueError)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(JobTimeoutError, TimeoutError)
    assert not issubclass(QRelayError, ValueError)


def test_validation_error_location() -> None:
    err = PayloadError("instruction 3 (cx): qubit 9 is out of range", location=("instructions", 3))
    assert err.location == ("instructions", 3)
    assert str(err) == "instruction 3 (cx): qubit 9 is out of range"
    assert PayloadError("x").location == ()


def test_missing_dependency_names_the_extra() -> None:
    err = MissingDependencyError("qiskit_aer", "qiskit")
    assert (
        str(err) == "'qiskit_aer' is not installed; install it with: pip install 'qrelay[qiskit]'"
    )
    assert err.module == "qiskit_aer"
    assert err.extra == "qiskit"
    with pytest.raises(ConfigurationError):
        raise err


def test_service_error_carries_the_problem() -> None:
    err = RateLimitedError("slow down", status=429, code="rate_limited", retry_after=2.5)
    assert (err.status, err.code, err.retry_after) == (429, "rate_limited", 2.5)
    base = ServiceError("boom")
    assert (base.status, base.code, base.detail, base.retry_after) == (500, "internal", None, None)
    conflict = ConflictError("lease lost", status=409, code="lease_lost", detail={"task": "t1"})
    assert conflict.detail == {"task": "t1"}
    assert isinstance(AuthenticationError("no token", status=401), ServiceError)


def test_job_errors_carry_the_job_id() -> None:
    for cls in (JobError, JobFailedError, JobCancelledError, JobTimeoutError):
        err = cls("it ended", job_id="job-7")
        assert err.job_id == "job-7"
        assert str(err) == "it ended"
    assert JobFailedError("x").job_id is None


def test_translation_keeps_the_cause() -> None:
    """Third-party errors are translated once with ``from exc``; the cause stays visible."""

    def submit() -> None:
        try:
            raise KeyError("controller said no")
        except KeyError as exc:
            raise SubmissionError("the controller refused the program") from exc

    with pytest.raises(SubmissionError) as info:
        submit()
    assert isinstance(info.value.__cause__, KeyError)


def test_simple_errors_pickle() -> None:
    """Errors cross process boundaries (worker pools): the plain ones survive pickling."""
    for err in (QRelayError("a"), ConfigurationError("b"), PayloadError("c")):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err)
        assert str(again) == str(err)
