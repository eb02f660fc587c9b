"""Attacks on the QPU controller's gRPC port: no token, a wrong token, huge messages,
plaintext, a key reused by another caller. A real controller on loopback answers each;
one test runs ``qrelay qpu serve`` as its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from qrelay.errors import QpuApiError
from qrelay.plugins import SimulationEngine
from qrelay.qpu import api
from qrelay.qpu._proto import controller_pb2 as pb
from qrelay.qpu._proto import controller_pb2_grpc as pb_grpc
from qrelay.qpu.security import DEFAULT_MAX_MESSAGE_BYTES, ServerSecurity
from qrelay.qpu.server import ServerHandle, start_server
from qrelay.qpu.translation import translate

from ._qpu import aer_engine, flip, self_signed

TOKEN = "qpu-token-of-deployment-a-7f3c9e"
OTHER = "qpu-token-of-deployment-b-41d0aa"
#: Every RPC of the controller with a request that is valid on the wire.
CALLS: dict[str, Any] = {
    "Execute": pb.ExecuteRequest(),
    "GetStatus": pb.GetStatusRequest(job_ids=["square_qpu-0"]),
    "AwaitResults": pb.AwaitResultsRequest(job_ids=["square_qpu-0"], timeout_seconds=0),
    "Cancel": pb.CancelRequest(job_ids=["square_qpu-0"]),
    "GetControllerInfo": pb.GetControllerInfoRequest(),
    "GetDeviceInfo": pb.GetDeviceInfoRequest(quantum_processor_id="square_qpu"),
}


@pytest.fixture(autouse=True)
def _no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QRELAY_QPU_TOKEN", "QRELAY_QPU_TOKEN_FILE", "QRELAY_QPU_TLS_CA"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def engine() -> SimulationEngine:
    return aer_engine()


@pytest.fixture(scope="module")
def guarded(engine: SimulationEngine) -> Iterator[ServerHandle]:
    """A controller that accepts two tokens (two deployments share it)."""
    security = ServerSecurity(tokens=(TOKEN, OTHER))
    handle = start_server(devices=["square_qpu"], engine=engine, seed=3, security=security)
    yield handle
    handle.stop(grace=0)


def _raw(address: str, method: str, metadata: Any = None, **options: Any) -> grpc.RpcError | Any:
    """Call ``method`` with a plain channel; the error, or the answer."""
    with grpc.insecure_channel(address, options=list(options.items())) as channel:
        stub = pb_grpc.ControllerStub(channel)  # type: ignore[no-untyped-call]
        try:
            return getattr(stub, method)(CALLS[method], timeout=30, metadata=metadata)
        except grpc.RpcError as exc:
            return exc


@pytest.mark.parametrize("method", sorted(CALLS))
def test_every_call_needs_the_token(guarded: ServerHandle, method: str) -> None:
    missing = _raw(guarded.address, method)
    assert isinstance(missing, grpc.RpcError)
    assert missing.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "no token" in (missing.details() or "")
    wrong = _raw(guarded.address, method, (("authorization", "Bearer guessed"),))
    assert isinstance(wrong, grpc.RpcError)
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
    right = _raw(guarded.address, method, (("authorization", f"Bearer {TOKEN}"),))
    if isinstance(right, grpc.RpcError):  # answered on its merits (no such job, ...)
        assert right.code() != grpc.StatusCode.UNAUTHENTICATED


def test_the_api_raises_a_typed_error_for_a_refused_token(guarded: ServerHandle) -> None:
    for token in (None, "guessed"):
        with api.QpuClient(gateway=guarded.address, token=token) as client:
            with pytest.raises(api.QpuAuthenticationError) as caught:
                api.get_controller_info(client=client)
            assert caught.value.code == "UNAUTHENTICATED"
            program = translate(flip(True), 10, "square_qpu")
            with pytest.raises(api.QpuAuthenticationError):
                api.submit(program, {}, client=client)
    with api.QpuClient(gateway=guarded.address, token=TOKEN) as client:
        info = api.get_controller_info(client=client)
        assert [d["quantum_processor_id"] for d in info["devices"]] == ["square_qpu"]
    assert guarded.controller.info()["programs_executed"] == 0  # nothing ran unasked


def test_clients_take_the_token_from_the_environment_or_a_file(
    guarded: ServerHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What ``qrelay worker`` relies on: no token on its command line."""
    monkeypatch.setenv("QRELAY_QPU_TOKEN", OTHER)
    with api.QpuClient(gateway=guarded.address) as client:
        assert api.get_controller_info(client=client)["devices"]
    monkeypatch.delenv("QRELAY_QPU_TOKEN")
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    monkeypatch.setenv("QRELAY_QPU_TOKEN_FILE", str(tmp_path / "token"))
    with api.QpuClient(gateway=guarded.address) as client:
        assert api.get_controller_info(client=client)["devices"]


def test_keys_are_scoped_per_caller(guarded: ServerHandle) -> None:
    """Another caller's key neither replays this caller's run nor blocks its program."""
    key = "qrelay-task-1"  # the old, predictable key: both deployments send it
    with (
        api.QpuClient(gateway=guarded.address, token=TOKEN) as mine,
        api.QpuClient(gateway=guarded.address, token=OTHER) as theirs,
    ):
        one, zero = (translate(flip(f), 200, "square_qpu") for f in (True, False))
        ones = api.submit(one, {}, client=mine, idempotency_key=key)
        zeros = api.submit(zero, {}, client=theirs, idempotency_key=key)
        assert ones != zeros
        assert api.retrieve_results(ones, client=mine).buffers["c[0]"].data.mean() > 0.8
        assert api.retrieve_results(zeros, client=theirs).buffers["c[0]"].data.mean() < 0.2
        # within one caller the key still replays, and still refuses another program
        assert api.submit(one, {}, client=mine, idempotency_key=key) == ones
        with pytest.raises(api.SubmissionError) as caught:
            api.submit(zero, {}, client=mine, idempotency_key=key)
        assert caught.value.code == "ALREADY_EXISTS"


def test_a_message_over_the_default_bound_is_refused_naming_it() -> None:
    """A 20 MiB request (512 MiB were taken before) is refused before it is parsed."""
    with start_server(devices=["square_qpu"]) as handle:
        big = pb.ExecuteRequest(
            executable=pb.Executable(
                quantum_processor_id="square_qpu", circuit_json=b"x" * (20 << 20)
            )
        )
        with grpc.insecure_channel(
            handle.address, options=[("grpc.max_send_message_length", 64 << 20)]
        ) as channel:
            stub = pb_grpc.ControllerStub(channel)  # type: ignore[no-untyped-call]
            with pytest.raises(grpc.RpcError) as caught:
                stub.Execute(big, timeout=60)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert str(DEFAULT_MAX_MESSAGE_BYTES) in (caught.value.details() or "")
        assert handle.controller.info()["programs_executed"] == 0


def test_the_client_names_the_bound_of_a_message_too_large() -> None:
    with start_server(devices=["square_qpu"]) as handle:
        wide = translate(flip(True, qubits=16), 10, "square_qpu")
        with (
            api.QpuClient(gateway=handle.address, max_message_bytes=1024) as client,
            pytest.raises(QpuApiError) as caught,
        ):
            api.submit(wide, {}, client=client)
        assert caught.value.code == "RESOURCE_EXHAUSTED"
        assert "QRELAY_QPU_MAX_MESSAGE_BYTES" in str(caught.value)
        assert "1024 bytes" in str(caught.value)


def test_results_are_spread_over_answers_and_one_too_large_is_named(
    engine: SimulationEngine,
) -> None:
    bound = 64 * 1024
    security = ServerSecurity(max_message_bytes=bound)
    with start_server(devices=["square_qpu"], engine=engine, security=security) as handle:
        with api.QpuClient(gateway=handle.address, max_message_bytes=bound) as client:
            # three results of 25 kB each: they cannot share one 64 KiB answer
            program = translate(flip(True), 25_000, "square_qpu")
            ids = [api.submit(program, {}, client=client) for _ in range(3)]
            results = api.retrieve_results_batch(ids, client=client)
            assert [r.buffers["c[0]"].data.shape for r in results] == [(25_000,)] * 3
            # one result of 2 x 50 kB cannot fit at all: the error names job and bound
            two_bits = translate(flip(True, qubits=2), 50_000, "square_qpu")
            huge = api.submit(two_bits, {}, client=client)
            with pytest.raises(QpuApiError) as caught:
                api.retrieve_results(huge, client=client)
        assert caught.value.code == "RESOURCE_EXHAUSTED"
        assert huge in str(caught.value)
        assert f"limit of {bound} bytes" in str(caught.value)


def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    chain, key = self_signed(tmp_path)
    stranger, _ = self_signed(tmp_path, "stranger")
    security = ServerSecurity(tokens=(TOKEN,), certificate_chain=chain, private_key=key)
    with start_server(devices=["square_qpu"], security=security) as handle:
        with api.QpuClient(gateway=handle.address, token=TOKEN, root_certificates=chain) as c:
            assert api.get_controller_info(client=c)["devices"]
        # plaintext, or TLS trusting another certificate, gets nowhere
        for root in (None, stranger):
            with (
                api.QpuClient(gateway=handle.address, token=TOKEN, root_certificates=root) as c,
                pytest.raises(api.QpuUnavailableError),
            ):
                api.get_controller_info(
                    client=c, execution_options=api.ExecutionOptions.builder().timeout(5).build()
                )


_SERVE = (
    "import argparse, sys; from qrelay.cli import qpu; p = argparse.ArgumentParser(); "
    "qpu.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))"
)


def test_serve_process_with_a_token_file_and_tls(tmp_path: Path) -> None:
    """``qrelay qpu serve --token-file --tls-cert --tls-key``: the token is not in argv."""
    chain, _key = self_signed(tmp_path)
    (tmp_path / "tokens").write_text(f"# one per deployment\n{TOKEN}\n{OTHER}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ["qpu", "serve", "--port", "0", "--devices", "ion_qpu"]
    args += ["--token-file", str(tmp_path / "tokens")]
    args += ["--tls-cert", str(tmp_path / "controller.crt")]
    args += ["--tls-key", str(tmp_path / "controller.key")]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "TLS, 2 token(s)" in line
        assert TOKEN not in " ".join(proc.args)  # type: ignore[arg-type]
        address = line.split("listening on ")[1].split()[0]
        with (
            api.QpuClient(gateway=address, root_certificates=chain) as client,
            pytest.raises(api.QpuAuthenticationError),
        ):
            api.get_controller_info(client=client)
        with api.QpuClient(gateway=address, token=OTHER, root_certificates=chain) as client:
            assert api.get_controller_info(client=client)["devices"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
