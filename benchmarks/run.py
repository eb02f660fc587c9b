"""The benchmark runner: every ``benchmarks/*_bench.py`` in one process, one table.

::

    python -m benchmarks [--quick] [--json FILE] [--only NAME ...]
    python benchmarks/run.py ...          (the same)

A case module ``<name>_bench.py`` exposes ``run(quick: bool) -> list[dict]``; each row has
``case``, ``ours``, ``reference``, ``unit`` and ``ratio`` (ours / reference, lower is
better), and may add ``peer`` (another tool's figure), ``p90``, ``target`` (for example
``"<= 2x"``) and ``notes``. Ours and the reference are measured in the same run on the
same machine, so the ratio is what to read, not the absolute numbers.

A module that cannot be imported (an extra is not installed) or that raises gives one row
saying so; the runner goes on with the others, prints the table and saves every row as
JSON (``--json FILE``, by default ``benchmarks/results/latest.json``, which git ignores).
The exit status is 1 when a module failed (not when one was missing).

Before each module the runner collects garbage and freezes what survives (``gc.freeze``),
so the objects of frameworks imported by earlier modules do not slow later ones down.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import logging
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("benchmarks")

HERE = Path(__file__).resolve().parent
REQUIRED = ("case", "ours", "reference", "unit", "ratio")


def discover() -> dict[str, str]:
    """Short name (``payload``) to module name (``benchmarks.payload_bench``), sorted."""
    return {
        path.stem.removesuffix("_bench"): f"{HERE.name}.{path.stem}"
        for path in sorted(HERE.glob("*_bench.py"))
    }


def _status_row(name: str, status: str, detail: str) -> dict[str, Any]:
    return {
        "module": name,
        "case": f"{name}: {status}",
        "ours": None,
        "reference": None,
        "unit": "",
        "ratio": None,
        "status": status,
        "notes": detail,
    }


def run_module(name: str, module_name: str, quick: bool) -> list[dict[str, Any]]:
    """The rows of one case module, or one row that says why there are none."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        log.warning("%s: not installed (%s)", name, exc)
        return [_status_row(name, "not installed", str(exc))]
    except Exception as exc:
        log.error("%s: import failed\n%s", name, traceback.format_exc())
        return [_status_row(name, "failed", f"import: {type(exc).__name__}: {exc}")]
    try:
        rows = module.run(quick)
    except ImportError as exc:  # an optional dependency imported lazily inside run()
        log.warning("%s: not installed (%s)", name, exc)
        return [_status_row(name, "not installed", str(exc))]
    except Exception as exc:
        log.error("%s: failed\n%s", name, traceback.format_exc())
        return [_status_row(name, "failed", f"{type(exc).__name__}: {exc}")]
    checked = []
    for row in rows:
        missing = [key for key in REQUIRED if key not in row]
        if missing:
            checked.append(_status_row(name, "failed", f"row {row!r} lacks {missing}"))
            continue
        checked.append({"module": name, "status": "ok", **row})
    if not checked:
        checked.append(_status_row(name, "no rows", "run() returned no rows"))
    return checked


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        magnitude = abs(value)
        if magnitude >= 1e6:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        if magnitude >= 1:
            return f"{value:.3g}" if magnitude < 10 else f"{value:.2f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a plain-text table: case | ours | reference | ratio | target."""
    header = ("case", "ours", "reference", "ratio", "target")
    lines = []
    for row in rows:
        unit = row.get("unit") or ""
        ours = _fmt(row.get("ours"))
        reference = _fmt(row.get("reference"))
        if row.get("ours") is not None and unit:
            ours = f"{ours} {unit}"
        if row.get("reference") is not None and unit:
            reference = f"{reference} {unit}"
        ratio = row.get("ratio")
        lines.append(
            (
                str(row["case"]),
                ours,
                reference,
                "-" if ratio is None else f"{_fmt(float(ratio))}x",
                str(row.get("target") or ""),
            )
        )
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(5)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out.extend(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)
    notes = [f"  {row['case']}: {row['notes']}" for row in rows if row.get("notes")]
    if notes:
        out.extend(["", "notes:", *notes])
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen case modules, print the table, save the rows as JSON if asked."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        default=HERE / "results" / "latest.json",
        help="save every row to FILE (default: benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these modules (e.g. payload qpu)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    modules = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(modules))
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; known: {sorted(modules)}")
        modules = {name: mod for name, mod in modules.items() if name in args.only}

    started = datetime.now(UTC)
    load_at_start = _load_average()
    rows: list[dict[str, Any]] = []
    for name, module_name in modules.items():
        log.info("running %s%s", name, " (quick)" if args.quick else "")
        begin = time.perf_counter()
        # What earlier modules left (qiskit, cirq, ...) moves out of the collector's way,
        # as a long-lived service process does after its imports (gc.freeze).
        gc.collect()
        gc.freeze()
        rows.extend(run_module(name, module_name, args.quick))
        log.info("%s done in %.1f s", name, time.perf_counter() - begin)

    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "started": started.isoformat(),
            "quick": args.quick,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "machine": platform.machine(),
            "load_average": {"start": load_at_start, "end": _load_average()},
            "rows": rows,
        }
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nsaved {len(rows)} rows to {args.json}")
    return 1 if any(row["status"] == "failed" for row in rows) else 0


def _load_average() -> float | None:
    """The machine's load average over the last minute (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


if __name__ == "__main__":
    # ``python benchmarks/run.py``: make ``benchmarks`` importable as a package.
    sys.path.insert(0, str(HERE.parent))
    raise SystemExit(main())
