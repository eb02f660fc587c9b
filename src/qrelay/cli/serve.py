"""``qrelay serve``, ``qrelay db upgrade`` and ``qrelay admin create``: run the service."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from qrelay.cli.database import database_errors, masked

log = logging.getLogger(__name__)

_DATABASE_HELP = (
    "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (default: $QRELAY_DATABASE_URL, "
    "else service/qrelay.db under $QRELAY_HOME)"
)


def register(subparsers: Any) -> None:
    """Add the service's commands to the ``qrelay`` parser."""
    serve = subparsers.add_parser("serve", help="run the job service (uvicorn)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--database-url", default=None, help=_DATABASE_HELP)
    serve.add_argument("--targets", type=Path, default=None, help="target catalog (TOML or JSON)")
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log one line per request (off by default: it costs the service a noticeable "
        "share of its time on small requests; a reverse proxy usually keeps this log)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on this port (on --host; default: not at all)",
    )
    serve.set_defaults(handler=_serve)

    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND")
    upgrade = db_sub.add_parser("upgrade", help="apply the schema migrations")
    upgrade.add_argument("--database-url", default=None, help=_DATABASE_HELP)
    upgrade.set_defaults(handler=_upgrade)

    admin = subparsers.add_parser("admin", help="service administration")
    admin_sub = admin.add_subparsers(dest="admin_command", metavar="COMMAND")
    create = admin_sub.add_parser(
        "create",
        help="create an administrator in the database and print its token once (no service needed)",
    )
    create.add_argument("--email", required=True, help="the administrator's email")
    create.add_argument("--name", required=True, help="the administrator's display name")
    create.add_argument("--database-url", default=None, help=_DATABASE_HELP)
    create.set_defaults(handler=_admin_create)
    from qrelay.cli import admin as admin_cli

    admin_cli.register(admin_sub)


def _settings(args: argparse.Namespace) -> Any:
    from qrelay.settings import ServiceSettings

    return ServiceSettings.load(
        database_url=getattr(args, "database_url", None),
        targets_file=getattr(args, "targets", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        metrics_port=getattr(args, "metrics_port", None),
        access_log=getattr(args, "access_log", None),
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from qrelay import logs
    from qrelay.service.app import create_app
    from qrelay.service.server import protocol_class

    settings = _settings(args)
    url = settings.resolved_database_url()
    _migrate(url)  # a database that is not there is told in one line, before uvicorn starts
    logs.use_format(settings.log_format)
    app = create_app(settings)
    targets = ", ".join(app.state.runtime.catalog.names()) or "none"
    logs.announce(
        f"qrelay serve: http://{settings.host}:{settings.port}, database {masked(url)}, "
        f"targets {targets} (a target runs jobs once a `qrelay worker` serves it)",
        settings.log_format,
    )
    # JSON logs: uvicorn's records go through the root logger's JSON formatter.
    config: Any = {} if settings.log_format == "text" else {"log_config": None}
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
        http=protocol_class(settings.header_timeout_seconds),
        **config,
    )
    return 0


def _migrate(url: str) -> None:
    """Bring the schema of ``url`` up to date; database errors name the URL in one line."""
    from qrelay.service.db.engine import make_engine
    from qrelay.service.db.migrate import upgrade

    with database_errors(url):
        engine = make_engine(url, pool_size=1)
        try:
            upgrade(engine)
        finally:
            engine.dispose()


def _upgrade(args: argparse.Namespace) -> int:
    _migrate(_settings(args).resolved_database_url())
    sys.stdout.write("database schema is up to date\n")
    return 0


def _admin_create(args: argparse.Namespace) -> int:
    from qrelay.service.bootstrap import create_admin

    url = _settings(args).resolved_database_url()
    with database_errors(url):
        token = create_admin(url, name=args.name, email=args.email)
    sys.stdout.write(token + "\n")
    sys.stderr.write("store this token now: it is shown only once\n")
    return 0
