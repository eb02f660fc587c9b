"""Helpers of the side-by-side benchmarks (``benchmarks/peers_bench.py``).

The peers (provider packages' local modes, the simulators called directly, bare echo
servers) are listed in ``benchmarks/requirements-peers.txt``; none is a dependency of
qrelay. A peer whose import fails gives a "not installed" row instead of a figure.
"""
