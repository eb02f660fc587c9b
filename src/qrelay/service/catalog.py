"""The target catalog: which targets exist, what they are and what they cost.

A catalog file is TOML (``[[targets]]`` tables) or JSON (a list, or ``{"targets": [...]}``)
of :class:`~qrelay.payload.TargetInfo`. Without a file the default catalog is the two
simulators defined here plus the emulated QPU fleet from ``qrelay.qpu.fleet``.

The catalog gives the static part of a target. Its live ``status`` and ``queue_depth``
are filled by the service: ``available`` only while a live worker serves it; ``retired``
and ``dev_only`` come from the catalog as they are.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from qrelay.errors import ConfigurationError
from qrelay.payload import TargetCapabilities, TargetInfo, TargetLimits

log = logging.getLogger(__name__)


def simulator_targets() -> list[TargetInfo]:
    """The simulator targets every qrelay service offers by default."""
    return [
        TargetInfo(
            name="aer_simulator",
            description="Qiskit Aer simulator, ideal or with noise (sim_method 'noise-sim').",
            driver="aer",
            simulator=True,
            num_qubits=30,
            limits=TargetLimits(max_shots=1_000_000, max_qubits=30),
            capabilities=TargetCapabilities(
                parameter_batch=True,
                mid_circuit_measurement=True,
                reset=True,
                feed_forward=True,
                expectation_values=True,
            ),
            price_per_shot=0.0,
        ),
        TargetInfo(
            name="cirq_simulator",
            description="Cirq's simulator (state vector), ideal.",
            driver="cirq",
            simulator=True,
            num_qubits=24,
            limits=TargetLimits(max_shots=1_000_000, max_qubits=24),
            # Cirq runs classically controlled operations (conditions may be
            # expressions, and a switch becomes one condition per case),
            # repeat_until loops (a `while` after a copy of its body) and repetitions
            # (a `for` over a range); not break, continue or store
            capabilities=TargetCapabilities(
                parameter_batch=True,
                mid_circuit_measurement=True,
                reset=True,
                feed_forward=True,
                control_flow=["if", "while", "for", "switch", "expressions"],
            ),
            price_per_shot=0.0,
        ),
    ]


def default_targets() -> list[TargetInfo]:
    """The simulators plus the emulated QPU fleet (when that module is installed)."""
    targets = simulator_targets()
    try:
        from qrelay.qpu import fleet
    except ImportError as exc:
        if exc.name not in ("qrelay.qpu", "qrelay.qpu.fleet"):
            raise
        log.warning("the emulated QPU fleet is not available (%s); serving simulators only", exc)
        return targets
    targets.extend(fleet.fleet_targets())
    return targets


def load_targets(path: Path) -> list[TargetInfo]:
    """Targets from a TOML or JSON catalog file; errors name the file and the entry."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"targets file {path}: {exc}") from exc
    try:
        data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ConfigurationError(f"targets file {path}: {exc}") from exc
    entries = data.get("targets") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigurationError(f"targets file {path}: expected a list of targets under 'targets'")
    targets = []
    for index, entry in enumerate(entries):
        try:
            targets.append(TargetInfo.model_validate(entry))
        except PydanticValidationError as exc:
            raise ConfigurationError(f"targets file {path}: targets[{index}]: {exc}") from exc
    return targets


class Catalog:
    """The static target entries, by name."""

    def __init__(self, targets: Iterable[TargetInfo]) -> None:
        self._targets: dict[str, TargetInfo] = {}
        for target in targets:
            if target.name in self._targets:
                raise ConfigurationError(f"target catalog: {target.name!r} is defined twice")
            self._targets[target.name] = target

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """The catalog of ``path``, or the default one."""
        return cls(load_targets(path) if path is not None else default_targets())

    def get(self, name: str) -> TargetInfo | None:
        return self._targets.get(name)

    def names(self) -> list[str]:
        return list(self._targets)

    def all(self) -> list[TargetInfo]:
        return list(self._targets.values())
