"""IQ readout: complex points around two centroids per qubit, and their discrimination.

A dispersive readout returns, per shot, one point of the I/Q plane; a qubit in ``|0>``
lands near one centroid, in ``|1>`` near the other, with Gaussian spread. Nearest-centroid
discrimination of a symmetric Gaussian mixes up the two states with probability
``Phi(-d / (2 sigma))`` (``d`` the distance between centroids), so choosing
``sigma = d / (2 Phi^-1(1 - eps))`` reproduces a calibrated readout error
``eps``. The integer readout is that discrimination, so bits and IQ points always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from qrelay.payload import TargetInfo

#: The smallest readout error modelled; a perfect readout still has a finite spread.
_MIN_ERROR = 1e-9


@dataclass(frozen=True)
class IQModel:
    """Per-qubit centroids of ``|0>`` and ``|1>`` and the Gaussian spread around them."""

    zero: npt.NDArray[np.complex128]
    one: npt.NDArray[np.complex128]
    sigma: npt.NDArray[np.float64]
    #: Per qubit, the probability that discrimination reads the other state.
    flip: npt.NDArray[np.float64]

    @classmethod
    def for_target(cls, target: TargetInfo, seed: int = 0) -> IQModel:
        """Centroids drawn per qubit (seeded), spread fitted to each readout error."""
        rng = np.random.default_rng([0x1B, seed, target.num_qubits])
        n = target.num_qubits
        amplitude = rng.uniform(0.8, 1.2, n)
        phase = rng.uniform(0.0, 2.0 * np.pi, n)
        separation = rng.uniform(0.6, 0.9, n) * np.pi
        zero = amplitude * np.exp(1j * phase)
        one = amplitude * np.exp(1j * (phase + separation))
        errors = np.array(
            [
                (q.readout_error if q.readout_error is not None else 0.0)
                for q in (target.qubits or [])
            ]
            + [0.0] * (n - len(target.qubits)),
            dtype=float,
        )
        errors = np.clip(errors, _MIN_ERROR, 0.5 - 1e-9)
        z = np.array([NormalDist().inv_cdf(1.0 - e) for e in errors])
        sigma = np.abs(one - zero) / (2.0 * z)
        return cls(zero=zero, one=one, sigma=sigma, flip=errors)

    def sample(
        self,
        states: npt.NDArray[Any],
        qubits: npt.NDArray[np.intp] | list[int],
        rng: np.random.Generator,
    ) -> npt.NDArray[np.complex64]:
        """IQ points for true states ``states[..., j]`` of physical qubit ``qubits[j]``."""
        q = np.asarray(qubits, dtype=np.intp)
        centre = np.where(states.astype(bool), self.one[q], self.zero[q])
        noise = rng.standard_normal((*states.shape, 2))
        spread = self.sigma[q]
        points = centre + spread * (noise[..., 0] + 1j * noise[..., 1])
        return points.astype(np.complex64)

    def flips(
        self,
        states: npt.NDArray[Any],
        qubits: npt.NDArray[np.intp] | list[int],
        rng: np.random.Generator,
    ) -> npt.NDArray[np.uint8]:
        """The discriminated states without drawing the points (same distribution).

        Discriminating a point drawn around the true state's centroid reads the other
        state with probability ``flip``; when no IQ is wanted, drawing that flip directly
        gives the same bits far more cheaply.
        """
        q = np.asarray(qubits, dtype=np.intp)
        flipped = rng.random(states.shape, dtype=np.float32) < self.flip[q]
        return (states.astype(bool) ^ flipped).astype(np.uint8)

    def discriminate(
        self, points: npt.NDArray[Any], qubits: npt.NDArray[np.intp] | list[int]
    ) -> npt.NDArray[np.uint8]:
        """Nearest-centroid states of IQ points taken on physical qubits ``qubits``."""
        q = np.asarray(qubits, dtype=np.intp)
        axis = self.one[q] - self.zero[q]
        middle = 0.5 * (self.one[q] + self.zero[q])
        projection = ((points - middle) * np.conj(axis)).real
        return (projection > 0).astype(np.uint8)
