"""Runtime benchmarks: readout decoding against the numpy floor, and job round trips.

``run(quick)`` returns rows ``{"case", "ours", "reference", "unit", "ratio"}`` measured in
one run (ratio = ours / reference; lower is better). Run it directly to print them::

    python benchmarks/runtime_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SHOTS = 1_000_000
WIDTH = 20


def _best_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _row(case: str, ours: float, reference: float, unit: str = "ms") -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 3),
        "reference": round(reference, 3),
        "unit": unit,
        "ratio": round(ours / reference, 3) if reference else float("nan"),
    }


def _floor(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The numpy floor: pack the bits, make one integer per shot, bincount."""
    packed = np.packbits(bits, axis=1, bitorder="little")
    values = packed[:, 0].astype(np.int64)
    for byte in range(1, packed.shape[1]):
        values |= packed[:, byte].astype(np.int64) << (8 * byte)
    hist = np.bincount(values)
    nonzero = np.flatnonzero(hist)
    return nonzero, hist[nonzero]


def decode_cases(quick: bool) -> list[dict[str, Any]]:
    """1e6 shots x 20 bits: the runtime's decoding from packed wire bytes vs the floor."""
    from qrelay.payload import Readout
    from qrelay.runtime import decode

    repeat = 3 if quick else 7
    rng = np.random.default_rng(7)
    uniform = (rng.random((SHOTS, WIDTH)) < 0.5).astype(np.uint8)
    # A 20-qubit GHZ state with 1% bit flips: few distinct outcomes, as real runs have.
    ghz = np.repeat((rng.random((SHOTS, 1)) < 0.5).astype(np.uint8), WIDTH, axis=1)
    ghz ^= (rng.random((SHOTS, WIDTH)) < 0.01).astype(np.uint8)
    rows = []
    for label, bits in (("uniform", uniform), ("ghz", ghz)):
        readout = Readout.from_arrays({"c": bits})
        wire = readout.model_dump_json().encode()
        reference = _best_ms(lambda b=bits: _floor(b), repeat)
        expected = dict(zip(*(a.tolist() for a in _floor(bits)), strict=True))
        assert decode.int_counts(readout) == expected
        rows.append(
            _row(
                f"decode_value_counts_1e6x20_{label}",
                _best_ms(lambda r=readout: r.value_counts(), repeat),
                reference,
            )
        )
        distinct = len(expected)
        rows.append(
            _row(
                f"decode_counts_dict_1e6x20_{label} ({distinct} keys)",
                _best_ms(lambda r=readout: decode.counts(r), repeat),
                reference,
            )
        )
        rows.append(
            _row(
                f"decode_json_to_counts_1e6x20_{label}",
                _best_ms(lambda w=wire: decode.counts(Readout.model_validate_json(w)), repeat),
                reference,
            )
        )
    return rows


def _bell() -> Any:
    from qrelay.payload import Circuit, Register

    return Circuit(
        num_qubits=2,
        registers=[Register(name="c", size=2)],
        instructions=[
            {"op": "h", "qubits": [0]},
            {"op": "cx", "qubits": [0, 1]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
        name="bell",
    )


def bell_works() -> dict[str, Callable[[], Callable[[], Any]]]:
    """The two paths of the Bell row by label (:func:`benchmarks.apart.time_setup`)."""

    def embedded() -> Callable[[], Any]:
        from qrelay.payload import NewJob
        from qrelay.runtime import Client

        client = Client()
        job = NewJob(target="aer_simulator", circuits=[_bell()], shots=1000)
        return lambda: client.submit(job).result(timeout=60)

    def engine() -> Callable[[], Any]:
        from qrelay import registry

        aer = registry.load(registry.ENGINES, "aer")()
        circuit = _bell()
        return lambda: aer.run(circuit, shots=1000)

    return {"embedded": embedded, "engine": engine}


def bell_cases(quick: bool) -> list[dict[str, Any]]:
    """Bell, 1,000 shots, submit + result on the embedded default vs the engine directly,
    each in processes of its own (:mod:`benchmarks.apart`)."""
    from benchmarks import apart

    got = apart.compare(
        "benchmarks.runtime_bench:bell_works",
        ["embedded"],
        ["engine"],
        repeat=5 if quick else 30,
        rounds=1 if quick else 2,
        warm=3,
    )
    if got.reasons:  # the aer engine plugin is not installed: no reference
        return []
    return [
        _row(
            "bell_1000_submit_result_embedded",
            statistics.median(got.times_ms["embedded"]),
            statistics.median(got.times_ms["engine"]),
        )
    ]


_START_SCRIPT = """
import time
t0 = time.perf_counter()
from qrelay.payload import Circuit, NewJob, Register
from qrelay.runtime import Client
circuit = Circuit(num_qubits=1, registers=[Register(name="c", size=1)],
                  instructions=[{"op": "measure", "qubits": [0], "clbits": [0]}])
with Client() as client:
    client.submit(NewJob(target="aer_simulator", circuits=[circuit], shots=1))
    print(1e3 * (time.perf_counter() - t0))
"""


def start_cases(quick: bool) -> list[dict[str, Any]]:
    """A fresh process with a fresh QRELAY_HOME: from the first import to a submitted job.

    The reference is the 1 s budget the embedded default promises (ratio <= 1 is in
    budget); each run is a new interpreter, so imports are counted.
    """
    import os
    import subprocess
    import sys
    import tempfile

    times = []
    for _ in range(2 if quick else 5):
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
            env["QRELAY_HOME"] = home
            env["QRELAY_CONFIG"] = os.devnull  # no config file: no profiles
            done = subprocess.run(
                [sys.executable, "-W", "ignore", "-c", _START_SCRIPT],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return [
        _row(
            "embedded_first_submit_fresh_process (ref = 1 s budget)",
            statistics.median(times),
            1000.0,
        )
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """All runtime benchmark rows, measured in this one run."""
    rows = decode_cases(quick)
    with contextlib.suppress(ImportError):
        rows += start_cases(quick)
        rows += bell_cases(quick)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["decode", "start", "bell"])
    options = parser.parse_args()
    if options.only == "decode":
        result = decode_cases(options.quick)
    elif options.only == "start":
        result = start_cases(options.quick)
    elif options.only == "bell":
        result = bell_cases(options.quick)
    else:
        result = run(options.quick)
    for entry in result:
        print(json.dumps(entry))
