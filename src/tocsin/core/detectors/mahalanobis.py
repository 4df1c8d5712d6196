"""Multivariate detection for a group of indicators: a shrinkage Mahalanobis distance.

Each group (series index) keeps an exponentially weighted mean vector and covariance matrix of its
``d`` indicators. The covariance is shrunk towards its diagonal, ``S = (1 - λ) C + λ diag(C)``
(Ledoit & Wolf 2004, "A well-conditioned estimator for large-dimensional covariance matrices",
J. Multivariate Anal. 88(2)), so it stays invertible with few observations or collinear sensors.
The squared distance ``D² = (x - m)ᵀ S⁻¹ (x - m)`` is chi-square with ``d`` degrees of freedom
under normality; the Wilson-Hilferty cube-root approximation (1931) turns it into a normal z, and
the score is ``z / (z + z_threshold)`` for z > 0 (0 otherwise): 0.5 at the decision threshold, as
every Tocsin detector. Good at: a pump whose sensors each look normal but whose combination is
not (broken correlation). Weak at: seasonal groups (use per-phase groups), single-sensor spikes
that a univariate detector sees sooner, and persistent faults (it adapts; see ``auto_group``).

NaN policy: a row with any NaN scores 0 and is not learned.

Parameters: ``alpha`` (smoothing), ``shrinkage`` λ, ``z_threshold`` (decision threshold on the
Wilson-Hilferty z), ``warmup``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 1)) @ np.ones((1, 3)) + 0.05 * rng.normal(size=(300, 3))
    >>> x[-1] = [2.0, -2.0, 2.0]  # each value ordinary, the combination is not
    >>> det = MahalanobisDetector(warmup=50)
    >>> s = det.score_batch(np.zeros(300, dtype=np.int64), np.arange(300), x)
    >>> bool(s[-1] >= det.threshold), bool(s[-2] < det.threshold)
    (True, True)
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numba import njit

from tocsin.core.detectors.arrays import Band, FloatArray, IntArray, StateArrays
from tocsin.core.detectors.base import ArrayDetector, StateField, sigma_band
from tocsin.core.detectors.hyperparameters import check_all_positive, check_unit


@njit(cache=True)
def _maha_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    s, v, n, mean, cov, alpha, lam, warmup, z_thr
):
    """Score then learn each row of ``v`` (n, d)."""
    d = v.shape[1]
    out = np.zeros(v.shape[0])
    eye = np.eye(d)
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if np.isnan(x).any():
            continue
        if n[k] == 0:
            mean[k] = x
            n[k] = 1
            continue
        diff = x - mean[k]
        if n[k] >= warmup:
            c = cov[k]
            diag = np.diag(c).copy()
            floor = 1e-12 + 1e-9 * np.abs(mean[k])
            diag = np.maximum(diag, floor * floor)
            shr = (1.0 - lam) * c + lam * np.diag(diag) + 1e-12 * eye
            sol = np.linalg.solve(shr, diff)
            d2 = max(float(diff @ sol), 0.0)
            # Wilson-Hilferty: (D²/d)^(1/3) is ~normal(1 - 2/(9d), 2/(9d))
            a = 2.0 / (9.0 * d)
            z = ((d2 / d) ** (1.0 / 3.0) - (1.0 - a)) / math.sqrt(a)
            out[i] = z / (z + z_thr) if z > 0.0 else 0.0
        mean[k] += alpha * diff
        cov[k] = (1.0 - alpha) * (cov[k] + alpha * np.outer(diff, diff))
        n[k] += 1
    return out


class MahalanobisDetector(ArrayDetector):
    """EWMA mean/covariance per group with diagonal shrinkage; score from the Wilson-Hilferty z."""

    kind: ClassVar[str] = "mahalanobis"
    params: ClassVar[tuple[str, ...]] = ("alpha", "shrinkage", "z_threshold", "warmup")

    def __init__(
        self,
        alpha: float = 0.02,
        shrinkage: float = 0.1,
        z_threshold: float = 5.0,
        warmup: int = 50,
    ) -> None:
        """Validate and store the hyperparameters (the width d is learnt from the first batch)."""
        check_unit("alpha", alpha)
        check_unit("shrinkage", shrinkage, closed=True)
        check_all_positive(z_threshold=z_threshold, warmup=warmup)
        self.alpha, self.shrinkage = float(alpha), float(shrinkage)
        self.z_threshold, self.warmup = float(z_threshold), int(warmup)
        self.dim = 0

    def _fields(self) -> dict[str, StateField]:
        d = self.dim or 1
        return {
            "n": StateField(np.int64),
            "mean": StateField(np.float64, (d,)),
            "cov": StateField(np.float64, (d, d)),
        }

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        out: FloatArray = _maha_kernel(
            s, v, state["n"], state["mean"], state["cov"], self.alpha, self.shrinkage, self.warmup,
            self.z_threshold,
        )  # fmt: skip
        return out

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        var = np.diagonal(state["cov"][s], axis1=1, axis2=2)
        return sigma_band(state["mean"][s], var, self.z_threshold)
