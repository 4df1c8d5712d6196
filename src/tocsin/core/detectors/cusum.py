"""Two-sided CUSUM on robustly standardised values: a changepoint test for level shifts.

Each value is standardised against a slow Huber-clipped EWMA baseline; Page's two cumulative sums
``g+ = max(0, g+ + z - k)`` and ``g- = max(0, g- - z - k)`` accumulate small persistent deviations
that a z-score misses. The score is ``g / (g + h)`` (0.5 when the larger sum reaches ``h``); after
an alarm both sums restart. Good at: small sustained shifts of the mean (a sensor drifting, a slow
leak). Weak at: single spikes (clipped) and seasonal series. Reference: Page (1954), "Continuous
inspection schemes", Biometrika 41(1/2).

Parameters: ``alpha`` (baseline smoothing), ``k`` (allowance, in standard deviations), ``h``
(decision interval), ``clip`` (cap on |z| per step), ``warmup``.

Example:
    >>> import numpy as np
    >>> det = CusumDetector(warmup=20)
    >>> vals = np.r_[np.tile([0.0, 1.0], 50), np.tile([2.0, 3.0], 20)]
    >>> s = det.score_batch(np.zeros(140, dtype=np.int64), np.arange(140), vals)
    >>> bool((s[:100] < det.threshold).all()), bool((s[100:] >= det.threshold).any())
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
from tocsin.core.detectors.kernels import ewm_step, scale_floor


@njit(cache=True)
def _cusum_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    s, v, n, loc, var, gp, gn, alpha, k_allow, h, clip, warmup
):
    """Score then learn each observation."""
    out = np.zeros(v.shape[0])
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if math.isnan(x):
            continue
        if n[k] == 0:
            loc[k] = x
            n[k] = 1
            continue
        sd = scale_floor(var[k], loc[k])
        z = max(-clip, min(clip, (x - loc[k]) / sd))
        if n[k] >= warmup:
            gp[k] = max(0.0, gp[k] + z - k_allow)
            gn[k] = max(0.0, gn[k] - z - k_allow)
            g = max(gp[k], gn[k])
            out[i] = g / (g + h)
            if g >= h:
                gp[k] = 0.0
                gn[k] = 0.0
        # running mean/variance until 1/n falls below alpha, then exponential forgetting
        a = max(alpha, 1.0 / (n[k] + 1.0))
        r = (x - loc[k]) if n[k] < warmup else z * sd
        loc[k], var[k] = ewm_step(loc[k], var[k], a, r)
        n[k] += 1
    return out


class CusumDetector(ArrayDetector):
    """Two-sided Page CUSUM over a robust baseline; score g / (g + h)."""

    kind: ClassVar[str] = "cusum"
    params: ClassVar[tuple[str, ...]] = ("alpha", "k", "h", "clip", "warmup")

    def __init__(
        self,
        alpha: float = 0.01,
        k: float = 0.5,
        h: float = 8.0,
        clip: float = 4.0,
        warmup: int = 50,
    ) -> None:
        """Validate and store the hyperparameters."""
        check_unit("alpha", alpha)
        check_all_positive(k=k, h=h, clip=clip, warmup=warmup)
        self.alpha, self.k, self.h = float(alpha), float(k), float(h)
        self.clip, self.warmup = float(clip), int(warmup)

    def _fields(self) -> dict[str, StateField]:
        f8 = np.float64
        return {
            "n": StateField(np.int64),
            "loc": StateField(f8),
            "var": StateField(f8),
            "gp": StateField(f8),
            "gn": StateField(f8),
        }

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        st = state
        out: FloatArray = _cusum_kernel(
            s, v, st["n"], st["loc"], st["var"], st["gp"], st["gn"],
            self.alpha, self.k, self.h, self.clip, self.warmup,
        )  # fmt: skip
        return out

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        return sigma_band(state["loc"][s], state["var"][s], self.h + self.k)
