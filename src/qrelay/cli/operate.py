"""``qrelay calibrations ...`` and ``qrelay maintenance ...``: a target's calibration
history and maintenance windows, for the people who run the devices.

- ``calibrations list TARGET [--from T] [--to T] [--limit N] [--cursor C] [--json]``
  (``GET /v1/targets/{name}/calibrations``; any user)
- ``calibrations show TARGET ID [--json]`` (one snapshot, qubit by qubit)
- ``calibrations post TARGET FILE`` (``POST``; admins): FILE holds the snapshot as JSON,
  ``{"qubits": [...], "gates": [...], "dt_ns": ...}``; ``-`` reads standard input
- ``maintenance list TARGET [--json]`` (open and coming windows; any user)
- ``maintenance schedule TARGET --until T [--from T] [--reason R]`` (admins)
- ``maintenance cancel TARGET WINDOW_ID`` (admins: the window ends now)

Times are ISO 8601 (``2026-12-07T10:00``, read as UTC without an offset). Reads go through
the runtime client, writes through the admin commands' channel; the service checks every
value and its refusals name the field.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qrelay.cli.admin import _body, _run
from qrelay.cli.client import _client, _table
from qrelay.cli.tokens import add_token_options
from qrelay.errors import ConfigurationError

if TYPE_CHECKING:
    from qrelay.payload.calibration import Calibration
    from qrelay.runtime.transport import HttpChannel

#: The most bytes of a posted snapshot file that the command reads.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


def register(subparsers: Any) -> None:
    """Add ``calibrations`` and ``maintenance``."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--url", help="service URL (default: $QRELAY_URL or config)")
    add_token_options(group, what="API token (an administrator's to post or schedule)")
    group.add_argument("--profile", help="config file profile (default: $QRELAY_PROFILE)")

    cal = subparsers.add_parser("calibrations", help="a target's calibration history")
    cal_sub = cal.add_subparsers(dest="calibrations_command", metavar="COMMAND")
    listing = cal_sub.add_parser("list", parents=[common], help="list snapshots, oldest first")
    listing.add_argument("target", metavar="TARGET", help="the target's name")
    listing.add_argument("--from", dest="after", metavar="TIME", help="taken at or after")
    listing.add_argument("--to", dest="before", metavar="TIME", help="taken before")
    listing.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    listing.add_argument("--cursor", help="the next page (printed after a full page)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_calibrations_list)

    show = cal_sub.add_parser("show", parents=[common], help="show one snapshot")
    show.add_argument("target", metavar="TARGET", help="the target's name")
    show.add_argument("calibration_id", metavar="ID", help="the calibration id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_calibrations_show)

    post = cal_sub.add_parser(
        "post", parents=[common], help="post a snapshot: the target's current one (admins)"
    )
    post.add_argument("target", metavar="TARGET", help="the target's name")
    post.add_argument("file", type=Path, metavar="FILE", help="the snapshot as JSON ('-': stdin)")
    post.set_defaults(handler=cmd_calibrations_post)

    win = subparsers.add_parser("maintenance", help="a target's maintenance windows")
    win_sub = win.add_subparsers(dest="maintenance_command", metavar="COMMAND")
    wlist = win_sub.add_parser("list", parents=[common], help="open and coming windows")
    wlist.add_argument("target", metavar="TARGET", help="the target's name")
    wlist.add_argument("--json", action="store_true", help="print JSON")
    wlist.set_defaults(handler=cmd_maintenance_list)

    sched = win_sub.add_parser("schedule", parents=[common], help="schedule a window (admins)")
    sched.add_argument("target", metavar="TARGET", help="the target's name")
    sched.add_argument("--until", required=True, metavar="TIME", help="when the window ends")
    sched.add_argument("--from", dest="start", metavar="TIME", help="when it starts (now)")
    sched.add_argument("--reason", default="", help="shown to users with the window")
    sched.set_defaults(handler=cmd_maintenance_schedule)

    stop = win_sub.add_parser("cancel", parents=[common], help="end a window now (admins)")
    stop.add_argument("target", metavar="TARGET", help="the target's name")
    stop.add_argument("window_id", type=int, metavar="WINDOW_ID", help="from `maintenance list`")
    stop.set_defaults(handler=cmd_maintenance_cancel)


# ---------------------------------------------------------------------- helpers
def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time given as ``option`` (UTC when it names no offset)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"{option}: {text!r} is not an ISO 8601 time such as 2026-12-07T10:00"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _number(value: float | None, fmt: str = "{:.4g}") -> str:
    return "-" if value is None else fmt.format(value)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _dump(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _snapshot(path: Path) -> bytes:
    """The JSON text of a snapshot file (checked to be JSON; the service checks the rest)."""
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read(MAX_SNAPSHOT_BYTES + 1)
        else:
            with path.open("rb") as f:
                raw = f.read(MAX_SNAPSHOT_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"FILE {str(path)!r}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise ConfigurationError(f"FILE {str(path)!r}: larger than {MAX_SNAPSHOT_BYTES} bytes")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"FILE {str(path)!r}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"FILE {str(path)!r}: expected a JSON object with 'qubits'")
    return _body(value)


# ---------------------------------------------------------------------- calibrations
def cmd_calibrations_list(args: argparse.Namespace) -> int:
    """A table of snapshots: id, time, source and the mean T1, T2 and readout error."""
    from pydantic import ValidationError as PydanticValidationError

    from qrelay.payload.calibration import CalibrationQuery

    values: dict[str, Any] = {"limit": args.limit, "cursor": args.cursor}
    values["from"] = parse_time(args.after, "--from")
    values["to"] = parse_time(args.before, "--to")
    try:
        query = CalibrationQuery.model_validate(values)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = {"after": "from", "before": "to"}.get(str(first["loc"][0]), first["loc"][0])
        raise ConfigurationError(f"--{field}: {first['msg']}") from None
    with _client(args) as client:
        found = client.calibrations(args.target, query)
    if args.json:
        _dump(found.model_dump(mode="json"))
        return 0
    out = sys.stdout
    if not found.calibrations:
        out.write(f"no calibrations of {args.target} in that time\n")
        return 0
    rows = [["ID", "TAKEN (UTC)", "SOURCE", "T1 µs", "T2 µs", "READOUT ERR"]]
    rows += [_summary(c) for c in found.calibrations]
    _table(rows, out)
    if found.next_cursor:
        out.write(f"more: --cursor {found.next_cursor}\n")
    return 0


def _summary(c: Calibration) -> list[str]:
    """One row of the list: qubit means, as a glance at drift."""
    return [
        c.calibration_id,
        _stamp(c.taken_at),
        c.source.value,
        _number(_mean([q.t1_us for q in c.qubits]), "{:.1f}"),
        _number(_mean([q.t2_us for q in c.qubits]), "{:.1f}"),
        _number(_mean([q.readout_error for q in c.qubits])),
    ]


def cmd_calibrations_show(args: argparse.Namespace) -> int:
    """One snapshot: its qubits, then its two-qubit gates."""
    with _client(args) as client:
        c = client.calibration(args.target, args.calibration_id)
    if args.json:
        _dump(c.model_dump(mode="json"))
        return 0
    out = sys.stdout
    out.write(
        f"{c.calibration_id} of {c.target}, taken {_stamp(c.taken_at)} UTC ({c.source.value})\n"
    )
    rows = [["QUBIT", "T1 µs", "T2 µs", "FREQ GHz", "READOUT ERR", "READOUT ns"]]
    rows += [
        [
            str(i),
            _number(q.t1_us, "{:.1f}"),
            _number(q.t2_us, "{:.1f}"),
            _number(q.frequency_ghz),
            _number(q.readout_error),
            _number(q.readout_duration_ns, "{:g}"),
        ]
        for i, q in enumerate(c.qubits)
    ]
    _table(rows, out)
    pairs = [g for g in c.gates if len(g.qubits) == 2]
    if pairs:
        out.write("\n")
        rows = [["GATE", "QUBITS", "ERROR", "DURATION ns"]]
        rows += [
            [g.op, "-".join(map(str, g.qubits)), _number(g.error), _number(g.duration_ns, "{:g}")]
            for g in pairs
        ]
        _table(rows, out)
    return 0


def cmd_calibrations_post(args: argparse.Namespace) -> int:
    """Post the file's snapshot; prints the new calibration id alone on standard output."""
    body = _snapshot(args.file)

    async def work(transport: HttpChannel) -> Any:
        path = f"/v1/targets/{args.target}/calibrations"
        return (await transport.request("POST", path, content=body)).json()

    answer = _run(args, work)
    sys.stdout.write(answer["calibration_id"] + "\n")
    sys.stderr.write(f"{args.target} is at calibration {answer['calibration_id']} from now on\n")
    return 0


# ---------------------------------------------------------------------- maintenance
def cmd_maintenance_list(args: argparse.Namespace) -> int:
    """The target's open and coming windows, soonest first."""

    async def work(transport: HttpChannel) -> Any:
        return (await transport.request("GET", f"/v1/targets/{args.target}/maintenance")).json()

    windows: list[dict[str, Any]] = _run(args, work)
    if args.json:
        _dump(windows)
        return 0
    out = sys.stdout
    if not windows:
        out.write(f"no maintenance windows for {args.target}\n")
        return 0
    rows = [["ID", "STARTS (UTC)", "ENDS (UTC)", "REASON"]]
    for w in windows:
        starts = datetime.fromisoformat(w["starts_at"])
        ends = datetime.fromisoformat(w["ends_at"])
        rows.append([str(w["window_id"]), _stamp(starts), _stamp(ends), w.get("reason", "")])
    _table(rows, out)
    return 0


def cmd_maintenance_schedule(args: argparse.Namespace) -> int:
    """Schedule a window; prints its id alone on standard output."""
    ends = parse_time(args.until, "--until")
    starts = parse_time(args.start, "--from")
    assert ends is not None
    if starts is not None and ends <= starts:
        raise ConfigurationError("--until: the window ends before it starts (--from)")
    values: dict[str, Any] = {"ends_at": ends.isoformat(), "reason": args.reason}
    if starts is not None:
        values["starts_at"] = starts.isoformat()

    async def work(transport: HttpChannel) -> Any:
        path = f"/v1/targets/{args.target}/maintenance"
        return (await transport.request("POST", path, content=_body(values))).json()

    w = _run(args, work)
    sys.stdout.write(f"{w['window_id']}\n")
    sys.stderr.write(
        f"{args.target}: maintenance from {_stamp(datetime.fromisoformat(w['starts_at']))} "
        f"to {_stamp(datetime.fromisoformat(w['ends_at']))} UTC\n"
    )
    return 0


def cmd_maintenance_cancel(args: argparse.Namespace) -> int:
    """End the window now: the target's tasks are leased again."""

    async def work(transport: HttpChannel) -> Any:
        path = f"/v1/targets/{args.target}/maintenance/{args.window_id}"
        return await transport.request("DELETE", path)

    _run(args, work)
    sys.stderr.write(f"{args.target}: maintenance window {args.window_id} ended\n")
    return 0
