"""Settings: arguments beat QRELAY_* environment variables, which beat the TOML profile.

Each test writes its own config file and points QRELAY_CONFIG at it (the session fixture
in conftest already isolates QRELAY_HOME and clears QRELAY_URL/TOKEN/PROFILE).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qrelay.errors import ConfigurationError
from qrelay.settings import (
    ClientSettings,
    QpuSettings,
    ServiceSettings,
    WorkerSettings,
    config_path,
    embedded_database_url,
    qrelay_home,
    read_profile,
)

CONFIG = textwrap.dedent(
    """
    [profiles.default]
    url = "http://file-default.example"
    token = "file-token"
    timeout = 11.0
    max_retries = 2

    [profiles.lab]
    url = "http://file-lab.example"
    timeout = 7.5

    [profiles.lab.service]
    database_url = "sqlite:///lab.db"
    port = 9000

    [profiles.lab.worker]
    targets = ["square_qpu", "ion_qpu"]
    heartbeat_seconds = 2.0

    [profiles.broken]
    timeout = -1
    """
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("QRELAY_CONFIG", str(path))
    for name in ("QRELAY_URL", "QRELAY_TOKEN", "QRELAY_TIMEOUT", "QRELAY_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_profile_values_are_read(config: Path) -> None:
    settings = ClientSettings.load()
    assert config_path() == config
    assert settings.url == "http://file-default.example"
    assert settings.token is not None
    assert settings.token.get_secret_value() == "file-token"
    assert settings.timeout == 11.0
    assert settings.max_retries == 2
    assert settings.backoff_base == 0.2  # untouched default


def test_environment_beats_profile(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRELAY_URL", "http://env.example")
    monkeypatch.setenv("QRELAY_TIMEOUT", "3.5")
    settings = ClientSettings.load()
    assert settings.url == "http://env.example"
    assert settings.timeout == 3.5
    assert settings.max_retries == 2  # still from the file


def test_arguments_beat_environment_and_profile(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QRELAY_URL", "http://env.example")
    settings = ClientSettings.load(url="http://arg.example", max_retries=0)
    assert settings.url == "http://arg.example"
    assert settings.max_retries == 0
    assert settings.timeout == 11.0
    # A None argument means "not given": the next source decides.
    assert ClientSettings.load(url=None).url == "http://env.example"


def test_empty_environment_variable_is_not_a_value(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QRELAY_URL", "")
    assert ClientSettings.load().url == "http://file-default.example"


def test_named_profile_by_argument_and_by_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ClientSettings.load(profile="lab").url == "http://file-lab.example"
    monkeypatch.setenv("QRELAY_PROFILE", "lab")
    lab = ClientSettings.load()
    assert lab.url == "http://file-lab.example"
    assert lab.timeout == 7.5
    assert lab.token is None
    # The argument beats QRELAY_PROFILE.
    assert ClientSettings.load(profile="default").url == "http://file-default.example"


def test_service_and_worker_sections(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = ServiceSettings.load(profile="lab")
    assert service.database_url == "sqlite:///lab.db"
    assert service.port == 9000
    worker = WorkerSettings.load(profile="lab")
    assert worker.targets == ["square_qpu", "ion_qpu"]
    assert worker.heartbeat_seconds == 2.0
    assert worker.url == "http://file-lab.example"  # shared key from the profile itself
    monkeypatch.setenv("QRELAY_PORT", "9100")
    monkeypatch.setenv("QRELAY_TARGETS", "aer_simulator, cirq_simulator")
    assert ServiceSettings.load(profile="lab").port == 9100
    assert WorkerSettings.load(profile="lab").targets == ["aer_simulator", "cirq_simulator"]
    monkeypatch.setenv("QRELAY_TARGETS", '["square_qpu"]')
    assert WorkerSettings.load(profile="lab").targets == ["square_qpu"]
    monkeypatch.setenv("QRELAY_TARGETS", "[oops")
    with pytest.raises(ConfigurationError, match=r"QRELAY_TARGETS: '\[oops' is not a JSON list"):
        WorkerSettings.load(profile="lab")


def test_each_source_is_named(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``source`` names the argument, the variable, the profile and file, or the default."""
    monkeypatch.setenv("QRELAY_TIMEOUT", "4")
    settings = ClientSettings.load(profile="lab", url="http://arg.example")
    assert settings.source("url") == "the url argument (--url)"
    assert settings.source("timeout") == "QRELAY_TIMEOUT"
    assert ClientSettings.load(profile="lab").source("url") == f"profile 'lab' of {config}"
    assert settings.source("max_retries") == "default"
    assert settings.source("connect_retry_seconds") == "default"
    service = ServiceSettings.load(profile="lab", port=9200)
    assert service.source("port") == "the port argument (--port)"
    assert service.source("database_url") == f"profile 'lab' of {config}"


def test_section_precedence(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments beat the environment, which beats the section table, which a key of the
    profile's own table beats; the section of another class is not read."""
    config.write_text(
        textwrap.dedent(
            """
            [profiles.default]
            qpu_max_message_bytes = 4096
            heartbeat_seconds = 9.0

            [profiles.default.qpu]
            qpu_max_message_bytes = 8192
            qpu_tls_server_name = "qpu.example"

            [profiles.default.service]
            qpu_tls_server_name = "not-read.example"
            port = 9000
            """
        ),
        encoding="utf-8",
    )
    qpu = QpuSettings.load()
    assert qpu.qpu_max_message_bytes == 4096  # the profile's own key beats its section
    assert qpu.qpu_tls_server_name == "qpu.example"
    monkeypatch.setenv("QRELAY_QPU_MAX_MESSAGE_BYTES", "2048")
    assert QpuSettings.load().qpu_max_message_bytes == 2048
    assert QpuSettings.load(qpu_max_message_bytes=1024).qpu_max_message_bytes == 1024
    assert ServiceSettings.load(port=9300).port == 9300  # an argument beats the section
    assert WorkerSettings.load().heartbeat_seconds == 9.0
    config.write_text("[profiles.default]\nservice = 3\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"\[profiles\.default\.service\] is not a table"):
        ServiceSettings.load()


def test_constructed_settings_read_no_source(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built in code hold their arguments and the defaults, nothing else."""
    monkeypatch.setenv("QRELAY_PORT", "9100")
    monkeypatch.setenv("QRELAY_CONFIG", str(config.parent / "absent.toml"))
    settings = ServiceSettings(database_url="sqlite:///x.db")
    assert settings.port == 8000
    assert settings.database_url == "sqlite:///x.db"
    assert settings.source("port") == "default"
    with pytest.raises(ValueError, match="port"):
        ServiceSettings(port=-1)


def test_unknown_profile(config: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"has no profile 'nope' \(known: broken, default, lab\)"
    ):
        ClientSettings.load(profile="nope")


def test_unknown_profile_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRELAY_CONFIG", str(tmp_path / "absent.toml"))
    # A QRELAY_CONFIG that names no file is a mistake, not a silent fall-back.
    with pytest.raises(ConfigurationError, match=r"QRELAY_CONFIG=.*absent\.toml: no such file"):
        ClientSettings.load()
    monkeypatch.delenv("QRELAY_CONFIG")
    absent = tmp_path / "absent.toml"
    assert read_profile(path=absent) == {}  # the default profile may be absent
    with pytest.raises(
        ConfigurationError, match=r"profile 'lab' asked for, but .*absent\.toml does not exist"
    ):
        read_profile("lab", path=absent)


def test_bad_values_and_unknown_settings(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        ClientSettings.load(profile="broken")
    monkeypatch.setenv("QRELAY_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="timeout"):
        ClientSettings.load()
    monkeypatch.delenv("QRELAY_TIMEOUT")
    with pytest.raises(
        ConfigurationError, match=r"unknown setting\(s\) for ClientSettings: \['urll'\]"
    ):
        ClientSettings.load(urll="http://typo.example")


def test_malformed_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[profiles.default\nurl = ", encoding="utf-8")
    monkeypatch.setenv("QRELAY_CONFIG", str(path))
    with pytest.raises(ConfigurationError, match=r"config file .*config\.toml"):
        ClientSettings.load()
    path.write_text('profiles = {default = "x"}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"\[profiles\.default\] is not a table"):
        ClientSettings.load()


def test_each_load_reads_anew(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ClientSettings.load().url == "http://file-default.example"
    config.write_text('[profiles.default]\nurl = "http://changed.example"\n', encoding="utf-8")
    assert ClientSettings.load().url == "http://changed.example"
    monkeypatch.setenv("QRELAY_URL", "http://env-later.example")
    assert ClientSettings.load().url == "http://env-later.example"


def test_settings_are_frozen(config: Path) -> None:
    settings = ClientSettings.load()
    with pytest.raises(ValueError, match="frozen"):
        settings.url = "http://other.example"  # type: ignore[misc]


def test_home_and_database_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRELAY_HOME", str(tmp_path / "home"))
    assert qrelay_home() == tmp_path / "home"
    url = ServiceSettings.load().resolved_database_url()
    # `qrelay serve` keeps its own folder, apart from the embedded default's qrelay.db
    assert url == f"sqlite:///{tmp_path / 'home' / 'service' / 'qrelay.db'}"
    assert (tmp_path / "home" / "service").is_dir()
    embedded = embedded_database_url(qrelay_home())
    assert embedded == f"sqlite:///{tmp_path / 'home' / 'qrelay.db'}"
    assert embedded != url


def test_nothing_is_read_at_import_time(tmp_path: Path) -> None:
    """Importing qrelay.settings with a broken config file and bad env must not fail."""
    broken = tmp_path / "config.toml"
    broken.write_text("this is = = not toml", encoding="utf-8")
    code = textwrap.dedent(
        """
        import qrelay, qrelay.settings, qrelay.payload
        from qrelay.errors import ConfigurationError
        try:
            qrelay.settings.ClientSettings.load()
        except ConfigurationError as exc:
            print("load failed as it should:", type(exc).__name__)
        """
    )
    env = {
        "QRELAY_CONFIG": str(broken),
        "QRELAY_PROFILE": "missing",
        "QRELAY_TIMEOUT": "not-a-number",
        "QRELAY_HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "load failed as it should: ConfigurationError" in result.stdout
    assert not (tmp_path / "home").exists()  # no directory made at import
