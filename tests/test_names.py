"""Renamed public names: the new name is the thing, the old one still reaches it."""

from __future__ import annotations

import importlib

import pytest

from qrelay.payload import CircuitStatus, JobData, JobStatus
from qrelay.payload.status import job_status


def test_http_transport_is_the_http_channel_with_a_warning() -> None:
    from qrelay.runtime import transport

    with pytest.warns(DeprecationWarning, match="use HttpChannel"):
        old = transport.HttpTransport
    assert old is transport.HttpChannel
    with pytest.warns(DeprecationWarning, match="HttpTransport is deprecated"):
        from qrelay.runtime.transport import HttpTransport
    assert HttpTransport is transport.HttpChannel


def test_translated_is_as_client_errors_with_a_warning() -> None:
    from qrelay.service import local

    with pytest.warns(DeprecationWarning, match="use as_client_errors"):
        old = local.translated
    assert old is local.as_client_errors


def test_unknown_module_attributes_still_raise() -> None:
    for name in ("qrelay.runtime.transport", "qrelay.service.local"):
        with pytest.raises(AttributeError):
            importlib.import_module(name).no_such_name  # noqa: B018


def test_job_status_is_the_circuit_status_enum() -> None:
    assert JobStatus is CircuitStatus
    assert job_status([CircuitStatus.RUNNING, CircuitStatus.COMPLETED]) is JobStatus.RUNNING
    assert JobData.model_fields["status"].annotation is JobStatus


def test_cirq_service_keeps_its_first_name() -> None:
    pytest.importorskip("cirq")
    import qrelay_cirq
    from qrelay_cirq.service import QRelayCirqService, QRelayService

    assert QRelayService is QRelayCirqService
    assert qrelay_cirq.QRelayService is qrelay_cirq.QRelayCirqService is QRelayCirqService
