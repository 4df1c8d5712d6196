"""Robust z-score: a Huber-clipped EWMA location and scale (an online M-estimator).

Good at: spikes and dips on noisy series that already contain outliers — the clipped update keeps
one outlier from inflating the scale or dragging the baseline, so the next outlier is still seen.
Weak at: seasonal series and slow drifts. Reference: Huber (1964), "Robust estimation of a location
parameter", Ann. Math. Statist. 35(1); online clipped updates as in robust filtering (Maronna,
Martin & Yohai 2006, "Robust Statistics", ch. 8).

Parameters: ``alpha`` (smoothing), ``huber`` (clip of the standardised residual in the update),
``z_threshold`` (decision threshold), ``warmup``. Score: ``|z| / (|z| + z_threshold)``, 0.5 at
``|z| = z_threshold`` (the decision threshold), strictly increasing and below 1 for any finite z,
so large deviations stay ranked; ``|z| = z_threshold * s / (1 - s)`` recovers z from a score.

Example:
    >>> import numpy as np
    >>> det = RobustZDetector(warmup=5)
    >>> vals = np.r_[np.tile([1.0, 2.0], 10), 40.0]
    >>> s = det.score_batch(np.zeros(21, dtype=np.int64), np.arange(21), vals)
    >>> bool(s[-1] >= det.threshold)
    True
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numba import njit

from tocsin.core.detectors.arrays import Band, FloatArray, IntArray, StateArrays
from tocsin.core.detectors.base import ArrayDetector, StateField, sigma_band
from tocsin.core.detectors.hyperparameters import check_all_positive, check_unit
from tocsin.core.detectors.kernels import ewm_step, huber_residual, scale_floor, z_ratio_score


@njit(cache=True)
def _robust_kernel(s, v, n, loc, var, alpha, huber, warmup, z_thr):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Score then learn each observation."""
    out = np.zeros(v.shape[0])
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if math.isnan(x):
            continue
        if n[k] == 0:
            loc[k] = x
            var[k] = 0.0
            n[k] = 1
            continue
        sd = scale_floor(var[k], loc[k])
        z = (x - loc[k]) / sd
        if n[k] >= warmup:
            out[i] = z_ratio_score(z, z_thr)
        r = huber_residual(z, sd, huber, n[k] >= warmup)
        loc[k], var[k] = ewm_step(loc[k], var[k], alpha, r)
        n[k] += 1
    return out


class RobustZDetector(ArrayDetector):
    """Huber-clipped EWMA z-score per series; score = |z| / (|z| + z_threshold)."""

    kind: ClassVar[str] = "robust_z"
    params: ClassVar[tuple[str, ...]] = ("alpha", "huber", "z_threshold", "warmup")

    def __init__(
        self, alpha: float = 0.02, huber: float = 3.0, z_threshold: float = 5.0, warmup: int = 30
    ) -> None:
        """Validate and store the hyperparameters."""
        check_unit("alpha", alpha)
        check_all_positive(huber=huber, z_threshold=z_threshold, warmup=warmup)
        self.alpha, self.huber = float(alpha), float(huber)
        self.z_threshold, self.warmup = float(z_threshold), int(warmup)

    def _fields(self) -> dict[str, StateField]:
        return {
            "n": StateField(np.int64),
            "loc": StateField(np.float64),
            "var": StateField(np.float64),
        }

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        out: FloatArray = _robust_kernel(
            s, v, state["n"], state["loc"], state["var"], self.alpha, self.huber, self.warmup,
            self.z_threshold,
        )  # fmt: skip
        return out

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        return sigma_band(state["loc"][s], state["var"][s], self.z_threshold)
