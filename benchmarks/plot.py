"""Plot the side-by-side ratios and write the results part of ``docs/performance.md``.

::

    python -m benchmarks.plot [--json benchmarks/results/latest.json]
                              [--png docs/performance.png] [--doc docs/performance.md]

Reads a run saved by ``python -m benchmarks`` and draws one horizontal bar per row of
the ``peers`` module: qrelay's ratio to the peer (ours / peer, log scale; left of 1 is
qrelay ahead). With ``--doc`` it rewrites the part of the page between the
``peers-results`` markers with the table, the plot and the machine the run was on, and
the part between the ``costs-results`` markers with the ``costs`` module's table (each
case, its figure before, its target and the measured ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
START = "<!-- peers-results:start -->"
END = "<!-- peers-results:end -->"
COSTS_START = "<!-- costs-results:start -->"
COSTS_END = "<!-- costs-results:end -->"


def machine() -> dict[str, str]:
    """CPU count and model, Python and OS of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def peer_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report.get("rows", []) if r.get("module") == "peers"]


def _split(row: dict[str, Any]) -> tuple[str, str]:
    """(case title, bar label): ``"1 bell ... [embedded]"`` -> ``("1 bell ...", "embedded vs X")``."""
    group = str(row.get("group", row["case"]))
    title, _, path = group.partition(" [")
    path = path.replace("]", "")
    peer = str(row.get("peer", "?"))
    label = f"{path}  vs  {peer}" if path else f"vs  {peer}"
    return title, label if len(label) <= 80 else label[:79] + "…"


def plot(report: dict[str, Any], out: Path) -> int:
    """Draw the ratios of the peers rows to ``out`` (PNG); returns how many bars."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in peer_rows(report) if isinstance(r.get("ratio"), int | float)]
    if not rows:
        raise SystemExit("no peers rows with a ratio in this run")
    # Top to bottom: a header line per case, then its bars.
    lines: list[tuple[str, float | None]] = []
    previous = None
    for row in rows:
        title, label = _split(row)
        if title != previous:
            lines.append((title, None))
            previous = title
        lines.append((label, max(float(row["ratio"]), 1e-3)))
    lines.reverse()
    fig, ax = plt.subplots(figsize=(14, 0.22 * len(lines) + 1.4))
    labels = []
    for pos, (text, value) in enumerate(lines):
        if value is None:
            ax.axhspan(pos - 0.5, pos + 0.5, color="#eeeeee", zorder=0)
            labels.append(text)
            continue
        ax.barh(pos, value, color="#2e7d32" if value <= 1 else "#c62828", height=0.7, zorder=2)
        ax.text(value * 1.06, pos, f"{value:.3g}x", va="center", fontsize=6.5, zorder=3)
        labels.append(text)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1, zorder=3)
    ax.set_yticks(range(len(lines)))
    ax.set_yticklabels(labels, fontsize=7)
    for tick, (_, value) in zip(ax.get_yticklabels(), lines, strict=True):
        if value is None:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, len(lines) - 0.4)
    info = machine()
    ax.set_xlabel("qrelay / peer (log scale; < 1: qrelay faster, > 1: the peer faster)")
    ax.set_title(
        "qrelay against its peers, median of repeats "
        f"({'quick' if report.get('quick') else 'full'} sizes) - {info['nproc']} CPUs, "
        f"{info['cpu']}, Python {report.get('python', info['python'])}",
        fontsize=9,
    )
    ax.grid(axis="x", which="both", color="#dddddd", linewidth=0.5, zorder=1)
    fig.subplots_adjust(
        left=0.36, right=0.97, top=1 - 0.5 / fig.get_figheight(), bottom=0.6 / fig.get_figheight()
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return len(rows)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _load_line(load: Any) -> str:
    """What the page says of the machine's load: absolute times depend on it."""
    said = ""
    if isinstance(load, dict) and load.get("start") is not None:
        said = (
            f"The load average (1 min) was {load['start']} when the run started and "
            f"{load.get('end')} when it ended. "
        )
    return (
        said + "Absolute times depend on the machine and on what else runs on it; qrelay "
        "and each peer ran in processes of their own, alternating, so the ratios are what "
        "to read."
    )


def markdown(report: dict[str, Any], png: str) -> str:
    """The results part of the page: machine, plot, table, and the peers that did not run."""
    info = machine()
    rows = peer_rows(report)
    lines = [
        START,
        (
            f"Run of {report.get('started', '?')} with "
            f"`python -m benchmarks{' --quick' if report.get('quick') else ''}` "
            "in the benchmark environment (`benchmarks/requirements-peers.txt`), on:"
        ),
        "",
        f"- **CPUs (`nproc`):** {info['nproc']}",
        f"- **CPU model:** {info['cpu']}",
        f"- **Python:** {report.get('python', info['python'])}",
        f"- **OS:** {report.get('platform', info['os'])}",
        "",
        _load_line(report.get("load_average")),
        "",
        f"![qrelay / peer ratios]({png})",
        "",
        "| Case (qrelay path) | Peer | qrelay median (p90) | Peer median (p90) | Ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    missing = []
    for row in rows:
        unit = row.get("unit") or ""
        ours = _cell(row.get("ours"))
        if row.get("p90") is not None:
            ours += f" ({_cell(row['p90'])})"
        ref = _cell(row.get("reference"))
        if row.get("reference_p90") is not None:
            ref += f" ({_cell(row['reference_p90'])})"
        ratio = row.get("ratio")
        if row.get("ours") is not None:
            ours += f" {unit}"
        if row.get("reference") is not None:
            ref += f" {unit}"
        elif row.get("notes"):
            ref = _cell(row["notes"])
            missing.append(row)
        lines.append(
            f"| {_cell(row.get('group', row['case']))} | {_cell(row.get('peer', ''))} | "
            f"{ours} | {ref} | {'—' if ratio is None else f'{ratio:.3g}x'} |"
        )
    notes = sorted({f"{r.get('peer')}: {r.get('notes')}" for r in missing})
    if notes:
        lines += ["", "Peers without a figure in this run:", ""]
        lines += [f"- {_cell(n)}" for n in notes]
    lines.append(END)
    return "\n".join(lines)


def costs_markdown(report: dict[str, Any]) -> str:
    """The table of the ``costs`` module: each case, the figure before, target, measured."""
    info = machine()
    load = report.get("load_average") or {}
    lines = [
        COSTS_START,
        (
            f"Run of {report.get('started', '?')} with `python -m benchmarks"
            f"{' --quick' if report.get('quick') else ''}` (the `costs` module) on {info['nproc']} "
            f"CPUs ({info['cpu']}), Python {report.get('python', info['python'])}; load "
            f"average (1 min) {load.get('start', '?')} at the start, {load.get('end', '?')} "
            "at the end."
        ),
        "",
        "| Case | Before (as reported) | Target | Measured: qrelay | Reference | Ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for row in report.get("rows", []):
        if row.get("module") != "costs":
            continue
        unit = row.get("unit") or ""
        ours = "—" if row.get("ours") is None else f"{_cell(row['ours'])} {unit}"
        ref = "—" if row.get("reference") is None else f"{_cell(row['reference'])} {unit}"
        if row.get("peer"):
            ref += f" ({_cell(row['peer'])})"
        ratio = row.get("ratio")
        lines.append(
            f"| {_cell(row['case'])} | {_cell(row.get('today') or '—')} | "
            f"{_cell(row.get('target') or '')} | {ours} | {ref} | "
            f"{'—' if ratio is None else f'{ratio:.3g}x'} |"
        )
        if row.get("notes"):
            notes.append(f"- {_cell(row['case'])}: {_cell(row['notes'])}")
    if notes:
        lines += ["", *notes]
    lines.append(COSTS_END)
    return "\n".join(lines)


def write_doc(doc: Path, section: str, start: str = START, end: str = END) -> None:
    """Replace the part of ``doc`` between ``start`` and ``end`` (or append it under
    ``## Results``)."""
    text = doc.read_text(encoding="utf-8")
    if start in text and end in text:
        text = re.sub(
            re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S
        )
    elif "## Results" in text:
        text = text.replace("## Results\n", f"## Results\n\n{section}\n", 1)
    else:
        text += f"\n## Results\n\n{section}\n"
    doc.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plot", description=__doc__)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "performance.png")
    parser.add_argument("--doc", type=Path, default=None, help="page to write the results into")
    args = parser.parse_args(argv)
    report = json.loads(args.json.read_text(encoding="utf-8"))
    if peer_rows(report):
        bars = plot(report, args.png)
        print(f"{bars} bars -> {args.png}")
        if args.doc is not None:
            rel = os.path.relpath(args.png, args.doc.parent)
            write_doc(args.doc, markdown(report, rel))
            print(f"peers results -> {args.doc}")
    if args.doc is not None and any(r.get("module") == "costs" for r in report.get("rows", [])):
        write_doc(args.doc, costs_markdown(report), COSTS_START, COSTS_END)
        print(f"costs results -> {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
