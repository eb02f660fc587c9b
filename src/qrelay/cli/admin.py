"""``qrelay admin user ...`` and ``qrelay admin worker ...``: the admin REST routes, no curl.

Each command sends one request to a running service with an administrator's token
(``--token-file``, ``QRELAY_TOKEN`` or the config profile; see :mod:`qrelay.cli.tokens`)
and prints the answer. A new token is printed alone on standard output, so a script can
capture it; everything else a person reads goes to standard error.

- ``user create --email E --name N [--role user|admin] [--balance X]`` (``POST /v1/users``)
- ``user list [--email E] [--role R] [--json]`` (``GET /v1/users``)
- ``user balance USER AMOUNT`` (``PATCH /v1/users/{id}``)
- ``user rotate-token USER`` (``POST /v1/users/{id}/token``; the old token stops working)
- ``worker create --name N --target T [--target T ...]`` (``POST /v1/workers``)

``USER`` is a user id or an email address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from qrelay.cli.tokens import add_token_options, token_from
from qrelay.errors import ConfigurationError, NotFoundError

if TYPE_CHECKING:
    from qrelay.runtime.transport import HttpChannel


def register(admin_sub: Any) -> None:
    """Add ``user`` and ``worker`` to the ``qrelay admin`` subcommands.

    One declaration of every subcommand and flag, read top to bottom as ``--help`` shows
    them; split up, it would only scatter a flat list.
    """
    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection")
    group.add_argument("--url", help="service URL (default: $QRELAY_URL or config)")
    add_token_options(group, what="administrator's token")
    group.add_argument("--profile", help="config file profile (default: $QRELAY_PROFILE)")

    user = admin_sub.add_parser("user", help="create, list and change users (REST)")
    user_sub = user.add_subparsers(dest="user_command", metavar="COMMAND")
    create = user_sub.add_parser(
        "create", parents=[connection], help="create a user and print its token once"
    )
    create.add_argument("--email", required=True, help="the user's email (unique)")
    create.add_argument("--name", required=True, help="the user's display name")
    create.add_argument("--role", choices=["user", "admin"], default="user", help="role")
    create.add_argument("--balance", type=float, default=0.0, help="starting balance")
    create.set_defaults(handler=_user_create)

    listing = user_sub.add_parser("list", parents=[connection], help="list users")
    listing.add_argument("--email", help="only the user with this email")
    listing.add_argument("--role", choices=["user", "admin"], help="only users of this role")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_user_list)

    balance = user_sub.add_parser("balance", parents=[connection], help="set a user's balance")
    balance.add_argument("user", metavar="USER", help="user id or email")
    balance.add_argument("amount", type=float, metavar="AMOUNT", help="the new balance")
    balance.set_defaults(handler=_user_balance)

    rotate = user_sub.add_parser(
        "rotate-token",
        parents=[connection],
        help="give a user a new token (printed once); the old one stops working",
    )
    rotate.add_argument("user", metavar="USER", help="user id or email")
    rotate.set_defaults(handler=_user_rotate)

    worker = admin_sub.add_parser(
        "worker", help="register workers, rotate or revoke their tokens (REST)"
    )
    worker_sub = worker.add_subparsers(dest="worker_command", metavar="COMMAND")
    wcreate = worker_sub.add_parser(
        "create", parents=[connection], help="register a worker and print its token once"
    )
    wcreate.add_argument("--name", required=True, help="a name for the worker")
    wcreate.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="NAME",
        help="a target it may serve (repeat for several)",
    )
    wcreate.set_defaults(handler=_worker_create)
    wrotate = worker_sub.add_parser(
        "rotate-token",
        parents=[connection],
        help="give a worker a new token (printed once); the old one stops working",
    )
    wrotate.add_argument("worker", metavar="WORKER_ID", help="the worker's id (from create)")
    wrotate.set_defaults(handler=_worker_rotate)
    wrevoke = worker_sub.add_parser(
        "revoke",
        parents=[connection],
        help="revoke a worker's token: it leases nothing more (rotate-token restores it)",
    )
    wrevoke.add_argument("worker", metavar="WORKER_ID", help="the worker's id (from create)")
    wrevoke.set_defaults(handler=_worker_revoke)


# ---------------------------------------------------------------------- plumbing
def _transport(args: argparse.Namespace) -> HttpChannel:
    """The HTTP channel to the service named by the arguments, environment or profile."""
    from qrelay.runtime.retry import RetryPolicy
    from qrelay.runtime.transport import HttpChannel, check_service_url
    from qrelay.settings import ClientSettings

    settings = ClientSettings.load(profile=args.profile, url=args.url, token=token_from(args))
    # The commands of other groups that send admin requests (``qrelay maintenance``) say
    # their own name.
    command = f"qrelay {getattr(args, 'command', None) or 'admin'}"
    if not settings.url:
        raise ConfigurationError(f"{command}: give --url (or set QRELAY_URL)")
    if settings.token is None:
        who = "the administrator's" if command == "qrelay admin" else "a"
        raise ConfigurationError(f"{command}: give {who} token (--token-file or QRELAY_TOKEN)")
    base = settings.url.rstrip("/").removesuffix("/v1")
    origin = settings.source("url")
    check_service_url(base, origin)
    return HttpChannel(
        base,
        settings.token.get_secret_value(),
        timeout=settings.timeout,
        connect_timeout=settings.connect_timeout,
        policy=RetryPolicy.from_settings(settings),
        origin=origin,
    )


def _run(args: argparse.Namespace, work: Any) -> Any:
    """Run ``work(transport)`` (a coroutine function) and close the transport."""

    async def main() -> Any:
        transport = _transport(args)
        try:
            return await work(transport)
        finally:
            await transport.aclose()

    return asyncio.run(main())


async def _user_id(transport: HttpChannel, user: str) -> str:
    """The id of ``user`` (an id, or an email looked up in the user list)."""
    if "@" not in user:
        return user
    answer = await transport.request("GET", "/v1/users", params={"email": user})
    found = json.loads(answer.content)
    if not found:
        raise NotFoundError(f"no user with email {user!r}", status=404, code="not_found")
    return str(found[0]["user_id"])


def _body(values: dict[str, Any]) -> bytes:
    return json.dumps(values).encode()


# ---------------------------------------------------------------------- commands
def _user_create(args: argparse.Namespace) -> int:
    body = {"email": args.email, "name": args.name, "role": args.role, "balance": args.balance}

    async def work(transport: HttpChannel) -> Any:
        return (await transport.request("POST", "/v1/users", content=_body(body))).json()

    answer = _run(args, work)
    sys.stdout.write(answer["token"] + "\n")
    sys.stderr.write(f"user {answer['user_id']} ({answer['email']}) created; store the token ")
    sys.stderr.write("now: it is shown only once\n")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    params = {"email": args.email, "role": args.role}

    async def work(transport: HttpChannel) -> Any:
        return (await transport.request("GET", "/v1/users", params=params)).json()

    users: list[dict[str, Any]] = _run(args, work)
    out = sys.stdout
    if args.json:
        json.dump(users, out, indent=2)
        out.write("\n")
        return 0
    if not users:
        out.write("no users\n")
        return 0
    from qrelay.cli.client import _table

    rows = [["USER ID", "NAME", "EMAIL", "ROLE", "BALANCE", "ACTIVE"]]
    rows += [
        [
            str(u["user_id"]),
            str(u["name"]),
            str(u["email"]),
            str(u["role"]),
            f"{u['balance']:g}",
            "yes" if u.get("active", True) else "no",
        ]
        for u in users
    ]
    _table(rows, out)
    return 0


def _user_balance(args: argparse.Namespace) -> int:
    async def work(transport: HttpChannel) -> Any:
        user_id = await _user_id(transport, args.user)
        body = _body({"balance": args.amount})
        return (await transport.request("PATCH", f"/v1/users/{user_id}", content=body)).json()

    info = _run(args, work)
    sys.stdout.write(f"{info['email']}: balance {info['balance']:g}\n")
    return 0


def _user_rotate(args: argparse.Namespace) -> int:
    async def work(transport: HttpChannel) -> Any:
        user_id = await _user_id(transport, args.user)
        return (await transport.request("POST", f"/v1/users/{user_id}/token")).json()

    answer = _run(args, work)
    sys.stdout.write(answer["token"] + "\n")
    sys.stderr.write(f"new token for {answer['email']}; the old one no longer works\n")
    return 0


def _worker_create(args: argparse.Namespace) -> int:
    body = {"name": args.name, "targets": args.target}

    async def work(transport: HttpChannel) -> Any:
        return (await transport.request("POST", "/v1/workers", content=_body(body))).json()

    answer = _run(args, work)
    sys.stdout.write(answer["token"] + "\n")
    sys.stderr.write(
        f"worker {answer['worker_id']} ({answer['name']}) for {', '.join(answer['targets'])} "
        "created; store the token now: it is shown only once\n"
    )
    return 0


def _worker_rotate(args: argparse.Namespace) -> int:
    async def work(transport: HttpChannel) -> Any:
        return (await transport.request("POST", f"/v1/workers/{args.worker}/token")).json()

    answer = _run(args, work)
    sys.stdout.write(answer["token"] + "\n")
    sys.stderr.write(
        f"new token for worker {answer['worker_id']} ({answer['name']}); "
        "the old one no longer works\n"
    )
    return 0


def _worker_revoke(args: argparse.Namespace) -> int:
    async def work(transport: HttpChannel) -> Any:
        return await transport.request("DELETE", f"/v1/workers/{args.worker}/token")

    _run(args, work)
    sys.stderr.write(f"worker {args.worker} revoked; its token no longer works\n")
    return 0
