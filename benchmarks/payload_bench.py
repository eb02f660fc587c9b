"""Payload benchmarks: circuit validation and dump, readout packing and counting, wire size.

Each row compares our figure with a reference measured in this same run:

- **validate + dump of a 2,000-instruction circuit** (``validate_json(Circuit, text)``, as
  the service reads it, then ``model_dump_json``) against plain ``json.loads`` +
  ``json.dumps`` of the same data, with each direction also per instruction. Design
  budget: at most 3 us per instruction each way.
- **readout encode + decode + counts** for 1,000,000 shots x 20 bits (``Readout.from_arrays``
  -> binary frame -> ``decode_readouts`` -> ``value_counts``) against the numpy floor
  (``packbits`` -> bytes -> ``bincount``). Target: at most 2x. The same through the JSON
  (base64) wire, and ``counts()`` (the bitstring dict) on top, are reported beside it.
- **wire size** of that readout, JSON (base64) and the binary frame, against the
  row-packed bits (3 bytes a shot). Target: at most 1.05x. And against a JSON list of
  bitstrings, the form the payload refuses to use for large results.

The shots are a noisy 20-qubit GHZ state (each shot all-0 or all-1, each bit flipped with
probability 2%), so counts have a few thousand distinct keys, as real results do. A
uniformly random register (worst case for counting) is reported too.

Run it alone with ``python benchmarks/payload_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

SHOTS = 1_000_000
WIDTH = 20
INSTRUCTIONS = 2_000
QUBITS = 20


def _interleaved(fns: list[Callable[[], Any]], repeat: int) -> list[list[float]]:
    """Time several functions in turn, round after round, so they share the machine's load.

    On a busy 2-core machine a burst of other work lands on all of them alike, which keeps
    the ratios honest even when the absolute figures move.
    """
    for fn in fns:
        fn()  # warm up
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for times, fn in zip(out, fns, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return out


def _p90(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _row(
    case: str,
    ours: float,
    reference: float,
    unit: str,
    *,
    target: str = "",
    p90: float | None = None,
    notes: str = "",
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case": case,
        "ours": round(ours, 4),
        "reference": round(reference, 4),
        "unit": unit,
        "ratio": round(ours / reference, 3) if reference else float("nan"),
    }
    if target:
        row["target"] = target
    if p90 is not None:
        row["p90"] = round(p90, 4)
    if notes:
        row["notes"] = notes
    return row


# ---------------------------------------------------------------------------- circuit
def circuit_data(n: int = INSTRUCTIONS, qubits: int = QUBITS) -> dict[str, Any]:
    """A layered circuit of ``n`` instructions: 1q gates, CX, RZ(number), RX(symbol), measures."""
    body: list[dict[str, Any]] = []
    i = 0
    while len(body) < n - qubits:
        q = i % qubits
        kind = i % 5
        if kind == 0:
            body.append({"op": "h", "qubits": [q]})
        elif kind == 1:
            body.append({"op": "cx", "qubits": [q, (q + 1) % qubits]})
        elif kind == 2:
            body.append({"op": "rz", "qubits": [q], "params": [0.001 * i]})
        elif kind == 3:
            body.append({"op": "rx", "qubits": [q], "params": [f"t{i % 8}"]})
        else:
            body.append({"op": "sx", "qubits": [q]})
        i += 1
    body.extend({"op": "measure", "qubits": [q], "clbits": [q]} for q in range(qubits))
    return {
        "num_qubits": qubits,
        "registers": [{"name": "c", "size": qubits}],
        "parameters": [f"t{k}" for k in range(8)],
        "instructions": body,
    }


def circuit_cases(quick: bool) -> list[dict[str, Any]]:
    from qrelay.payload import Circuit, validate_json

    repeat = 15 if quick else 100
    data = circuit_data()
    text = json.dumps(data)
    n = len(data["instructions"])
    circuit = validate_json(Circuit, text)
    assert circuit.model_dump(exclude_defaults=True) == data  # same data both sides

    validate, loads, dump, dumps, both, plain = _interleaved(
        [
            partial(validate_json, Circuit, text),
            partial(json.loads, text),
            circuit.model_dump_json,
            partial(json.dumps, data),
            lambda: validate_json(Circuit, text).model_dump_json(),
            lambda: json.dumps(json.loads(text)),
        ],
        repeat,
    )

    us = 1e6 / n
    med = statistics.median
    return [
        _row(
            f"payload: validate+dump {n}-instruction circuit",
            1e3 * med(both),
            1e3 * med(plain),
            "ms",
            p90=1e3 * _p90(both),
            notes="reference: json.loads + json.dumps of the same data",
        ),
        _row(
            "payload: validate, per instruction",
            us * med(validate),
            us * med(loads),
            "us",
            target="<= 3 us",
            p90=us * _p90(validate),
        ),
        _row(
            "payload: dump, per instruction",
            us * med(dump),
            us * med(dumps),
            "us",
            target="<= 3 us",
            p90=us * _p90(dump),
        ),
    ]


# ---------------------------------------------------------------------------- readout
def ghz_shots(shots: int, width: int, seed: int = 7) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Noisy GHZ shots: all-0 or all-1 per shot, each bit flipped with probability 2%."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2, size=(shots, 1), dtype=np.uint8)
    flips = (rng.random((shots, width)) < 0.02).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(base, (shots, width)) ^ flips)


def numpy_floor(bits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The least work that still packs, ships and counts: packbits, bytes, bincount."""
    wire = np.packbits(bits, axis=1, bitorder="little").tobytes()
    rows = np.frombuffer(wire, dtype=np.uint8).reshape(-1, (bits.shape[1] + 7) // 8)
    values = np.zeros(rows.shape[0], dtype=np.intp)
    for k in range(rows.shape[1]):
        values |= rows[:, k].astype(np.intp) << (8 * k)
    hist = np.bincount(values)
    return np.flatnonzero(hist)


def readout_cases(quick: bool) -> list[dict[str, Any]]:
    from qrelay.payload import Readout, decode_readouts, encode_readouts

    shots = 200_000 if quick else SHOTS
    repeat = 3 if quick else 9
    bits = ghz_shots(shots, WIDTH)
    label = f"{shots:,} shots x {WIDTH} bits"

    def frame_path() -> Any:
        readout = Readout.from_arrays({"c": bits})
        return decode_readouts(encode_readouts([readout]))[0].value_counts()

    def json_path() -> Any:
        readout = Readout.from_arrays({"c": bits})
        return Readout.model_validate_json(readout.model_dump_json()).value_counts()

    def counts_path() -> Any:
        readout = Readout.from_arrays({"c": bits})
        return decode_readouts(encode_readouts([readout]))[0].counts()

    # Same answer both ways, or the comparison means nothing.
    values, counts = frame_path()
    floor_values = numpy_floor(bits)
    assert values.tolist() == floor_values.tolist()
    assert int(counts.sum()) == shots

    floor, frame, via_json, as_dict = _interleaved(
        [partial(numpy_floor, bits), frame_path, json_path, counts_path], repeat
    )

    uniform = np.random.default_rng(3).integers(0, 2, size=(shots, WIDTH), dtype=np.uint8)

    def uniform_path() -> Any:
        readout = Readout.from_arrays({"c": uniform})
        return decode_readouts(encode_readouts([readout]))[0].value_counts()

    uniform_floor, uniform_ours = _interleaved(
        [partial(numpy_floor, uniform), uniform_path], repeat
    )

    med = statistics.median
    ms = 1e3
    return [
        _row(
            f"readout: encode+decode+counts, {label} (binary frame)",
            ms * med(frame),
            ms * med(floor),
            "ms",
            target="<= 2x",
            p90=ms * _p90(frame),
            notes="from_arrays -> encode_readouts -> decode_readouts -> value_counts; "
            "reference: numpy packbits -> bytes -> bincount",
        ),
        _row(
            f"readout: encode+decode+counts, {label} (JSON base64)",
            ms * med(via_json),
            ms * med(floor),
            "ms",
            target="<= 2x",
            p90=ms * _p90(via_json),
        ),
        _row(
            f"readout: same with counts() bitstring dict, {label}",
            ms * med(as_dict),
            ms * med(floor),
            "ms",
            p90=ms * _p90(as_dict),
            notes=f"{len(values):,} distinct keys; strings are built once per distinct value",
        ),
        _row(
            f"readout: uniform random bits, {label} (binary frame)",
            ms * med(uniform_ours),
            ms * med(uniform_floor),
            "ms",
            target="<= 2x",
            p90=ms * _p90(uniform_ours),
        ),
        *wire_cases(bits, label),
    ]


def wire_cases(bits: np.ndarray[Any, Any], label: str) -> list[dict[str, Any]]:
    from qrelay.payload import Readout, encode_readouts

    readout = Readout.from_arrays({"c": bits})
    packed = len(np.packbits(bits, axis=1, bitorder="little").tobytes())
    json_size = len(readout.model_dump_json())
    frame_size = len(encode_readouts([readout]))
    strings = json.dumps(["".join(map(str, row[::-1])) for row in bits[:10_000].tolist()])
    bitstrings = len(strings) * bits.shape[0] / min(10_000, bits.shape[0])
    kb = 1e-3
    return [
        _row(
            f"wire: readout JSON (base64), {label}",
            kb * json_size,
            kb * packed,
            "kB",
            target="<= 1.05x",
            notes="base64 adds 4/3; use the binary frame (encode_readouts) for large results",
        ),
        _row(
            f"wire: readout binary frame, {label}",
            kb * frame_size,
            kb * packed,
            "kB",
            target="<= 1.05x",
        ),
        _row(
            f"wire: binary frame vs JSON list of bitstrings, {label}",
            kb * frame_size,
            kb * bitstrings,
            "kB",
            notes="reference size extrapolated from the first 10,000 shots",
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """Every payload row, measured side by side in this run."""
    return [*circuit_cases(quick), *readout_cases(quick)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for result in run(parser.parse_args().quick):
        sys.stdout.write(json.dumps(result) + "\n")
