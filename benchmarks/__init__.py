"""Benchmarks of qrelay, each measured side by side with its reference in the same run.

Run them with ``python -m benchmarks`` from the project root (see ``benchmarks/run.py``).
"""
