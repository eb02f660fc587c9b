"""A Cirq parameter sweep with ``QRelaySampler.run_sweep``: the whole sweep is one job.

An Rx(theta) rotation is swept over [0, pi]; each point's ``cirq.ResultDict`` carries its
resolver, and P(1) follows sin^2(theta / 2).

    python examples/cirq_run_sweep.py [--points 11] [--repetitions 500]
"""

from __future__ import annotations

import argparse

import cirq
import numpy as np
import sympy

from qrelay_cirq import QRelayCirqService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="cirq_simulator")
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--repetitions", type=int, default=500)
    args = parser.parse_args()

    theta = sympy.Symbol("theta")
    qubit = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.rx(theta).on(qubit), cirq.measure(qubit, key="m"))
    sweep = cirq.Linspace(theta, start=0.0, stop=np.pi, length=args.points)

    sampler = QRelayCirqService().sampler(args.target)
    results = sampler.run_sweep(circuit, params=sweep, repetitions=args.repetitions)

    print(f"target: {sampler.target}  points: {len(results)}  repetitions: {args.repetitions}")
    print("theta    P(1)   expected")
    for result in results:
        value = float(result.params.value_of(theta))
        p1 = float(result.measurements["m"].mean())
        print(f"{value:6.3f}  {p1:6.3f}  {np.sin(value / 2) ** 2:6.3f}")


if __name__ == "__main__":
    main()
