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
N_COMP = 4


@njit(cache=True, inline="always")
def _tail_score(z: float) -> float:  # pragma: no cover - compiled
    """Upper-tail probability of z mapped to [0, 1] on a log scale (1 = p <= 1e-12)."""
    p = 0.5 * math.erfc(z / math.sqrt(2.0))
    if p < LOG_FLOOR:
        return 1.0
    return math.log(p) / math.log(LOG_FLOOR)


@njit(cache=True)
def _auto_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    s,
    v,
    st_n,
    st_m,
    st_v,
    st_f,
    st_lo,
    st_hi,
    st_rec,
    st_quiet,
    st_buf,
    st_hist,
    st_cnt,
    st_bmax,
    st_bmin,
    prm,
    wts,
):
    """Score then learn each observation; ``prm`` holds the float hyperparameters."""
    alpha, fast, huber, _decay, burn, warmup, quiet, thr, tol = (
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
    stride = int(prm[9])
    block = int(prm[10])
    hold = int(prm[11])
    nblocks = st_bmax.shape[2]
    dim = st_buf.shape[1]
    cap = st_hist.shape[1]
    out = np.zeros(v.shape[0])
    raw = np.zeros(N_COMP)
    feat = np.zeros(dim)
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
        sd = scale_floor(st_v[k], st_m[k])
        z = (x - st_m[k]) / sd
        f_new = st_f[k] + fast * (x - st_f[k])
        span = st_hi[k] - st_lo[k]
        span = span if span > 1e-12 else 1e-12
        # recent range (block extremes over the last nblocks * block rows)
        slot_b = (n // block) % nblocks
        if n % block == 0:
            st_bmin[k, slot_b] = np.inf
            for c in range(N_COMP):
                st_bmax[k, c, slot_b] = -np.inf
        rhi = -np.inf
        rlo = np.inf
        for b in range(nblocks):
            rhi = max(rhi, st_bmax[k, 0, b])
            rlo = min(rlo, st_bmin[k, b])
        if rhi >= rlo:
            rspan = rhi - rlo if rhi - rlo > 1e-12 else 1e-12
            raw[0] = max(x - rhi, rlo - x) / rspan
        else:
            raw[0] = 0.0
        raw[1] = abs(z)
        raw[2] = abs(f_new - st_m[k]) / sd
        # window novelty: nearest neighbour of the newest window among past windows
        for j in range(dim - 1):
            st_buf[k, j] = st_buf[k, j + 1]
        st_buf[k, dim - 1] = x
        for j in range(dim):
            feat[j] = (st_buf[k, j] - st_lo[k]) / span
        filled = min(st_cnt[k], cap)
        best = 1e300
        for h in range(filled):
            d2 = 0.0
            for j in range(dim):
                e = feat[j] - st_hist[k, h, j]
                d2 += e * e
            best = min(best, d2)
        raw[3] = math.sqrt(best / dim) if filled > 0 else 0.0
        score = 0.0
        for c in range(N_COMP):
            if c == 0:
                q = 1.0 + raw[0] - tol if raw[0] > 0 else 0.0
            else:
                rec = -np.inf
                for b in range(nblocks):
                    rec = max(rec, st_bmax[k, c, b])
                q = raw[c] / rec if rec > 0 else 0.0
            score = max(score, wts[c] * 0.5 * q)
        score = min(score, 1.0)
        holding = False
        if st_quiet[k] > 0:
            st_quiet[k] -= 1
            holding = quiet - st_quiet[k] <= hold
            score = 0.0
        elif score >= thr and n >= warmup:
            st_quiet[k] = quiet
            holding = hold > 0
        if n >= warmup:
            out[i] = score
        # learn
        if not holding:
            st_bmax[k, 0, slot_b] = max(st_bmax[k, 0, slot_b], x)
            st_bmin[k, slot_b] = min(st_bmin[k, slot_b], x)
        if n >= burn and not holding:
            for c in range(1, N_COMP):
                st_bmax[k, c, slot_b] = max(st_bmax[k, c, slot_b], raw[c])
        if n >= dim and n % stride == 0:
            slot = st_cnt[k] % cap
            for j in range(dim):
                st_hist[k, slot, j] = feat[j]
            st_cnt[k] += 1
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
        "alpha", "fast", "huber", "decay", "burn", "warmup", "quiet", "threshold", "range_tol",
        "stride", "window", "history", "weights", "block", "nblocks", "hold",
    )  # fmt: skip

    def __init__(
        self,
        alpha: float = 0.02,
        fast: float = 0.2,
        huber: float = 3.0,
        decay: float = 0.0,
        burn: int = 50,
        warmup: int = 300,
        quiet: int = 200,
        threshold: float = 0.5,
        range_tol: float = 0.0,
        stride: int = 1,
        window: int = 8,
        history: int = 256,
        weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0),
        block: int = 256,
        nblocks: int = 32,
        hold: int = 0,
    ) -> None:
        """Validate and store the hyperparameters."""
        for name, val in (("alpha", alpha), ("fast", fast)):
            check_unit(name, val, closed=name == "fast")
        check_positive("huber", huber)
        for name, ival in (
            ("warmup", warmup),
            ("stride", stride),
            ("window", window),
            ("history", history),
        ):
            check_positive(name, ival)
        check_unit("threshold", threshold, closed=True)
        if quiet < 0 or range_tol < 0 or burn < 0 or not 0 <= decay < 1:
            raise ValueError("quiet, burn, range_tol must be >= 0 and 0 <= decay < 1")
        if len(weights) != N_COMP:
            raise ValueError(f"weights needs {N_COMP} entries")
        self.alpha, self.fast, self.huber = float(alpha), float(fast), float(huber)
        self.decay, self.burn = float(decay), int(burn)
        self.warmup, self.quiet = int(warmup), int(quiet)
        self.threshold, self.range_tol = float(threshold), float(range_tol)
        self.stride, self.window, self.history = int(stride), int(window), int(history)
        self.weights = tuple(float(w) for w in weights)
        self.block, self.nblocks, self.hold = int(block), int(nblocks), int(hold)

    def _fields(self) -> dict[str, StateField]:
        f8, i8 = np.float64, np.int64
        return {
            "n": StateField(i8),
            "m": StateField(f8),
            "v": StateField(f8),
            "f": StateField(f8),
            "lo": StateField(f8),
            "hi": StateField(f8),
            "rec": StateField(f8, (N_COMP,)),
            "quiet": StateField(i8),
            "buf": StateField(f8, (self.window,)),
            "hist": StateField(f8, (self.history, self.window)),
            "cnt": StateField(i8),
            "bmax": StateField(f8, (N_COMP, self.nblocks), -np.inf),
            "bmin": StateField(f8, (self.nblocks,), np.inf),
        }

    def _run(
        self, state: dict[str, npt.NDArray[Any]], s: IntArray, t: IntArray, v: FloatArray
    ) -> FloatArray:
        prm = np.array(
            [
                self.alpha,
                self.fast,
                self.huber,
                self.decay,
                self.burn,
                self.warmup,
                self.quiet,
                self.threshold,
                self.range_tol,
                self.stride,
                self.block,
                self.hold,
            ],
            dtype=np.float64,
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
            st["rec"],
            st["quiet"],
            st["buf"],
            st["hist"],
            st["cnt"],
            st["bmax"],
            st["bmin"],
            prm,
            np.array(self.weights, dtype=np.float64),
        )
        return out

    def _ready(self, state: dict[str, npt.NDArray[Any]], s: IntArray) -> BoolArray:
        return np.asarray(state["n"][s] >= self.warmup)

    def _band(
        self, state: dict[str, npt.NDArray[Any]], s: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        sd = np.sqrt(np.maximum(state["v"][s], 0.0))
        return state["m"][s] - 4.0 * sd, state["m"][s] + 4.0 * sd
