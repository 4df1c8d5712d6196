"""The default detector (``kind: auto``): a robust multi-scale ensemble with likelihood scoring.

No per-series tuning: one configuration for every series. Each observation feeds three raw
surprise measures, each turned into a tail probability against its own recent history (the
"anomaly likelihood" idea of Ahmad et al. 2017, Neurocomputing 262), and the most surprising one
wins:

* **spike** — |z| of the value against a Huber-clipped EWMA location/scale (robust to the outliers
  it is looking for; Huber 1964 M-estimation applied online);
* **shift** — a fast EWMA against the slow baseline, in baseline standard deviations (a level-shift
  test in the spirit of CUSUM, Page 1954);
* **range** — a value outside everything seen so far by a margin (the "spatial anomaly" rule that
  Numenta's NAB detector adds to HTM).

Deciding: a score at or above ``threshold`` is a detection; after one, the detector stays quiet for
``quiet`` observations (alarms re-arm afterwards), because repeated alarms on the same episode only
add noise to a duty desk. Scores are in [0, 1]; 0 during the first ``warmup`` observations.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from tocsin.core.detectors.base import (
    ArrayDetector,
    BoolArray,
    FloatArray,
    IntArray,
    StateField,
    check_positive,
    check_unit,
)
from tocsin.core.detectors.kernels import scale_floor

LOG_FLOOR = 1e-12
N_COMP = 2


@njit(cache=True, inline="always")
def _tail_score(z: float) -> float:  # pragma: no cover - compiled
    """Upper-tail probability of z mapped to [0, 1] on a log scale (1 = p <= 1e-12)."""
    p = 0.5 * math.erfc(z / math.sqrt(2.0))
    if p < LOG_FLOOR:
        return 1.0
    return math.log(p) / math.log(LOG_FLOOR)


@njit(cache=True)
def _auto_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    s, v, st_n, st_m, st_v, st_f, st_lo, st_hi, st_sm, st_mu, st_var, st_quiet, prm
):
    """Score then learn each observation; ``prm`` holds the float hyperparameters."""
    alpha, fast, huber, short, longa, warmup, quiet, thr, tol = (
        prm[0],
        prm[1],
        prm[2],
        prm[3],
        prm[4],
        prm[5],
        prm[6],
        prm[7],
        prm[8],
    )
    out = np.zeros(v.shape[0])
    raw = np.zeros(N_COMP)
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if math.isnan(x):
            continue
        n = st_n[k]
        if n == 0:
            st_m[k] = x
            st_v[k] = 0.0
            st_f[k] = x
            st_lo[k] = x
            st_hi[k] = x
            st_n[k] = 1
            continue
        sd = scale_floor(st_v[k], st_m[k])
        z = (x - st_m[k]) / sd
        f_new = st_f[k] + fast * (x - st_f[k])
        raw[0] = min(abs(z), 50.0)
        raw[1] = min(abs(f_new - st_m[k]) / sd, 50.0)
        score = 0.0
        for c in range(N_COMP):
            sm = st_sm[k, c] + short * (raw[c] - st_sm[k, c])
            lz = (sm - st_mu[k, c]) / scale_floor(st_var[k, c], st_mu[k, c])
            if n >= warmup:
                score = max(score, _tail_score(lz))
            d = sm - st_mu[k, c]
            st_mu[k, c] += longa * d
            st_var[k, c] = (1.0 - longa) * (st_var[k, c] + longa * d * d)
            st_sm[k, c] = sm
        span = st_hi[k] - st_lo[k]
        if n >= warmup and (x > st_hi[k] + tol * span or x < st_lo[k] - tol * span):
            score = 1.0
        if st_quiet[k] > 0:
            st_quiet[k] -= 1
            score = 0.0
        elif score >= thr:
            st_quiet[k] = quiet
        if n >= warmup:
            out[i] = score
        # learn
        r = max(-huber, min(huber, z))
        st_m[k] += alpha * r * sd
        st_v[k] = (1.0 - alpha) * (st_v[k] + alpha * (r * sd) ** 2)
        st_f[k] = f_new
        st_lo[k] = min(st_lo[k], x)
        st_hi[k] = max(st_hi[k], x)
        st_n[k] = n + 1
    return out


class AutoDetector(ArrayDetector):
    """Robust multi-scale ensemble with likelihood scoring and post-alarm quiet period."""

    kind: ClassVar[str] = "auto"
    params: ClassVar[tuple[str, ...]] = (
        "alpha",
        "fast",
        "huber",
        "short",
        "long",
        "warmup",
        "quiet",
        "threshold",
        "range_tol",
    )

    def __init__(
        self,
        alpha: float = 0.02,
        fast: float = 0.2,
        huber: float = 3.0,
        short: float = 0.3,
        long: float = 0.002,
        warmup: int = 300,
        quiet: int = 200,
        threshold: float = 0.5,
        range_tol: float = 0.1,
    ) -> None:
        """Validate and store the hyperparameters."""
        for name, val in (("alpha", alpha), ("fast", fast), ("short", short), ("long", long)):
            check_unit(name, val, closed=name in ("fast", "short"))
        check_positive("huber", huber)
        check_positive("warmup", warmup)
        check_unit("threshold", threshold, closed=True)
        if quiet < 0 or range_tol < 0:
            raise ValueError("quiet and range_tol must be >= 0")
        self.alpha, self.fast, self.huber = float(alpha), float(fast), float(huber)
        self.short, self.long = float(short), float(long)
        self.warmup, self.quiet = int(warmup), int(quiet)
        self.threshold, self.range_tol = float(threshold), float(range_tol)

    def _fields(self) -> dict[str, StateField]:
        f8, i8 = np.float64, np.int64
        return {
            "n": StateField(i8),
            "m": StateField(f8),
            "v": StateField(f8),
            "f": StateField(f8),
            "lo": StateField(f8),
            "hi": StateField(f8),
            "sm": StateField(f8, (N_COMP,)),
            "mu": StateField(f8, (N_COMP,)),
            "var": StateField(f8, (N_COMP,)),
            "quiet": StateField(i8),
        }

    def _run(
        self, state: dict[str, npt.NDArray[Any]], s: IntArray, t: IntArray, v: FloatArray
    ) -> FloatArray:
        prm = np.array(
            [
                self.alpha,
                self.fast,
                self.huber,
                self.short,
                self.long,
                self.warmup,
                self.quiet,
                self.threshold,
                self.range_tol,
            ]
        )
        st = state
        out: FloatArray = _auto_kernel(
            s,
            v,
            st["n"],
            st["m"],
            st["v"],
            st["f"],
            st["lo"],
            st["hi"],
            st["sm"],
            st["mu"],
            st["var"],
            st["quiet"],
            prm,
        )
        return out

    def _ready(self, state: dict[str, npt.NDArray[Any]], s: IntArray) -> BoolArray:
        return np.asarray(state["n"][s] >= self.warmup)

    def _band(
        self, state: dict[str, npt.NDArray[Any]], s: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        sd = np.sqrt(np.maximum(state["v"][s], 0.0))
        return state["m"][s] - 4.0 * sd, state["m"][s] + 4.0 * sd
