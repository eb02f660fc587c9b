"""Adapter benchmarks: Qiskit and Cirq round trips through the payload and its JSON wire.

The test circuit is ``qiskit.circuit.random.random_circuit(20, 100, measure=True)`` (about
800 instructions). Each row is measured against a reference timed in this same run
(ratio = ours / reference; lower is better):

- Qiskit -> payload -> JSON -> payload -> Qiskit against a QPY dump + load: target <= 2x;
- the same round trip against ``qiskit.qasm3.dumps`` + ``qiskit.qasm3.loads``: target
  ratio <= 0.02 (at least 50x faster);
- Cirq -> payload -> JSON -> payload -> Cirq, on the same circuit as Cirq builds it,
  against ``cirq.to_json`` + ``cirq.read_json``: target ratio <= 0.2 (at least 5x faster).

The Qiskit side converts with ``from_qiskit(qc, validate=False)``: the payload is valid by
construction and is validated once, where it is parsed from JSON, as the service and the
workers parse it (``qrelay.payload.validate_json``).

Run it directly to print the rows::

    python benchmarks/convert_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

SEED = 7
QUBITS = 20
DEPTH = 100


def _interleaved_ms(
    ours: Callable[[], Any], reference: Callable[[], Any], repeat: int
) -> tuple[float, float]:
    """Median milliseconds of ``ours`` and ``reference``, timed alternately.

    Alternating keeps both under the same machine load, so the ratio stays fair when other
    work shares the cores. The collector is off while they run, as ``timeit`` has it, so
    neither pays for the garbage of the other (a collection of the heap the OpenQASM 3
    importer leaves behind landed in our few timed calls and tripled them).
    """
    ours()  # warm caches (gate tables, pydantic schema build)
    reference()
    mine: list[float] = []
    theirs: list[float] = []
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            ours()
            mine.append(time.perf_counter() - start)
            start = time.perf_counter()
            reference()
            theirs.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return 1e3 * statistics.median(mine), 1e3 * statistics.median(theirs)


def _row(case: str, ours: float, reference: float, target: str, notes: str) -> dict[str, Any]:
    return {
        "case": case,
        "ours": round(ours, 3),
        "reference": round(reference, 3),
        "unit": "ms",
        "ratio": round(ours / reference, 4) if reference else float("nan"),
        "target": target,
        "notes": notes,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """The three adapter rows (see the module docstring)."""
    import cirq
    from qiskit import qasm3, qpy
    from qiskit.circuit.random import random_circuit

    from qrelay.payload import Circuit, validate_json
    from qrelay_cirq.convert import from_cirq, to_cirq
    from qrelay_qiskit.convert import from_qiskit, to_qiskit

    repeat = 7 if quick else 31
    qc = random_circuit(QUBITS, DEPTH, measure=True, seed=SEED)
    size = len(qc.data)

    def ours_qiskit() -> None:
        wire = from_qiskit(qc, validate=False).model_dump_json()
        to_qiskit(validate_json(Circuit, wire))

    def qpy_round_trip() -> None:
        buffer = io.BytesIO()
        qpy.dump(qc, buffer)
        buffer.seek(0)
        qpy.load(buffer)

    def qasm3_round_trip() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qasm3.loads(qasm3.dumps(qc))

    cq = to_cirq(from_qiskit(qc))
    cirq_size = len(list(cq.all_operations()))

    def ours_cirq() -> None:
        wire = from_cirq(cq, validate=False).model_dump_json()
        to_cirq(validate_json(Circuit, wire))

    def cirq_json() -> None:
        cirq.read_json(json_text=cirq.to_json(cq))

    gc.collect()
    ours_q, ref_qpy = _interleaved_ms(ours_qiskit, qpy_round_trip, repeat)
    ours_q3, ref_qasm3 = _interleaved_ms(ours_qiskit, qasm3_round_trip, 1 if quick else 3)
    ours_c, ref_cirq = _interleaved_ms(ours_cirq, cirq_json, 3 if quick else 7)
    return [
        _row(
            "qiskit -> payload -> JSON -> qiskit vs QPY dump+load",
            ours_q,
            ref_qpy,
            "<= 2x",
            f"random_circuit({QUBITS}, {DEPTH}, measure=True): {size} instructions",
        ),
        _row(
            "qiskit -> payload -> JSON -> qiskit vs qasm3 dumps+loads",
            ours_q3,
            ref_qasm3,
            "<= 0.02 (>= 50x faster)",
            "OpenQASM 3 import uses the reference ANTLR parser",
        ),
        _row(
            "cirq -> payload -> JSON -> cirq vs cirq.to_json+read_json",
            ours_c,
            ref_cirq,
            "<= 0.2 (>= 5x faster)",
            f"the same circuit built in Cirq: {cirq_size} operations",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    for row in run(args.quick):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
