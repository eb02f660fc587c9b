"""Qiskit quickstart: a Bell state on qrelay, counts and a text histogram.

With no ``QRELAY_URL`` set, ``QRelayProvider()`` starts the embedded default (service,
workers and the emulated QPU fleet inside this process), so this runs with nothing to
configure. Set ``QRELAY_URL`` and ``QRELAY_TOKEN`` to run it against a service instead.

    python examples/qiskit_bell.py [--target aer_simulator] [--shots 1000]
"""

from __future__ import annotations

import argparse

from qiskit import QuantumCircuit

from qrelay_qiskit import QRelayProvider


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def histogram(counts: dict[str, int], width: int = 40) -> str:
    """A text bar per outcome, scaled to the largest count."""
    top = max(counts.values())
    lines = []
    for key in sorted(counts):
        bar = "#" * max(1, round(width * counts[key] / top))
        lines.append(f"  {key} | {bar:<{width}} {counts[key]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="aer_simulator")
    parser.add_argument("--shots", type=int, default=1000)
    args = parser.parse_args()

    provider = QRelayProvider()
    backend = provider.get_backend(args.target)
    job = backend.run(bell(), shots=args.shots)
    counts = job.result().get_counts()

    print(f"target: {backend.name}  job: {job.job_id()}  shots: {args.shots}")
    print(f"counts: {dict(sorted(counts.items()))}")
    print(histogram(counts))


if __name__ == "__main__":
    main()
