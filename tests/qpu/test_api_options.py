"""QPU API options: connection strategies, the builder, durations and address resolution."""

from __future__ import annotations

import pytest

from qrelay import errors
from qrelay.qpu import api
from qrelay.qpu.options import ADDRESS_ENV


def test_errors_are_the_shared_tree() -> None:
    assert api.QpuApiError is errors.QpuApiError
    assert api.SubmissionError is errors.SubmissionError
    assert api.BuildOptionsError is errors.BuildOptionsError
    assert issubclass(api.SubmissionError, errors.DeviceError)


def test_connection_strategies() -> None:
    assert api.ConnectionStrategy.gateway().is_gateway()
    assert api.ConnectionStrategy.direct_access().is_direct_access()
    assert api.ConnectionStrategy.endpoint_id("e1").get_endpoint_id() == "e1"
    addr = api.ConnectionStrategy.endpoint_address("127.0.0.1:5000")
    assert addr.get_endpoint_address() == "127.0.0.1:5000"
    assert addr.get_endpoint_id() is None
    with pytest.raises(api.BuildOptionsError, match="not host:port"):
        api.ConnectionStrategy.endpoint_address("localhost")
    with pytest.raises(api.BuildOptionsError, match="endpoint_id"):
        api.ConnectionStrategy.endpoint_id("")


def test_builder_and_defaults() -> None:
    default = api.ExecutionOptions.default()
    assert default.connection_strategy.is_gateway()
    assert default.timeout == 30.0
    assert default.api_options is None
    built = (
        api.ExecutionOptionsBuilder()
        .connection_strategy(api.ConnectionStrategy.direct_access())
        .timeout(api.QpuApiDuration(2, 500_000_000))
        .api_options(api.ApiExecutionOptions(bypass_settings_protection=True, timeout=1.5))
        .build()
    )
    assert built.connection_strategy.is_direct_access()
    assert built.timeout == 2.5
    assert built.api_options is not None
    assert built.api_options.bypass_settings_protection
    assert built.api_options.timeout == api.QpuApiDuration(1, 500_000_000)
    assert built.call_timeout() == 1.5
    assert api.ExecutionOptions.builder().timeout(None).build().timeout is None
    with pytest.raises(api.BuildOptionsError, match="timeout"):
        api.ExecutionOptionsBuilder().timeout(-1).build()
    with pytest.raises(api.BuildOptionsError, match="connection_strategy"):
        api.ExecutionOptionsBuilder().connection_strategy("gateway").build()  # type: ignore[arg-type]
    with pytest.raises(api.BuildOptionsError, match="timeout"):
        api.ExecutionOptions(timeout=0)


def test_durations() -> None:
    d = api.QpuApiDuration.from_seconds(1.25)
    assert (d.seconds, d.nanos) == (1, 250_000_000)
    assert d.total_seconds() == 1.25
    with pytest.raises(api.BuildOptionsError):
        api.QpuApiDuration(-1, 0)
    with pytest.raises(api.BuildOptionsError):
        api.QpuApiDuration(0, 2_000_000_000)
    with pytest.raises(api.BuildOptionsError, match=r"api_options\.timeout"):
        api.ApiExecutionOptions(timeout="soon")  # type: ignore[arg-type]


def test_address_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    client = api.QpuClient(
        addresses={"square_qpu": "127.0.0.1:1001", "ion_qpu": "127.0.0.1:1002"},
        gateway="127.0.0.1:1000",
        endpoints={"blue": "127.0.0.1:1003"},
    )
    options = api.ExecutionOptions
    cs = api.ConnectionStrategy
    assert client.resolve("square_qpu") == "127.0.0.1:1000"  # gateway by default
    assert client.resolve("ion_qpu", options(cs.direct_access())) == "127.0.0.1:1002"
    assert client.resolve("ion_qpu", options(cs.endpoint_id("blue"))) == "127.0.0.1:1003"
    raw = options(cs.endpoint_address("10.0.0.9:7"))
    assert client.resolve("ion_qpu", raw) == "10.0.0.9:7"
    with pytest.raises(api.BuildOptionsError, match="endpoint_id 'red' is unknown"):
        client.resolve("ion_qpu", options(cs.endpoint_id("red")))
    with pytest.raises(api.BuildOptionsError, match=ADDRESS_ENV):
        client.resolve("heavyhex_qpu", options(cs.direct_access()))
    # no gateway: the processor's own address, then the environment
    direct_only = api.QpuClient(addresses={"square_qpu": "127.0.0.1:1001"})
    assert direct_only.resolve("square_qpu") == "127.0.0.1:1001"
    monkeypatch.setenv(ADDRESS_ENV, "127.0.0.1:2000")
    assert direct_only.resolve("ion_qpu") == "127.0.0.1:2000"
    assert api.QpuClient().resolve("ion_qpu", options(cs.direct_access())) == "127.0.0.1:2000"


def test_submit_refuses_bad_programs_before_sending() -> None:
    client = api.QpuClient(gateway="127.0.0.1:9")  # never contacted
    with pytest.raises(api.SubmissionError, match="not an executable"):
        api.submit("DECLARE ro BIT", {}, client=client)
    with pytest.raises(api.SubmissionError, match=r"not a qrelay\.executable\.v1"):
        api.submit('{"format": "other"}', {}, client=client)
    with pytest.raises(api.BuildOptionsError, match="execution_options"):
        api.retrieve_results("square_qpu-1", client=client, execution_options="fast")  # type: ignore[arg-type]


def test_unreachable_controller_is_a_qpu_api_error() -> None:
    from qrelay.qpu.translation import translate

    from ._programs import rotations_square

    program = translate(rotations_square(1), 10, "square_qpu")
    options = api.ExecutionOptions(timeout=0.5)
    with (
        api.QpuClient(gateway="127.0.0.1:9") as client,
        pytest.raises(
            api.QpuApiError, match=r"controller at 127\.0\.0\.1:9: (UNAVAILABLE|DEADLINE_EXCEEDED)"
        ),
    ):
        api.submit(program, {"theta": [0.0]}, client=client, execution_options=options)


def test_empty_batch_is_refused() -> None:
    from qrelay.qpu.translation import translate

    from ._programs import rotations_square

    program = translate(rotations_square(1), 10, "square_qpu")
    with pytest.raises(api.SubmissionError, match="at least one set"):
        api.submit_with_parameter_batch(program, [], client=api.QpuClient(gateway="127.0.0.1:9"))


def test_port_in_use_is_a_clear_error() -> None:
    from qrelay.errors import ConfigurationError
    from qrelay.qpu.server import start_server

    with (
        start_server(devices=["ion_qpu"]) as first,
        pytest.raises(ConfigurationError, match="cannot listen"),
    ):
        start_server(port=first.port, devices=["ion_qpu"])
