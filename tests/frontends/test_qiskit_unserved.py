"""A Qiskit job on a target that no worker serves: the wait says so, and so does the error.

The service is the real app on a SQLite file of its own, on loopback, with no worker, so
a job on any target waits in its queue.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from qrelay.errors import JobTimeoutError


@pytest.fixture(scope="module")
def lonely_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    pytest.importorskip("qrelay.service.app", reason="the service is not installed")
    from qrelay.service.app import create_app
    from qrelay.service.loopback import serve_loopback
    from qrelay.settings import ServiceSettings
    from qrelay_qiskit import QRelayProvider

    home = tmp_path_factory.mktemp("no-workers")
    token = "qr_" + secrets.token_urlsafe(24)
    http = serve_loopback(create_app(ServiceSettings(home=home, admin_token=token)))
    yield QRelayProvider(http.url, token)
    http.stop()


def _circuit():  # type: ignore[no-untyped-def]
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(1, 1, name="waits")
    qc.x(0)
    qc.measure(0, 0)
    return qc


def test_the_timeout_error_names_the_unserved_target(lonely_provider) -> None:  # type: ignore[no-untyped-def]
    job = lonely_provider.get_backend("square_qpu").run(_circuit(), shots=10)
    with pytest.raises(JobTimeoutError) as caught:
        job.result(timeout=0.5, progress=False)
    message = str(caught.value)
    assert "after 0.5 s" in message
    assert "no worker serves 'square_qpu'" in message
    job.cancel()


def test_the_status_line_shows_state_queue_position_and_the_reason(
    lonely_provider,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("tqdm", reason="the status line is drawn with tqdm")
    from qrelay_qiskit import QRelaySamplerV2

    sampler = QRelaySamplerV2(lonely_provider.get_backend("square_qpu"), default_shots=10)
    job = sampler.run([_circuit()])
    with pytest.raises(JobTimeoutError, match="no worker serves 'square_qpu'"):
        job.result(timeout=1.5, progress=True)  # drawn once the wait lasts half a second
    line = capsys.readouterr().err.replace("\r", "\n")
    assert f"job {job.job_id()}: " in line
    assert "queue position" in line
    assert "no worker serves 'square_qpu'" in line
    job.cancel()
