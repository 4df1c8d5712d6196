"""Seasonal baseline: a robust mean and scale per phase of a daily (or weekly) cycle.

Each observation's phase bin is ``(time mod period) * bins // period`` (times in epoch seconds,
UTC); every bin keeps its own Huber-clipped EWMA mean and variance, and the score is the z of the
value against its bin. Good at: indicators with daily or weekly rhythms (load, traffic, calls) where
a value normal at noon is abnormal at 3 a.m. Weak at: irregular sampling with empty bins (they stay
in warm-up) and level shifts (every bin must re-learn). Reference: the per-phase baseline of
Holt-Winters seasonal smoothing (Winters 1960, Management Science 6(3)); robust variant as in
``robust_z``.

Parameters: ``period`` (seconds; 86400 daily, 604800 weekly), ``bins``, ``alpha``, ``huber``,
``z_threshold``, ``warmup`` (observations per bin before it scores). Score: ``|z| / (|z| +
z_threshold)``, 0.5 at the decision threshold ``|z| = z_threshold``, as in ``robust_z``.

Example:
    >>> import numpy as np
    >>> det = SeasonalDetector(period=10, bins=10, warmup=3)
    >>> t = np.arange(60)
    >>> v = (t % 10).astype(float)
    >>> v[-1] = 100.0
    >>> s = det.score_batch(np.zeros(60, dtype=np.int64), t, v)
    >>> bool(s[-1] >= det.threshold), bool(s[-2] < det.threshold)
    (True, True)
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numba import njit

from tocsin.core.detectors.arrays import Band, BoolArray, FloatArray, IntArray, StateArrays
from tocsin.core.detectors.base import ArrayDetector, StateField, sigma_band
from tocsin.core.detectors.hyperparameters import check_all_positive, check_unit
from tocsin.core.detectors.kernels import ewm_step, huber_residual, scale_floor, z_ratio_score


@njit(cache=True)
def _seasonal_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    s, t, v, n, mean, var, gvar, period, alpha, huber, warmup, z_thr
):
    """Score then learn each observation against its phase bin."""
    bins = mean.shape[1]
    out = np.zeros(v.shape[0])
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if math.isnan(x):
            continue
        b = ((t[i] % period) * bins) // period
        c = n[k, b]
        if c == 0:
            mean[k, b] = x
            n[k, b] = 1
            continue
        # the scale never falls below a tenth of the series' overall bin-residual scale
        sd = max(scale_floor(var[k, b], mean[k, b]), 0.1 * math.sqrt(max(gvar[k], 0.0)))
        z = (x - mean[k, b]) / sd
        if c >= warmup:
            out[i] = z_ratio_score(z, z_thr)
        r = huber_residual(z, sd, huber, c >= warmup)
        mean[k, b], var[k, b] = ewm_step(mean[k, b], var[k, b], alpha, r)
        gvar[k] += 0.01 * (r * r - gvar[k])
        n[k, b] = c + 1
    return out


class SeasonalDetector(ArrayDetector):
    """Per-phase robust mean/scale z-score over a daily or weekly cycle."""

    kind: ClassVar[str] = "seasonal"
    params: ClassVar[tuple[str, ...]] = (
        "period",
        "bins",
        "alpha",
        "huber",
        "z_threshold",
        "warmup",
    )

    def __init__(
        self,
        period: int = 86400,
        bins: int = 24,
        alpha: float = 0.1,
        huber: float = 3.0,
        z_threshold: float = 5.0,
        warmup: int = 5,
    ) -> None:
        """Validate and store the hyperparameters."""
        check_all_positive(period=period, bins=bins, warmup=warmup)
        check_unit("alpha", alpha)
        check_all_positive(huber=huber, z_threshold=z_threshold)
        self.period, self.bins = int(period), int(bins)
        self.alpha, self.huber = float(alpha), float(huber)
        self.z_threshold, self.warmup = float(z_threshold), int(warmup)

    def _fields(self) -> dict[str, StateField]:
        return {
            "n": StateField(np.int64, (self.bins,)),
            "mean": StateField(np.float64, (self.bins,)),
            "var": StateField(np.float64, (self.bins,)),
            "gvar": StateField(np.float64),
        }

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        out: FloatArray = _seasonal_kernel(
            s, t, v, state["n"], state["mean"], state["var"], state["gvar"],
            self.period, self.alpha, self.huber, self.warmup, self.z_threshold,
        )  # fmt: skip
        return out

    def _ready(self, state: StateArrays, s: IntArray) -> BoolArray:
        return np.asarray((state["n"][s] >= self.warmup).all(axis=1))

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        # the band of the phase bin with the widest spread (no time is given here)
        lo, hi = sigma_band(state["mean"][s], state["var"][s], self.z_threshold)
        return lo.min(axis=1), hi.max(axis=1)
