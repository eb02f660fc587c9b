"""Where the client's URL and token come from: arguments, then environment, then config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qrelay.errors import ConfigurationError
from qrelay.runtime import AsyncClient, Client


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[profiles.default]\nurl = "http://from-file:1"\ntoken = "file-token"\n'
        '[profiles.lab]\nurl = "http://lab:2"\ntoken = "lab-token"\ntimeout = 7.5\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("QRELAY_CONFIG", str(path))
    return path


def _token(client: AsyncClient) -> str | None:
    token = client.settings.token
    return token.get_secret_value() if token else None


def test_config_file_is_last(config: Path) -> None:
    client = AsyncClient()
    assert client.settings.url == "http://from-file:1"
    assert _token(client) == "file-token"
    assert not client.embedded


def test_environment_beats_config(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRELAY_URL", "http://from-env:3")
    monkeypatch.setenv("QRELAY_TOKEN", "env-token")
    client = AsyncClient()
    assert client.settings.url == "http://from-env:3"
    assert _token(client) == "env-token"


def test_arguments_beat_everything(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QRELAY_URL", "http://from-env:3")
    client = Client("http://from-arg:4", "arg-token")
    assert client.settings.url == "http://from-arg:4"
    assert client.settings.token is not None
    assert client.settings.token.get_secret_value() == "arg-token"


def test_profile_by_argument_and_environment(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = AsyncClient(profile="lab")
    assert (client.settings.url, client.settings.timeout) == ("http://lab:2", 7.5)
    monkeypatch.setenv("QRELAY_PROFILE", "lab")
    assert AsyncClient().settings.url == "http://lab:2"
    with pytest.raises(ConfigurationError, match="no profile 'nope'"):
        AsyncClient(profile="nope")


def test_no_url_anywhere_means_embedded() -> None:
    assert "QRELAY_URL" not in os.environ
    client = AsyncClient()
    assert client.settings.url is None
    assert client.embedded
    assert client.url is None  # nothing started merely by constructing it
