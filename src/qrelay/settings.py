"""Typed settings for the client, the service, the worker and the QPU controller.

Each value is taken from the first place that has it:

1. arguments given in code (``ClientSettings.load(url=...)``),
2. ``QRELAY_*`` environment variables (``QRELAY_URL``, ``QRELAY_TOKEN``, ...),
3. the config file (``$QRELAY_CONFIG``, else ``config.toml`` in the user's config dir),
   in the table of the chosen profile (``QRELAY_PROFILE``, default ``default``)::

       [profiles.default]
       url = "https://qrelay.example.org"
       token = "..."

   A settings class with a section (``service``, ``worker``, ``qpu``) also reads the
   ``[profiles.<name>.<section>]`` table; a key set in the profile's own table wins.
4. the built-in defaults.

The classes are ``pydantic_settings.BaseSettings``: :meth:`QRelaySettings.load` has
pydantic-settings gather these sources (see :meth:`~QRelaySettings.settings_customise_sources`)
and records where each value came from (:meth:`~QRelaySettings.source`). Constructing a
class directly (``ServiceSettings(database_url=...)``) takes the given values and the
defaults only, reading neither the environment nor the file.

Nothing is read at import time; each ``load`` reads the environment and the file anew.
"""

from __future__ import annotations

import json
import os
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

from pydantic import Field, PrivateAttr, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from qrelay.errors import ConfigurationError

ENV_PREFIX = "QRELAY_"
#: How the long-running commands write their logs (see :mod:`qrelay.logs`).
LogFormat = Literal["text", "json"]
DEFAULT_PROFILE = "default"


def qrelay_home() -> Path:
    """Where the embedded default keeps its data: ``$QRELAY_HOME`` or the user's data dir."""
    env = os.environ.get("QRELAY_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("qrelay", appauthor=False))


def private_dir(path: Path) -> Path:
    """``path`` as a directory, created readable by its owner only (0700) if it is new.

    ``QRELAY_HOME`` holds a database and a token; a directory that already exists keeps
    the mode its owner gave it.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def embedded_database_url(home: Path) -> str:
    """The embedded default's database: ``qrelay.db`` in its ``home``."""
    return f"sqlite:///{home / 'qrelay.db'}"


def config_path() -> Path:
    """The config file: ``$QRELAY_CONFIG`` or ``config.toml`` in the user's config dir.

    A ``QRELAY_CONFIG`` that names no file is an error (someone meant a file to be read);
    point it at an empty file, or ``/dev/null``, for no config at all.
    """
    env = os.environ.get("QRELAY_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.exists():
            raise ConfigurationError(f"QRELAY_CONFIG={env}: no such file")
        return path
    import platformdirs

    return Path(platformdirs.user_config_dir("qrelay", appauthor=False)) / "config.toml"


def _profile_name(profile: str | None) -> str:
    """The profile to read: ``profile``, else ``QRELAY_PROFILE``, else ``default``."""
    return profile or os.environ.get(f"{ENV_PREFIX}PROFILE") or DEFAULT_PROFILE


def read_profile(profile: str | None = None, path: Path | None = None) -> dict[str, Any]:
    """The table of ``profile`` in the config file, or ``{}`` when there is no file.

    A named profile that the file lacks is an error; the default profile may be absent.
    """
    name = _profile_name(profile)
    file = path or config_path()
    if not file.exists():
        if name != DEFAULT_PROFILE:
            raise ConfigurationError(f"profile {name!r} asked for, but {file} does not exist")
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"config file {file}: {exc}") from exc
    profiles = data.get("profiles", {})
    if name not in profiles:
        if name == DEFAULT_PROFILE:
            return {}
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(f"config file {file} has no profile {name!r} (known: {known})")
    table = profiles[name]
    if not isinstance(table, dict):
        raise ConfigurationError(f"config file {file}: [profiles.{name}] is not a table")
    return table


def _from_env(annotation: Any, raw: str, variable: str) -> Any:
    """An environment string as the field wants it: lists as JSON or comma-separated.

    ``QRELAY_TARGETS=aer_simulator,square_qpu`` and ``QRELAY_TARGETS='["aer_simulator"]'``
    both give a list; scalars stay strings for pydantic to convert (and to refuse with a
    message naming the field).
    """
    if list in {get_origin(arg) or arg for arg in (annotation, *get_args(annotation))}:
        text = raw.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{variable}: {text!r} is not a JSON list ({exc})"
                ) from exc
        return [item.strip() for item in text.split(",") if item.strip()]
    return raw


@dataclass
class _Load:
    """One call of :meth:`_Settings.load`: the profile asked for, and what each source gave.

    ``load`` sets it (in :data:`_LOADING`) while pydantic-settings builds the values, so
    :meth:`_Settings.settings_customise_sources` knows the profile and the sources can say
    which settings they supplied.
    """

    profile: str | None
    from_env: set[str] = field(default_factory=set)
    from_profile: set[str] = field(default_factory=set)
    profile_label: str = ""


_LOADING: ContextVar[_Load | None] = ContextVar("qrelay_settings_load", default=None)


class QRelayEnvSource(EnvSettingsSource):
    """The ``QRELAY_<NAME>`` environment variables, by their exact upper-case names.

    An empty variable is no value (the next source decides). A list setting takes JSON
    or comma-separated items, and a JSON list that does not parse is an error naming the
    variable.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The variable's text, or ``None`` when it is unset or empty."""
        return os.environ.get(ENV_PREFIX + field_name.upper()) or None, field_name, False

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        """Lists split as :func:`_from_env` says; any other text is left to pydantic."""
        if value is None:
            return None
        return _from_env(field.annotation, value, ENV_PREFIX + field_name.upper())

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        load = _LOADING.get()
        if load is not None:
            load.from_env = set(values)
        return values


class ProfileSettingsSource(InitSettingsSource):
    """The chosen profile's table of the TOML config file, read by :func:`read_profile`.

    Not pydantic-settings' ``TomlConfigSettingsSource``, which reads one file whole: this
    one picks ``[profiles.<name>]`` (and, for a class with a section, its
    ``[profiles.<name>.<section>]`` table, under the profile's own keys), takes only the
    keys the class has, and fails with a message naming the file, the profile or
    ``QRELAY_CONFIG``.
    """

    def __init__(self, settings_cls: type[BaseSettings], profile: str | None, section: str) -> None:
        path = config_path()
        table = read_profile(profile, path)
        if section:
            part = table.get(section, {})
            if not isinstance(part, dict):
                name = _profile_name(profile)
                raise ConfigurationError(
                    f"config file {path}: [profiles.{name}.{section}] is not a table"
                )
            table = part | table
        values = {k: v for k, v in table.items() if k in settings_cls.model_fields}
        super().__init__(settings_cls, values)
        load = _LOADING.get()
        if load is not None:
            load.from_profile = set(values)
            load.profile_label = f"profile {_profile_name(profile)!r} of {path}"


class _Settings(BaseSettings):
    """Shared loading: arguments, then environment, then the profile of the config file."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        case_sensitive=True,
        validate_default=False,
    )
    _section: ClassVar[str] = ""
    #: Where each value loaded by :meth:`load` came from (see :meth:`source`).
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, ``QRELAY_*`` variables, then the profile, when called by :meth:`load`.

        Constructed directly, a settings object holds its arguments and the defaults only.
        """
        load = _LOADING.get()
        if load is None:
            return (init_settings,)
        profile = ProfileSettingsSource(settings_cls, load.profile, cls._section)
        return (init_settings, QRelayEnvSource(settings_cls), profile)

    @classmethod
    def load(cls, *, profile: str | None = None, **overrides: Any) -> Self:
        """Build the settings from arguments, environment and config file, in that order.

        An argument that is ``None`` is not given: the next source decides.
        """
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            raise ConfigurationError(f"unknown setting(s) for {cls.__name__}: {sorted(unknown)}")
        given = {name: value for name, value in overrides.items() if value is not None}
        load = _Load(profile)
        token = _LOADING.set(load)
        try:
            settings = cls(**given)
        except PydanticValidationError as exc:
            raise ConfigurationError(f"{cls.__name__}: {exc}") from exc
        except SettingsError as exc:
            if isinstance(exc.__cause__, ConfigurationError):
                raise exc.__cause__ from exc
            raise ConfigurationError(f"{cls.__name__}: {exc}") from exc
        finally:
            _LOADING.reset(token)
        for name in cls.model_fields:
            if name in given:
                settings._sources[name] = f"the {name} argument (--{name.replace('_', '-')})"
            elif name in load.from_env:
                settings._sources[name] = ENV_PREFIX + name.upper()
            elif name in load.from_profile:
                settings._sources[name] = load.profile_label
        return settings

    def source(self, name: str) -> str:
        """Where the value of setting ``name`` came from: ``the url argument (--url)``, the
        environment variable (``QRELAY_URL``), ``profile 'lab' of /path/config.toml``, or
        ``default``."""
        return self._sources.get(name, "default")


class ClientSettings(_Settings):
    """Where the client sends requests, and how patiently.

    With no ``url`` anywhere, the client uses the embedded default (the whole stack in
    this process).
    """

    url: str | None = None
    token: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    retry_deadline: float = Field(default=60.0, gt=0)
    #: A service that refuses connections is tried again for at most this long: a
    #: service that is not there is told at once, one that restarts is waited for.
    connect_retry_seconds: float = Field(default=1.0, ge=0)
    backoff_base: float = Field(default=0.2, gt=0)
    backoff_max: float = Field(default=10.0, gt=0)


class ServiceSettings(_Settings):
    """How the service runs: its database, catalog, limits and first admin."""

    _section: ClassVar[str] = "service"

    database_url: str | None = None
    targets_file: Path | None = None
    admin_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_wait_seconds: float = Field(default=60.0, gt=0, le=600)
    lease_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    worker_liveness_seconds: float = Field(default=60.0, gt=0)
    #: Jobs one user may have unfinished (queued or running) at once; a submission over
    #: it is answered 429 ``too_many_jobs``. Administrators are not limited.
    max_unfinished_jobs: int = Field(default=10_000, ge=1)
    #: Circuits one user may have unfinished at once, over all their jobs: what bounds
    #: the free work of jobs that fail (they cost nothing). More is 429 ``too_many_jobs``.
    max_unfinished_circuits: int = Field(default=10_000, ge=1)
    cors_origins: list[str] = []
    home: Path | None = None
    #: OpenQASM conversions that run at once (threads); more wait, up to four times as
    #: many, and any beyond are answered 503 ``unavailable`` with ``Retry-After``.
    qasm_converters: int = Field(default=2, ge=1, le=64)
    #: How long converting one job's OpenQASM may take before it is refused (422).
    qasm_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    #: The most instructions an OpenQASM program may expand to, whatever its target allows.
    qasm_max_instructions: int = Field(default=1_000_000, ge=1, le=1_000_000)
    #: The most statements of one OpenQASM 3 program (its reference parser is slow).
    qasm_max_statements: int = Field(default=10_000, ge=1)
    #: Run store calls on the event loop instead of handing each to a thread. ``None``
    #: (the default): on SQLite, whose calls are short and whose writers queue on one
    #: lock anyway, so the two thread switches cost as much as the call; not on
    #: PostgreSQL, whose calls wait on the network.
    store_on_loop: bool | None = None
    #: The threads that run store calls when they do not run on the event loop (on
    #: PostgreSQL): each call waits on the database in one. A few suffice; more overlap
    #: more waits on the database but add no CPU.
    store_threads: int = Field(default=4, ge=1, le=64)
    #: Serve the Prometheus metrics on this port alone (no token; bind it where only
    #: the scraper reaches it).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    #: Serve ``GET /metrics`` on the app, readable with this token (or an admin's).
    metrics_token: SecretStr | None = None
    #: Serve ``GET /metrics`` on the app for admins' tokens (no dedicated token).
    metrics_on_app: bool = False
    #: ``text`` (one line per record) or ``json`` (one JSON object per line).
    log_format: LogFormat = "text"
    #: One log line per request (uvicorn's access log). Off: on small requests it costs
    #: the service about a tenth of its time, and the proxy in front usually keeps it.
    access_log: bool = False
    #: Request bodies at least this large are parsed and validated in a small pool of
    #: threads (``parse_threads`` of them) instead of on the event loop, so one large
    #: submission does not hold up every other request while it is read.
    parse_in_thread_bytes: int = Field(default=128 * 1024, ge=0)
    parse_threads: int = Field(default=2, ge=1, le=64)
    #: Requests allowed per token, by the role of its holder, in the notation of the
    #: ``limits`` library (``"20/second;600/minute"``); an empty string means no limit.
    #: Over it the answer is 429 with ``Retry-After``. Counts are kept per process unless
    #: ``rate_limit_storage`` names a shared store (``redis://host:6379``, any URL that
    #: ``limits`` knows; the ``async+`` prefix is added). The defaults leave room for a
    #: client's bursts and a worker's lease and heartbeat loop.
    rate_limit_user: str = "6000/minute"
    rate_limit_admin: str = "12000/minute"
    rate_limit_worker: str = "60000/minute"
    rate_limit_storage: str = "memory://"
    #: How long a looked-up token is trusted without asking the database again: the most
    #: time a revocation made on another replica takes to reach this one.
    auth_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    #: Lifetime of new user and worker tokens (created or rotated), in days; ``None``
    #: (the default): they do not expire. An expired token is answered 401.
    user_token_days: float | None = Field(default=None, gt=0)
    worker_token_days: float | None = Field(default=None, gt=0)
    #: Serve ``/docs`` (Swagger UI, its assets from the package) and ``/openapi.json``.
    docs_enabled: bool = True
    #: Serve the web console at ``/ui`` (log in with a token; see ``qrelay.service.console``).
    console_enabled: bool = True
    #: Hours a console session (its cookie) lasts before the token is asked for again.
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    #: Seconds a client has to send a request's headers once it connected (or began a
    #: new request on a kept-alive connection); a connection still sending them then is
    #: closed, so half-sent requests cannot hold connections.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)

    def resolved_database_url(self) -> str:
        """The database URL: ``database_url``, else ``service/qrelay.db`` under ``home``
        (``QRELAY_HOME``).

        The service's default file sits in a folder of its own, apart from the embedded
        default's (:func:`embedded_database_url`), so that a ``qrelay serve`` and the
        embedded default never share a database: the embedded default's workers would
        serve the other's queue, and its user would see the other's jobs as its own.
        """
        if self.database_url:
            return self.database_url
        folder = private_dir(private_dir(self.home or qrelay_home()) / "service")
        return f"sqlite:///{folder / 'qrelay.db'}"


class WorkerSettings(_Settings):
    """How a worker reaches the service and what it serves."""

    _section: ClassVar[str] = "worker"

    url: str | None = None
    token: SecretStr | None = None
    targets: list[str] = []
    lease_wait_seconds: float = Field(default=20.0, gt=0)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    qpu_address: str | None = None
    #: Serve the worker's Prometheus metrics on this port (``None``: not at all).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    #: The address the metrics port listens on.
    metrics_host: str = "127.0.0.1"
    #: ``text`` (one line per record) or ``json`` (one JSON object per line).
    log_format: LogFormat = "text"


class QpuSettings(_Settings):
    """How a QPU controller is guarded, and how its clients reach it.

    The controller (``qrelay qpu serve``) accepts the tokens of ``qpu_token`` or
    ``qpu_token_file`` (one per line, one per deployment sharing it) and serves TLS with
    ``qpu_tls_cert`` and ``qpu_tls_key``. A client (a worker, the direct provider, the
    QPU API) sends ``qpu_token`` (or the first token of ``qpu_token_file``) and trusts
    ``qpu_tls_ca`` when it is set. ``qpu_max_message_bytes`` bounds one gRPC message each
    way. A token is never taken from the command line, where other users could read it.
    """

    _section: ClassVar[str] = "qpu"

    qpu_token: SecretStr | None = None
    qpu_token_file: Path | None = None
    qpu_tls_cert: Path | None = None
    qpu_tls_key: Path | None = None
    qpu_tls_ca: Path | None = None
    qpu_tls_server_name: str | None = None
    qpu_max_message_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
