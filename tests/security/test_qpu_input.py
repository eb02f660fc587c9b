"""Malformed input sent straight to the gRPC QPU controller: INVALID_ARGUMENT, and it keeps serving.

The requests bypass ``qrelay.qpu.api`` (which checks programs before sending) and go over a
raw channel, as a hostile or broken client would send them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from qrelay.payload import Circuit
from qrelay.qpu import api
from qrelay.qpu._proto import controller_pb2 as pb
from qrelay.qpu._proto import controller_pb2_grpc as pb_grpc
from qrelay.qpu.server import ServerHandle, start_server
from qrelay.qpu.translation import translate


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    handle = start_server(host="127.0.0.1", port=0, devices=["square_qpu"], seed=3)
    try:
        yield handle
    finally:
        handle.stop(grace=0.5)


@pytest.fixture(scope="module")
def channel(server: ServerHandle) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(str(server.address)) as ch:
        yield ch


def _program() -> dict[str, Any]:
    circuit = Circuit.model_validate(
        {
            "num_qubits": 2,
            "registers": [{"name": "c", "size": 2}],
            "instructions": [
                {"op": "rx", "qubits": [0], "params": ["theta[0]"]},
                {"op": "rx", "qubits": [1], "params": ["theta[1]"]},
                {"op": "measure", "qubits": [0], "clbits": [0]},
                {"op": "measure", "qubits": [1], "clbits": [1]},
            ],
            "parameters": ["theta[0]", "theta[1]"],
        }
    )
    return dict(json.loads(translate(circuit, 10, "square_qpu").program))


def _request(
    edit_program: Callable[[dict[str, Any]], None] | None = None,
    patch: dict[str, list[float]] | None = None,
    circuit_json: bytes | None = None,
    num_shots: int | None = None,
) -> Any:
    data = _program()
    if edit_program is not None:
        edit_program(data)
    executable = pb.Executable(
        quantum_processor_id=data["quantum_processor_id"],
        circuit_json=circuit_json
        if circuit_json is not None
        else json.dumps(data["circuit"]).encode(),
        num_shots=data["num_shots"] if num_shots is None else num_shots,
        ro_sources=[
            pb.ReadoutSource(buffer=name, register=src[0], bit=int(src[1]))
            for name, src in data["ro_sources"].items()
        ],
    )
    regions = {k: pb.PatchRegion(values=v) for k, v in (patch or {"theta": [0.1, 0.2]}).items()}
    return pb.ExecuteRequest(
        executable=executable,
        patch_values=[pb.PatchValues(regions=regions)],
        idempotency_key="",
    )


def _deep(depth: int) -> bytes:
    return b'{"num_qubits": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"


BAD: dict[str, Any] = {
    "garbage bytes": lambda: _request(circuit_json=b"\xff\xfe\x00garbage\x80"),
    "not a circuit": lambda: _request(circuit_json=b'{"hello": "world"}'),
    "deeply nested": lambda: _request(circuit_json=_deep(100_000)),
    "empty executable": lambda: _request(circuit_json=b""),
    "zero shots": lambda: _request(num_shots=0),
    "huge shots": lambda: _request(num_shots=4_000_000_000),
    "unknown patch region": lambda: _request(patch={"nope": [0.1, 0.2]}),
    "patch too short": lambda: _request(patch={"theta": [0.1]}),
    "patch too long": lambda: _request(patch={"theta": [0.1] * 50}),
    "NaN patch": lambda: _request(patch={"theta": [math.nan, 0.0]}),
    "inf patch": lambda: _request(patch={"theta": [math.inf, 0.0]}),
    "readout of a missing register": lambda: _request(
        edit_program=lambda d: d["ro_sources"].update({"ro_x": ["nope", 0]})
    ),
    "readout bit out of range": lambda: _request(
        edit_program=lambda d: d["ro_sources"].update({"ro_y": ["c", 99]})
    ),
    "non-native op": lambda: _request(
        edit_program=lambda d: d["circuit"]["instructions"].insert(0, {"op": "h", "qubits": [0]})
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_execute_is_invalid_argument(
    server: ServerHandle, channel: grpc.Channel, name: str
) -> None:
    stub = pb_grpc.ControllerStub(channel)
    before = api.get_controller_info(client=api.QpuClient(gateway=str(server.address)))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Execute(BAD[name](), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
        name,
        caught.value.code(),
        caught.value.details(),
    )
    assert caught.value.details()  # says what is wrong
    after = api.get_controller_info(client=api.QpuClient(gateway=str(server.address)))
    assert after["programs_executed"] == before["programs_executed"]


def test_undecodable_bytes_on_the_wire_and_unknown_ids_leave_it_serving(
    server: ServerHandle, channel: grpc.Channel
) -> None:
    raw = channel.unary_unary(
        "/qrelay.qpu.v1.Controller/Execute",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    with pytest.raises(grpc.RpcError) as caught:
        raw(b"\xff\xff\xff\xff\x0f\x00garbage", timeout=10)
    assert caught.value.code() != grpc.StatusCode.OK
    stub = pb_grpc.ControllerStub(channel)
    for call, request in (
        (stub.GetStatus, pb.GetStatusRequest(job_ids=["square_qpu-nope", "\x00" * 10])),
        (stub.AwaitResults, pb.AwaitResultsRequest(job_ids=["x"], timeout_seconds=-5)),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call(request, timeout=10)
        assert err.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    cancelled = stub.Cancel(pb.CancelRequest(job_ids=["y" * 10_000]), timeout=10)
    assert [r.job_id for r in cancelled.results] == ["y" * 10_000]  # a per-job "not found"
    # still serving: a good program runs
    ids = stub.Execute(_request(), timeout=30).job_ids
    done = stub.AwaitResults(pb.AwaitResultsRequest(job_ids=ids, timeout_seconds=20), timeout=40)
    assert [r.job_id for r in done.results] == list(ids)
