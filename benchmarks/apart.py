"""Timed apart: each side of a comparison in a process of its own, the sides alternating.

Timed in one process, qrelay's threads (the embedded service, its workers, the QPU fleet)
and a simulator's OpenMP threads compete for the same cores, and the ratio then depends
on how busy the machine is. So every row that compares qrelay with a simulator runs each
side here:

- :func:`run` calls a *side*, a function named ``module:function``, in a fresh
  ``python -m benchmarks.apart`` process with keyword arguments given as JSON, and returns
  what the function returned (any JSON value; by convention a dict of lists of
  milliseconds, e.g. ``{"times_ms": [...]}``), read from the process's standard output;
- :func:`alternate` runs several sides in turn, round after round (A B C A B C ...), each
  run a fresh process, so a slow spell of the machine falls on every side alike;
- :func:`best` picks, among the configurations of the reference (``AerSimulator()`` and
  ``AerSimulator(max_parallel_threads=1)``), the one with the lower median;
- :func:`compare` does all of that for a case with many paths named by label (ours and
  the references), each path a setup that :func:`time_setup` builds and times in its
  process;
- :func:`whole_process` times whole commands from start to exit (wall clock), after a
  warm-up, alternating, and keeps what each run printed.

Each process gets a fresh ``QRELAY_HOME`` unless the caller gives one, and no other
``QRELAY_*`` variable of the caller's environment.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The line prefix that carries a side's result on standard output (libraries may print).
MARK = "APART-RESULT "
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a function ``module:function`` and its keyword arguments."""

    function: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _env(home: str | None, path: Sequence[str] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["PYTHONPATH"] = os.pathsep.join([*path, str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if home is not None:
        env["QRELAY_HOME"] = home
        env["QRELAY_CONFIG"] = os.devnull  # no config file: no profiles
    return env


def run(
    side: Side, *, home: str | None = None, path: Sequence[str] = (), timeout: float = 600.0
) -> Any:
    """Run ``side`` in a fresh process and return its JSON result.

    ``home`` is the process's ``QRELAY_HOME`` (a fresh temporary directory by default);
    ``path`` adds directories to import the side's module from. Raises ``RuntimeError``
    with the tail of the process's error output if it fails.
    """
    with (
        tempfile.TemporaryDirectory(prefix="qrelay-apart-") as fresh,
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
    ):
        # Output to files, not pipes: a child the side leaves behind does not hold us up.
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.apart", side.function, json.dumps(side.kwargs)],
            env=_env(home or fresh, path),
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        stdout.seek(0)
        stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    for line in reversed(printed.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise RuntimeError(f"{side.function} exited {returncode} without a result: {errors[-1500:]}")


def alternate(sides: Mapping[str, Side], rounds: int, **options: Any) -> dict[str, list[Any]]:
    """Each side ``rounds`` times, in turn (A B A B ...), each run a process of its own."""
    results: dict[str, list[Any]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            results[name].append(run(side, **options))
    return results


def time_setup(
    works: str,
    label: str,
    repeat: int,
    warm: int = 1,
    aer_threads: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A side for comparisons with many paths: time the path ``label`` of ``works``.

    ``works`` names a function ``module:function`` that takes ``options`` and returns
    ``{label: setup}``; a setup does the one-off work (a provider, a transpiled circuit)
    and returns the callable to time. After ``warm`` untimed calls (and, once something
    was warmed, a quiet spell of this process), ``repeat`` timed calls give
    ``{"times_ms": [...]}``; a path whose package is missing or that fails gives
    ``{"error": "not installed (...)"}`` or ``{"error": "failed: ..."}`` instead.
    ``aer_threads`` sets the Aer peers' threads in this process (``None``: Aer's default).
    """
    from benchmarks.peers import local
    from benchmarks.sides import settle

    local.configure_aer(aer_threads)
    module_name, _, function_name = works.partition(":")
    setups = getattr(importlib.import_module(module_name), function_name)(**options)
    try:
        work = setups[label]()
        for _ in range(warm):
            work()
    except ImportError as exc:
        return {"error": f"not installed ({type(exc).__name__}: {exc})"}
    except Exception as exc:  # a path that breaks gives a row saying so, not a crash
        return {"error": f"failed: {type(exc).__name__}: {exc}"[:300]}
    if warm:
        settle()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(1e3 * (time.perf_counter() - start))
    return {"times_ms": times}


#: The reference setups of an Aer path; each runs in processes of its own, the faster counts.
AER_SETUPS: dict[str, int | None] = {
    "AerSimulator()": None,
    "AerSimulator(max_parallel_threads=1)": 1,
}


@dataclass
class Comparison:
    """What :func:`compare` measured: milliseconds by path, why a path has none, and
    which reference setup was the faster for an Aer path."""

    times_ms: dict[str, list[float]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    setups: dict[str, str] = field(default_factory=dict)


def compare(
    works: str,
    ours: Sequence[str],
    references: Sequence[str],
    *,
    repeat: int,
    rounds: int = 2,
    warm: int = 1,
    path: Sequence[str] = (),
    **options: Any,
) -> Comparison:
    """Time every path of ``works`` (see :func:`time_setup`), each in processes of its own,
    alternating, ``rounds`` times. A reference path whose label starts with ``Aer`` runs
    in each of :data:`AER_SETUPS`; the setup with the lower median is kept."""
    sides: dict[str, Side] = {}
    keys: dict[str, dict[str, str]] = {}
    for label in [*ours, *references]:
        setups = AER_SETUPS if label.startswith("Aer") and label not in ours else {"": None}
        keys[label] = {}
        for setup, threads in setups.items():
            key = f"{label}\0{setup}"
            keys[label][key] = setup
            sides[key] = Side(
                "benchmarks.apart:time_setup",
                {
                    "works": works,
                    "label": label,
                    "repeat": repeat,
                    "warm": warm,
                    "aer_threads": threads,
                    **options,
                },
            )
    results = alternate(sides, rounds, path=path)
    out = Comparison()
    for label, setups_of in keys.items():
        runs = {key: results[key] for key in setups_of}
        errors = [r["error"] for per in runs.values() for r in per if "error" in r]
        if errors:
            out.reasons[label] = errors[0]
            continue
        fastest, _ = best({key: merged(per, "times_ms") for key, per in runs.items()})
        out.times_ms[label] = merged(runs[fastest], "times_ms")
        out.setups[label] = setups_of[fastest]
    return out


def merged(results: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """The values under ``key`` of every run of one side, in one list."""
    return [float(value) for result in results for value in result[key]]


def best(candidates: Mapping[str, Sequence[float]]) -> tuple[str, float]:
    """(name, median) of the candidate with the lowest median: the reference's best setup."""
    medians = {name: statistics.median(values) for name, values in candidates.items() if values}
    name = min(medians, key=medians.__getitem__)
    return name, medians[name]


@dataclass
class ProcessRuns:
    """Whole-process runs of one command: wall seconds from start to exit, and outputs."""

    wall_s: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)  # time.time() at each exit
    stdout: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall_s)


def whole_process(
    commands: Mapping[str, Sequence[str]],
    runs: int,
    *,
    warmup: int = 1,
    homes: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> dict[str, ProcessRuns]:
    """Time each command from start to exit, ``warmup`` untimed runs first, then ``runs``
    alternating rounds (hyperfine-style; quote the median).

    ``homes`` gives a command a ``QRELAY_HOME`` kept across its runs (as a user's home is);
    otherwise each run gets a fresh one.
    """
    out = {name: ProcessRuns() for name in commands}
    for index in range(warmup + runs):
        for name, argv in commands.items():
            with (
                tempfile.TemporaryDirectory(prefix="qrelay-apart-") as fresh,
                tempfile.TemporaryFile("w+") as stdout,
                tempfile.TemporaryFile("w+") as stderr,
            ):
                home = (homes or {}).get(name, fresh)
                start = time.perf_counter()
                # Output to files, not pipes: a child the command leaves behind holds
                # them open, and the exit timed is the command's own.
                proc = subprocess.Popen(
                    list(argv), env=_env(home), cwd=ROOT, stdout=stdout, stderr=stderr
                )
                returncode = proc.wait(timeout=timeout)
                wall = time.perf_counter() - start
                ended = time.time()
                stdout.seek(0)
                stderr.seek(0)
                printed, errors = stdout.read(), stderr.read()
            if returncode != 0:
                raise RuntimeError(f"{name} exited {returncode}: {errors[-1500:]}")
            if index >= warmup:
                out[name].wall_s.append(wall)
                out[name].ended.append(ended)
                out[name].stdout.append(printed)
    return out


def _main(argv: Sequence[str]) -> int:
    """``python -m benchmarks.apart module:function '{"kwarg": ...}'``: one side, one run."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    module_name, _, function_name = argv[0].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    kwargs = json.loads(argv[1]) if len(argv) > 1 else {}
    result = function(**kwargs)
    sys.stdout.write(MARK + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
