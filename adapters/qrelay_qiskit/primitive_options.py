"""Options of the qrelay primitives, with the names IBM's runtime primitives use.

Each group (``resilience``, ``twirling``, ``dynamical_decoupling``) is a small pydantic
model that refuses unknown fields and checks every assignment, so both
``QRelayEstimatorV2(backend, options={"resilience": {"zne": {"noise_factors": [1, 3]}}})``
and ``estimator.options.resilience.zne.noise_factors = (1, 3)`` are checked the same way.
Pydantic's errors are translated once, here, into a :class:`~qrelay.errors.ValidationError`
naming the option by its dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from qrelay.errors import ValidationError

#: Randomizations when ``twirling.num_randomizations`` is ``"auto"`` (IBM's default).
AUTO_RANDOMIZATIONS = 32


def _describe(exc: pydantic.ValidationError, prefix: str) -> str:
    parts = []
    for error in exc.errors():
        path = ".".join(str(p) for p in (prefix, *error["loc"]) if p != "")
        if error["type"] == "extra_forbidden":
            parts.append(f"options: {path!r} is not an option")
        else:
            parts.append(f"options: {path}: {error['msg']}")
    return "; ".join(parts)


class _Group(BaseModel):
    """An option group: unknown names and bad values are refused, on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).model_fields:
            raise ValidationError(f"options: {name!r} is not an option of {self._path()}")
        try:
            super().__setattr__(name, value)
        except pydantic.ValidationError as exc:
            raise ValidationError(_describe(exc, self._path())) from exc

    def _path(self) -> str:
        return ""


class ZneOptions(_Group):
    """Zero-noise extrapolation: the gate-folding factors and the fit to zero noise."""

    noise_factors: tuple[float, ...] = (1.0, 3.0, 5.0)
    extrapolator: Literal["linear", "exponential"] = "exponential"

    @field_validator("noise_factors")
    @classmethod
    def _odd_factors(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) < 2:
            raise ValueError("give at least two noise factors")
        for factor in value:
            if factor < 1 or factor != int(factor) or int(factor) % 2 != 1:
                raise ValueError(
                    f"{factor} is not an odd integer >= 1 (folding scales noise by 1, 3, 5, ...)"
                )
        if len(set(value)) != len(value):
            raise ValueError("noise factors repeat")
        return value

    def _path(self) -> str:
        return "resilience.zne"


class ResilienceOptions(_Group):
    """Which mitigation runs (``None`` leaves it to ``resilience_level``)."""

    measure_mitigation: bool | None = None
    zne_mitigation: bool | None = None
    zne: ZneOptions = Field(default_factory=ZneOptions)

    def _path(self) -> str:
        return "resilience"


class TwirlingOptions(_Group):
    """Pauli twirling of two-qubit gates and of measurements."""

    enable_gates: bool | None = None
    enable_measure: bool | None = None
    num_randomizations: int | Literal["auto"] = Field(default="auto")
    shots_per_randomization: int | Literal["auto"] = Field(default="auto")

    @field_validator("num_randomizations", "shots_per_randomization")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 1024:
            raise ValueError(f"{value} is outside 1..1024")
        return value

    def _path(self) -> str:
        return "twirling"


class DynamicalDecouplingOptions(_Group):
    """Pulse sequences in idle windows, placed with the target's gate durations."""

    enable: bool = False
    sequence_type: Literal["XX", "XpXm", "XY4"] = "XX"

    def _path(self) -> str:
        return "dynamical_decoupling"


class SamplerOptions(_Group):
    """Options ``QRelaySamplerV2`` takes with IBM's names."""

    twirling: TwirlingOptions = Field(default_factory=TwirlingOptions)
    dynamical_decoupling: DynamicalDecouplingOptions = Field(
        default_factory=DynamicalDecouplingOptions
    )


class EstimatorOptions(SamplerOptions):
    """Options of ``QRelayEstimatorV2`` (IBM's names; see the estimator guide)."""

    default_shots: int | None = Field(default=None, ge=1, le=10_000_000)
    resilience_level: Literal[0, 1, 2] = 1
    resilience: ResilienceOptions = Field(default_factory=ResilienceOptions)
    seed_estimator: int | None = None
    #: Exact expectation values computed by the target (no shots, ``stds`` 0): only on a
    #: target with ``capabilities.expectation_values`` (the ideal ``aer_simulator``).
    exact: bool = False

    @property
    def measure_mitigation(self) -> bool:
        """Whether TREX runs: set explicitly, else from level 1 up."""
        chosen = self.resilience.measure_mitigation
        return self.resilience_level >= 1 if chosen is None else chosen

    @property
    def zne_mitigation(self) -> bool:
        """Whether ZNE runs: set explicitly, else at level 2."""
        chosen = self.resilience.zne_mitigation
        return self.resilience_level >= 2 if chosen is None else chosen

    @property
    def twirl_measure(self) -> bool:
        """Measurements are twirled when asked, or whenever TREX runs (it needs them)."""
        chosen = self.twirling.enable_measure
        return self.measure_mitigation or bool(chosen)

    @property
    def twirl_gates(self) -> bool:
        """Two-qubit gates are twirled when asked, else at level 2 (as IBM's level 2)."""
        chosen = self.twirling.enable_gates
        return self.resilience_level >= 2 if chosen is None else chosen


def _merge(into: dict[str, Any], key: str, value: Any) -> None:
    """Set dotted ``key`` in nested ``into``, merging groups given both ways."""
    parts = key.split(".")
    node = into
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValidationError(f"options: {key!r} sets a group and a value at once")
        node = child
    last = parts[-1]
    if isinstance(value, Mapping):
        child = node.setdefault(last, {})
        if not isinstance(child, dict):
            raise ValidationError(f"options: {key!r} sets a group and a value at once")
        for name, inner in value.items():
            if not isinstance(name, str):
                raise ValidationError(f"options: key {name!r} in {key!r} is not a name")
            _merge(child, name, inner)
    else:
        node[last] = value


def parse_options(model: type[_Group], given: Mapping[str, Any] | None) -> Any:
    """``given`` (nested dicts, or dotted keys such as ``"resilience.zne.extrapolator"``)."""
    nested: dict[str, Any] = {}
    for key, value in (given or {}).items():
        if not isinstance(key, str):
            raise ValidationError(f"options: key {key!r} is not a name")
        _merge(nested, key, value)
    try:
        return model.model_validate(nested)
    except pydantic.ValidationError as exc:
        raise ValidationError(_describe(exc, "")) from exc


def randomizations(twirling: TwirlingOptions, shots: int) -> tuple[int, int]:
    """How many randomizations, and the shots of each, for ``shots`` in all."""
    given_count = twirling.num_randomizations
    given_per = twirling.shots_per_randomization
    if isinstance(given_count, int):
        count = given_count
    elif isinstance(given_per, int):
        count = max(1, -(-shots // given_per))
    else:
        count = min(AUTO_RANDOMIZATIONS, shots)
    per = given_per if isinstance(given_per, int) else max(1, -(-shots // count))
    return count, per
