"""How a job runs: one typed model of the run options, and the user's noise spec.

A job carries its run options in two places on the wire: the fields every job has
(``shots``, ``memory``, ``meas_level``, ``verbatim``) and the free ``options`` object
that goes to the device driver, where ``seed``, ``noise``, ``optimization_level`` and
``histogram`` live. :class:`RunOptions` is the one reading of both. The front ends build it and turn
it into a job's fields (:meth:`RunOptions.job_fields`); :class:`~qrelay.payload.jobs.NewJob`
checks its ``options`` with it, so a bad seed or noise spec is refused at submission; and
every driver reads a leased task through :meth:`RunOptions.of`, so a seed or a noise
spec means the same on Aer, on Cirq and on a QPU target's local simulation.

The noise spec (``noise-sim`` on a simulator target) is
``{"depolarizing_1q": p1, "depolarizing_2q": p2, "readout_error": pr}``: depolarizing
probabilities on every one- and two-qubit gate, and a symmetric readout flip probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Protocol

import pydantic
from pydantic import Field, JsonValue

from qrelay.errors import PayloadError
from qrelay.payload._base import WireModel
from qrelay.payload.parsing import payload_error

#: The largest seed: every simulator takes a non-negative 63-bit integer.
MAX_SEED: Final = 2**63 - 1
#: The keys of ``options`` that :class:`RunOptions` reads (others go to drivers as given).
RUN_OPTION_KEYS: Final = ("seed", "noise", "optimization_level", "histogram")

#: A probability, checked strictly (a bool or a string is not a number here).
Probability = Annotated[float, Field(strict=True, ge=0.0, le=1.0)]
#: A simulator seed: a non-negative integer, never a bool or a float.
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]


class NoiseSpec(WireModel):
    """A user's noise: depolarizing on every gate, and symmetric readout flips.

    A key left out is 0. The Aer and Cirq drivers build their noise models from this one
    model, so a spec means the same on both.
    """

    depolarizing_1q: Probability = 0.0
    depolarizing_2q: Probability = 0.0
    readout_error: Probability = 0.0


class RunOptions(WireModel):
    """Everything about how a job's circuits run, typed and checked once.

    ``seed`` seeds the simulation (``None``: a fresh draw each run); ``noise`` is the
    noise spec of a ``noise-sim`` job on a simulator target; ``optimization_level`` is
    the compiler's (``None``: the compiler's default); ``verbatim`` skips compiling.
    ``histogram`` asks for readouts in histogram form (each distinct outcome once, with
    its count: see :mod:`qrelay.payload.readout`) from a device that can give them; a
    caller that asks must read either form, since a device may answer per shot.
    """

    shots: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    seed: Seed | None = None
    memory: bool = False
    meas_level: Annotated[int, Field(ge=1, le=2)] = 2
    verbatim: bool = False
    optimization_level: Annotated[int, Field(strict=True, ge=0, le=3)] | None = None
    noise: NoiseSpec | None = None
    histogram: Annotated[bool, Field(strict=True)] = False

    @classmethod
    def of(cls, job: HasRunOptions) -> RunOptions:
        """The run options of a job or a leased task (its fields and its ``options``)."""
        return cls.from_fields(
            shots=job.shots,
            memory=job.memory,
            meas_level=job.meas_level,
            verbatim=job.verbatim,
            options=job.options,
        )

    @classmethod
    def from_fields(
        cls,
        *,
        shots: int,
        memory: bool,
        meas_level: int,
        verbatim: bool,
        options: Mapping[str, Any],
    ) -> RunOptions:
        """Read the options object the way every driver does; errors name ``options.<key>``."""
        noise = options.get("noise")
        if noise is not None and (not isinstance(noise, Mapping) or not noise):
            raise PayloadError(
                f"options.noise: expected an object with any of {list(NoiseSpec.model_fields)},"
                ' e.g. {"depolarizing_1q": 0.001, "depolarizing_2q": 0.01, '
                f'"readout_error": 0.02}}, got {noise!r}'
            )
        unknown = sorted(set(noise or ()) - set(NoiseSpec.model_fields))
        if unknown:
            raise PayloadError(
                f"options.noise: unknown key(s) {unknown}; known: {list(NoiseSpec.model_fields)}",
                location=("options", "noise", str(unknown[0])),
            )
        data = {key: options[key] for key in RUN_OPTION_KEYS if options.get(key) is not None}
        try:
            cls.model_validate(data)  # first alone, so an error names ``options.<key>``
        except pydantic.ValidationError as exc:
            raise payload_error(exc, "options", at=("options",), model=cls) from None
        fields = {"shots": shots, "memory": memory, "meas_level": meas_level, "verbatim": verbatim}
        try:
            return cls.model_validate(data | fields)
        except pydantic.ValidationError as exc:
            raise payload_error(exc, "run options", model=cls) from None

    def job_fields(self) -> dict[str, Any]:
        """The fields of a :class:`~qrelay.payload.jobs.NewJob` that carry these options."""
        options: dict[str, JsonValue] = {}
        if self.seed is not None:
            options["seed"] = self.seed
        if self.noise is not None:
            options["noise"] = self.noise.model_dump()
        if self.optimization_level is not None:
            options["optimization_level"] = self.optimization_level
        if self.histogram:
            options["histogram"] = True
        return {
            "shots": self.shots,
            "memory": self.memory,
            "meas_level": self.meas_level,
            "verbatim": self.verbatim,
            "options": options,
        }


class HasRunOptions(Protocol):
    """What :meth:`RunOptions.of` reads: a new job and a leased task both have it."""

    @property
    def shots(self) -> int: ...
    @property
    def memory(self) -> bool: ...
    @property
    def meas_level(self) -> int: ...
    @property
    def verbatim(self) -> bool: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
