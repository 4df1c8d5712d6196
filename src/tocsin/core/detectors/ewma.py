"""EWMA z-score: exponentially weighted mean and variance, the simplest adaptive baseline.

Good at: isolated spikes and dips on series without strong seasonality, and as a cheap first line
on very many series (one multiply-add per observation). Weak at: level shifts (it adapts) and
seasonal series (daily peaks look anomalous). Reference: Roberts (1959), "Control chart tests based
on geometric moving averages", Technometrics 1(3).

Parameters: ``alpha`` (smoothing, 0 < alpha < 1), ``z_threshold`` (decision threshold in standard
deviations), ``warmup`` (observations before ``ready``). Score: ``|z| / (|z| + z_threshold)``, 0.5
at the decision threshold, as every Tocsin detector.

Example:
    >>> import numpy as np
    >>> det = EwmaDetector(alpha=0.1, warmup=5)
    >>> s = det.score_batch(np.zeros(7, dtype=np.int64), np.arange(7), np.r_[np.ones(6), 50.0])
    >>> bool(s[-1] > det.threshold)
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
from tocsin.core.detectors.kernels import ewm_step, scale_floor, z_ratio_score


@njit(cache=True)
def _ewma_kernel(s, v, n, mean, var, alpha, warmup, z_thr):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Score then learn each observation."""
    out = np.zeros(v.shape[0])
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if math.isnan(x):
            continue
        if n[k] >= warmup:
            out[i] = z_ratio_score((x - mean[k]) / scale_floor(var[k], mean[k]), z_thr)
        if n[k] == 0:
            mean[k] = x
            var[k] = 0.0
        else:
            mean[k], var[k] = ewm_step(mean[k], var[k], alpha, x - mean[k])
        n[k] += 1
    return out


class EwmaDetector(ArrayDetector):
    """EWMA mean/variance z-score per series; score = |z| / (|z| + z_threshold)."""

    kind: ClassVar[str] = "ewma"
    params: ClassVar[tuple[str, ...]] = ("alpha", "z_threshold", "warmup")

    def __init__(self, alpha: float = 0.05, z_threshold: float = 4.0, warmup: int = 30) -> None:
        """Validate and store the hyperparameters."""
        check_unit("alpha", alpha)
        check_all_positive(z_threshold=z_threshold, warmup=warmup)
        self.alpha = float(alpha)
        self.z_threshold = float(z_threshold)
        self.warmup = int(warmup)

    def _fields(self) -> dict[str, StateField]:
        return {
            "n": StateField(np.int64),
            "mean": StateField(np.float64),
            "var": StateField(np.float64),
        }

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        out: FloatArray = _ewma_kernel(
            s, v, state["n"], state["mean"], state["var"], self.alpha, self.warmup, self.z_threshold
        )
        return out

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        return sigma_band(state["mean"][s], state["var"][s], self.z_threshold)
