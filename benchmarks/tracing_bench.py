"""What tracing costs: nothing when it is off, and how much when it is on.

Rows (``ratio`` = ours / reference, lower is better):

1. the tracing hooks of one job's path when tracing is off (a span, a continued trace, a
   traceparent) against an empty ``with contextlib.nullcontext()``, nanoseconds per
   call, in this process;
2. a Bell job (1,000 shots) on the embedded default, settled, tracing off against
   tracing on (every span of the client, service and worker written to a file), each
   side in processes of its own (:mod:`benchmarks.apart`), alternating. The row also
   says how many modules of the OpenTelemetry SDK, exporters and instrumentations the
   side with tracing off loaded (none; FastAPI itself imports opentelemetry-api).

Run directly::

    python -m benchmarks.tracing_bench [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from benchmarks import apart
from benchmarks.apart import Side


def hooks_off_ns(calls: int) -> dict[str, float]:
    """Nanoseconds per call of the off hooks, and of an empty context, in this process."""
    from qrelay.runtime import tracing

    assert not tracing.active()

    def hooks() -> None:
        with tracing.continued(None), tracing.span("qrelay.bench", job_id="x"):
            tracing.traceparent()

    def empty() -> None:
        with contextlib.nullcontext(), contextlib.nullcontext():
            pass

    out = {}
    for name, work in (("hooks", hooks), ("empty", empty)):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter_ns()
            for _ in range(calls):
                work()
            best = min(best, (time.perf_counter_ns() - start) / calls)
        out[name] = best
    return out


def bell_traced(first: int, settled: int, traced: bool) -> dict[str, Any]:
    """:func:`benchmarks.sides.bell_qrelay` with tracing off, or on into a file."""
    spans = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False)  # noqa: SIM115
    spans.close()
    if traced:
        os.environ["QRELAY_OTEL"] = "1"
        os.environ["QRELAY_OTEL_FILE"] = spans.name
    from benchmarks.sides import bell_qrelay

    out: dict[str, Any] = dict(bell_qrelay(first, settled))
    # FastAPI (the embedded service) imports opentelemetry-api itself, whatever we do;
    # the SDK, the exporters and the instrumentations only tracing's setup imports.
    ours = [m for m in sys.modules if m.startswith(_TRACING_ONLY)]
    out["otel_sdk_modules"] = [len(ours)]
    with open(spans.name, encoding="utf-8") as f:
        out["spans"] = [sum(1 for _ in f)]
    os.unlink(spans.name)
    return out


#: OpenTelemetry packages that only :func:`qrelay.runtime.tracing.setup` imports.
_TRACING_ONLY = (
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
)


def run(quick: bool) -> list[dict[str, Any]]:
    calls = 20_000 if quick else 200_000
    ns = hooks_off_ns(calls)
    rows = [
        {
            "case": "tracing off: the hooks of one job's path vs an empty context",
            "ours": round(ns["hooks"], 1),
            "reference": round(ns["empty"], 1),
            "unit": "ns",
            "ratio": round(ns["hooks"] / ns["empty"], 3),
            "target": "free (no import, no-op contexts)",
            "notes": f"best of 5 x {calls} calls",
        }
    ]
    first, settled, rounds = (2, 10, 1) if quick else (3, 30, 3)
    sides = {
        name: Side(
            "benchmarks.tracing_bench:bell_traced",
            {"first": first, "settled": settled, "traced": name == "on"},
        )
        for name in ("off", "on")
    }
    results = apart.alternate(sides, rounds)
    off = statistics.median(apart.merged(results["off"], "settled_ms"))
    on = statistics.median(apart.merged(results["on"], "settled_ms"))
    beyond = max(apart.merged(results["off"], "otel_sdk_modules"))
    spans = statistics.median(apart.merged(results["on"], "spans"))
    rows.append(
        {
            "case": "Bell 1000 shots, embedded, apart, settled: tracing off vs on",
            "ours": round(off, 4),
            "reference": round(on, 4),
            "unit": "ms",
            "ratio": round(off / on, 3),
            "target": "off: within 5% of the figures without tracing",
            "notes": f"{rounds} process(es) a side; off loaded {beyond:.0f} OpenTelemetry "
            f"SDK/exporter/instrumentation module(s); on wrote {spans:.0f} spans a process",
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        print(row)


if __name__ == "__main__":
    main()
