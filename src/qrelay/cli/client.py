"""User commands of the ``qrelay`` shell: run a QASM file, list targets and jobs, cancel.

``qrelay run bell.qasm --target aer_simulator --shots 1000`` converts the file (with the
``qasm`` converter plugin when one is installed, else the service converts it), submits
it, waits (with a progress line on a terminal) and prints the counts with a small text
histogram, or JSON with ``--json``. With no ``--url`` and no ``QRELAY_URL`` the commands
use the embedded default.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from qrelay.cli.tokens import add_token_options, token_from
from qrelay.errors import JobTimeoutError, QRelayError, ValidationError

if TYPE_CHECKING:
    from qrelay.payload import JobData, NewJob, TargetInfo, TargetStatus
    from qrelay.runtime import Client

#: Show the progress line only once a wait has lasted this long.
_PROGRESS_AFTER = 0.5
#: The histogram shows at most this many outcomes (the most frequent).
_HISTOGRAM_ROWS = 16
_BAR_WIDTH = 40


def register(subparsers: Any) -> None:
    """Add ``run``, ``targets``, ``jobs``, ``job``, ``cancel`` and ``balance``.

    One declaration of every subcommand and flag, read top to bottom as ``--help`` shows
    them; split up, it would only scatter a flat list.
    """
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--url", help="service URL (default: $QRELAY_URL, config, embedded)")
    add_token_options(group)
    group.add_argument("--profile", help="config file profile (default: $QRELAY_PROFILE)")

    run = subparsers.add_parser(
        "run", parents=[common], help="run an OpenQASM 2/3 file and print its counts"
    )
    run.add_argument("file", type=Path, help="the OpenQASM file ('-' reads stdin)")
    run.add_argument("--target", "-t", default="aer_simulator", help="target name")
    run.add_argument("--shots", "-s", type=int, default=1000, help="shots (default 1000)")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help=(
            "stop waiting after S seconds (a service's job goes on; on the embedded "
            "default it is cancelled, as it is on Ctrl-C)"
        ),
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress line while waiting (default: when stderr is a terminal)",
    )
    run.set_defaults(handler=cmd_run)

    targets = subparsers.add_parser("targets", parents=[common], help="list the targets")
    targets.add_argument("--show", metavar="NAME", help="show one target and its couplings")
    targets.add_argument("--json", action="store_true", help="print JSON")
    targets.set_defaults(handler=cmd_targets)

    jobs = subparsers.add_parser("jobs", parents=[common], help="list your recent jobs")
    jobs.add_argument("--target", help="only jobs on this target")
    jobs.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="only jobs in this status (repeat for several): received, awaiting_compile, "
        "compiling, awaiting_simulation, simulating, awaiting_submission, pending, running, "
        "completed, failed, cancelled, deleted",
    )
    jobs.add_argument("--tag", help="only jobs with this tag")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    jobs.add_argument("--json", action="store_true", help="print JSON")
    jobs.set_defaults(handler=cmd_jobs)

    job = subparsers.add_parser("job", parents=[common], help="show one job and its counts")
    job.add_argument("job_id", metavar="JOB_ID", help="the job's id (from `qrelay jobs`)")
    job.add_argument("--wait", action="store_true", help="wait until it ends")
    job.add_argument("--json", action="store_true", help="print JSON")
    job.set_defaults(handler=cmd_job)

    cancel = subparsers.add_parser("cancel", parents=[common], help="cancel jobs")
    cancel.add_argument("job_ids", nargs="+", metavar="ID", help="ids of the jobs to cancel")
    cancel.set_defaults(handler=cmd_cancel)

    balance = subparsers.add_parser("balance", parents=[common], help="show your balance")
    balance.set_defaults(handler=cmd_balance)


# ---------------------------------------------------------------------- helpers
def _client(args: argparse.Namespace) -> Client:
    from qrelay.runtime import Client

    return Client(args.url, token_from(args), profile=args.profile)


def _out() -> IO[str]:
    return sys.stdout


def _table(rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")


def histogram(
    counts: dict[str, int], *, rows: int = _HISTOGRAM_ROWS, width: int = _BAR_WIDTH
) -> str:
    """Counts as text bars, most frequent first (at most ``rows`` outcomes)."""
    if not counts:
        return "(no shots)\n"
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ranked[:rows]
    top = shown[0][1]
    key_w = max(len(k) for k, _ in shown)
    num_w = len(str(top))
    lines = []
    for key, count in shown:
        bar = "#" * max(1 if count else 0, round(width * count / top))
        share = 100.0 * count / total
        lines.append(f"{key.rjust(key_w)} | {bar.ljust(width)} {count:>{num_w}} ({share:5.1f}%)")
    if len(ranked) > rows:
        rest = sum(c for _, c in ranked[rows:])
        lines.append(f"... {len(ranked) - rows} more outcome(s), {rest} shot(s)")
    return "\n".join(lines) + "\n"


class _Progress:
    """A one-line status display on stderr, redrawn in place, shown after a moment."""

    def __init__(
        self, job_id: str, enabled: bool, stream: IO[str], note: str | None = None
    ) -> None:
        self.job_id = job_id
        self.enabled = enabled
        self.stream = stream
        self.note = note
        self.started = time.monotonic()
        self.shown = False

    def update(self, data: JobData) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        if elapsed < _PROGRESS_AFTER and not self.shown:
            return
        where = f", queue position {data.queue_position}" if data.queue_position else ""
        note = f", {self.note}" if self.note else ""
        line = f"job {self.job_id}: {data.status.value}{where}{note} ({elapsed:.1f} s)"
        self.stream.write("\r" + line.ljust(72))
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()


def _qasm_job(path: Path, target: str, shots: int) -> NewJob:
    """The job for an OpenQASM file.

    A converter registered as ``qasm`` in the ``qrelay.converters`` entry point group
    (``qrelay_qasm`` when installed) turns the text into a payload circuit here, so errors
    name the line before anything is sent; without one, the text goes to the service,
    which converts it. An OpenQASM 2 file here may include files next to it (this is
    the user's own machine); the service resolves only the standard library.
    """
    from qrelay import registry
    from qrelay.payload import Circuit, CircuitType, NewJob
    from qrelay.payload.parsing import parse
    from qrelay.registry import CONVERTERS

    text = sys.stdin.read() if str(path) == "-" else _read(path)
    if not text.strip():
        where = "standard input" if str(path) == "-" else f"file {str(path)!r}"
        raise ValidationError(f"{where}: the file is empty (no OpenQASM program)")
    if "qasm" in registry.names(CONVERTERS):
        convert = registry.load(CONVERTERS, "qasm")
        circuit = convert(text) if str(path) == "-" else convert(text, include_dirs=[path.parent])
        if not isinstance(circuit, Circuit):
            raise ValidationError(f"the qasm converter returned {type(circuit).__name__}")
        if circuit.name is None and str(path) != "-":
            circuit = circuit.model_copy(update={"name": path.stem})
        return parse(NewJob, {"target": target, "circuits": [circuit], "shots": shots})
    kind = CircuitType.QASM3 if _is_qasm3(text) else CircuitType.QASM2
    return parse(NewJob, {"target": target, "circuit_type": kind, "qasm": [text], "shots": shots})


def _is_qasm3(text: str) -> bool:
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line:
            return line.upper().startswith("OPENQASM 3")
    return False


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"file {str(path)!r}: {exc.strerror or exc}") from exc


# ---------------------------------------------------------------------- commands
def cmd_run(args: argparse.Namespace) -> int:
    """Convert, submit, wait, print."""
    from qrelay.runtime import decode
    from qrelay.runtime.progress import unserved

    new_job = _qasm_job(args.file, args.target, args.shots)
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    with _client(args) as client:
        job = client.submit(new_job)
        note = None if job.ended is not None else unserved(client, new_job.target)
        progress = _Progress(job.job_id, progress_on, sys.stderr, note)
        try:
            poll = 1.0 if progress_on else None
            results = job.result(args.timeout, on_update=progress.update, poll=poll)
        except KeyboardInterrupt:
            _abandon(job, "interrupted")
            raise
        except JobTimeoutError as exc:
            # On the embedded default nobody else would wait for the job: cancel it rather
            # than leave it for whichever process starts the embedded default next. A
            # service's job goes on, for `qrelay job ID` to read later.
            if client.embedded:
                _abandon(job, "timed out")
            if note is None:
                raise
            raise JobTimeoutError(f"{exc} ({note})", job_id=exc.job_id) from exc
        finally:
            progress.done()
    readouts = results.readouts[0] or []
    counts = decode.merge_counts(decode.counts(r) for r in readouts)
    out = _out()
    if args.json:
        json.dump(
            {"job_id": job.job_id, "target": args.target, "shots": args.shots, "counts": counts},
            out,
            indent=2,
        )
        out.write("\n")
        return 0
    out.write(f"job {job.job_id} on {args.target}: {sum(counts.values())} shots\n")
    out.write(histogram(counts))
    return 0


def _abandon(job: Any, why: str) -> None:
    """Cancel a job the user stopped waiting for, saying so on stderr (best effort)."""
    try:
        job.cancel()
    except QRelayError as exc:
        sys.stderr.write(f"qrelay: {why}; could not cancel job {job.job_id}: {exc}\n")
    else:
        sys.stderr.write(f"qrelay: {why}; job {job.job_id} cancelled\n")


def _served(status: TargetStatus) -> str:
    """The WORKER column: whether a live worker serves the target."""
    from qrelay.payload import TargetStatus

    if status is TargetStatus.AVAILABLE:
        return "yes"
    return "none" if status is TargetStatus.OFFLINE else "-"


def cmd_targets(args: argparse.Namespace) -> int:
    out = _out()
    with _client(args) as client:
        if args.show:
            info = client.target(args.show)
            if args.json:
                out.write(info.model_dump_json(indent=2) + "\n")
            else:
                out.write(describe_target(info))
            return 0
        models = client.targets()
    if args.json:
        json.dump([m.model_dump(mode="json") for m in models], out, indent=2)
        out.write("\n")
        return 0
    rows = [["NAME", "QUBITS", "KIND", "STATUS", "WORKER", "QUEUE", "PRICE/SHOT"]]
    rows += [
        [
            m.target_name,
            str(m.num_qubits),
            "simulator" if m.simulator else "qpu",
            m.status.value,
            _served(m.status),
            str(m.queue_depth),
            f"{m.price_per_shot:g}",
        ]
        for m in models
    ]
    _table(rows, out)
    return 0


def describe_target(info: TargetInfo) -> str:
    """A target's details, with its coupling map drawn as text."""
    lines = [
        f"{info.name}: {info.description}".rstrip(": "),
        (
            f"  driver {info.driver}, {info.num_qubits} qubits, "
            f"{'simulator' if info.simulator else 'device'}, status {info.status.value}, "
            f"queue {info.queue_depth}"
        ),
        f"  native ops: {', '.join(info.native_ops) or 'any'}",
        f"  limits: {info.limits.max_shots} shots, {info.limits.max_circuits} circuits",
    ]
    if info.calibration_id:
        lines.append(f"  calibration: {info.calibration_id}")
    lines.append(coupling_text(info))
    return "\n".join(lines) + "\n"


def coupling_text(info: TargetInfo) -> str:
    """The coupling map as text: a grid drawing for square lattices, else neighbour lists."""
    if info.coupling_map is None:
        return f"  coupling: all-to-all ({info.num_qubits} qubits)"
    edges = {(min(a, b), max(a, b)) for a, b in info.coupling_map}
    side = round(info.num_qubits**0.5)
    grid = side * side == info.num_qubits and all(
        (b - a == 1 and a // side == b // side) or b - a == side for a, b in edges
    )
    if grid and side > 1:
        cell = len(str(info.num_qubits - 1))
        rows = []
        for r in range(side):
            line = ""
            below = ""
            for c in range(side):
                q = r * side + c
                line += str(q).rjust(cell)
                if c < side - 1:
                    line += "---" if (q, q + 1) in edges else "   "
                below += ("|" if (q, q + side) in edges else " ").rjust(cell) + "   "
            rows.append("    " + line)
            if r < side - 1:
                rows.append("    " + below.rstrip())
        return "  coupling (grid):\n" + "\n".join(rows)
    neighbours: dict[int, list[int]] = {q: [] for q in range(info.num_qubits)}
    for a, b in sorted(edges):
        neighbours[a].append(b)
        neighbours[b].append(a)
    body = "\n".join(
        f"    {q:>3}: {' '.join(map(str, sorted(ns))) or '-'}" for q, ns in neighbours.items()
    )
    return f"  coupling ({len(edges)} pairs):\n{body}"


def cmd_jobs(args: argparse.Namespace) -> int:
    out = _out()
    filters: dict[str, Any] = {"limit": args.limit}
    if args.target:
        filters["target_name"] = args.target
    if args.status:
        filters["status"] = args.status
    if args.tag:
        filters["tag"] = args.tag
    with _client(args) as client:
        jobs = client.jobs(**filters)
    datas = [j.last_data for j in jobs if j.last_data is not None]
    if args.json:
        json.dump([d.model_dump(mode="json") for d in datas], out, indent=2)
        out.write("\n")
        return 0
    rows = [["JOB ID", "TARGET", "STATUS", "CIRCUITS", "SUBMITTED"]]
    rows += [
        [
            d.job_id,
            d.target,
            d.status.value,
            str(d.num_circuits),
            d.submission_timestamp.strftime("%Y-%m-%d %H:%M:%S"),
        ]
        for d in datas
    ]
    if len(rows) == 1:
        out.write("no jobs\n")
        return 0
    _table(rows, out)
    return 0


def cmd_job(args: argparse.Namespace) -> int:
    from qrelay.payload import TERMINAL_CIRCUIT_STATES
    from qrelay.runtime.progress import unserved

    out = _out()
    with _client(args) as client:
        job = client.job(args.job_id)
        data = job.wait() if args.wait else job.data()
        ended = all(status in TERMINAL_CIRCUIT_STATES for status in data.statuses)
        note = None if ended else unserved(client, data.target)
    if args.json:
        out.write(data.model_dump_json(indent=2, exclude={"readouts", "layouts"}) + "\n")
        return 0
    out.write(
        f"job {data.job_id} on {data.target}: {data.status.value}, "
        f"{data.num_circuits} circuit(s), submitted {data.submission_timestamp:%Y-%m-%d %H:%M:%S}\n"
    )
    if data.queue_position is not None:
        from qrelay.runtime.queue_info import QueueInfo

        out.write(f"  {QueueInfo.of(data.job_id, [data]).describe()}\n")
    if note:
        out.write(f"  waiting: {note}\n")
    for i, status in enumerate(data.statuses):
        message = data.status_messages[i] if i < len(data.status_messages) else None
        out.write(f"  circuit {i}: {status.value}" + (f" ({message})" if message else "") + "\n")
        counts = data.counts[i] if i < len(data.counts) else None
        if counts:
            out.write(histogram(counts))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    out = _out()
    with _client(args) as client:
        answer = client.cancel(args.job_ids)
    for job_id in answer.succeeded:
        out.write(f"{job_id}: cancelled\n")
    for job_id in answer.already_terminal:
        out.write(f"{job_id}: already ended\n")
    for job_id in answer.not_found:
        out.write(f"{job_id}: not found\n")
    for warning in answer.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    return 1 if answer.not_found else 0


def cmd_balance(args: argparse.Namespace) -> int:
    with _client(args) as client:
        amount = client.balance()
        embedded = client.embedded
    note = "  (the embedded default's user is its administrator: it is not charged)"
    _out().write(f"{amount:g}{note if embedded else ''}\n")
    return 0
