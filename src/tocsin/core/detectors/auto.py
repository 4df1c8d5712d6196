"""The default detector (``kind: auto``): record-breaking evidence from a small robust ensemble.

One configuration for every series, no per-series tuning. Each observation feeds four surprise
measures; each is compared with the largest value that measure took over the recent history
(``block * nblocks`` observations), so the score is scale-free and comparable across series:

* **range** — how far the value falls outside the recent [min, max] range, in units of that range
  (Numenta's NAB detector adds the same "spatial anomaly" rule to HTM; Ahmad et al. 2017); the
  same rule is also applied to EWMA-smoothed copies of the stream (smoothing factors ``scales``,
  by default 1/4, 1/16, 1/64: time scales of about 4, 16 and 64 observations), so a sustained rise
  that never beats the spikes of the raw series still breaks the record of a coarser scale
  (multi-scale analysis in the spirit of Burt & Adelson's pyramid, 1983);
* **shift** — a fast EWMA against a slow Huber-clipped baseline, in baseline standard deviations
  (a level-shift statistic in the spirit of CUSUM, Page 1954; Huber 1964 for the clipped update);
* **shape** — distance from the newest short window (``window`` points, each the mean of ``agg``
  values, scaled to the series' range) to its nearest neighbour among the last ``history``
  windows: a pattern never seen before (nearest-neighbour novelty as in KNN-CAD, Burnaev &
  Ishimtsev 2016, and ARTime's window categories, Hampton 2021);
* **season** — |z| of the value against a robust mean and scale of its time-of-day bin (a
  per-phase baseline as in Holt-Winters, Winters 1960; time comes from the timestamps); the same
  over a weekly cycle is a fifth measure, off by default (weight 0: on NAB it raised more false
  alarms than it found anomalies).

A measure scores ``weight * value / record`` (0.5 at the record), the range measures
``weight * 0.5 * (1 + excess)`` (all scales share the range weight; 0.97 asks a record to be beaten
by about 3 % of the range); the observation's score is the largest, clipped to [0, 1]. A score at or
above ``threshold`` (0.5: a record) is a detection; after one, the series stays quiet for
``quiet_fraction`` of the observations it has seen (at least ``min_quiet``), because repeated
alarms on one episode add only noise (NAB, and a duty desk, reward the first alarm). Scores are 0
during the first ``warmup`` observations; nothing is scored from the future.

NaN policy: a NaN scores 0 and is not learned.

Example:
    >>> import numpy as np
    >>> t = np.arange(2000) * 300
    >>> v = np.sin(2 * np.pi * t / 86400) + 0.05 * np.random.default_rng(0).normal(size=2000)
    >>> v[1800] = 5.0
    >>> det = AutoDetector()
    >>> s = det.score_batch(np.zeros(2000, dtype=np.int64), t, v)
    >>> bool(s[1800] >= det.threshold)
    True
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from numba import njit

from tocsin.core.detectors.base import (
    ArrayDetector,
    FloatArray,
    IntArray,
    StateField,
    check_positive,
    check_unit,
)
from tocsin.core.detectors.kernels import scale_floor

N_COMP = 5  # range, shift, shape, day season, week season
DAY = 86400
WEEK = 7 * DAY


@njit(cache=True, inline="always")
def _robust_update(m, var, x, sd, z, alpha, huber, n):  # type: ignore[no-untyped-def]  # pragma: no cover
    """One Huber-clipped EWMA step (a running mean while 1/n > alpha); returns (m, var)."""
    a = max(alpha, 1.0 / (n + 1.0))
    r = max(-huber, min(huber, z)) * sd if n > 30 else x - m
    return m + a * r, (1.0 - a) * (var + a * r * r)


@njit(cache=True, inline="always")
def _season(k, t, x, sd, st_sm, st_sv, st_sc, period, huber, seasonal_alpha):  # type: ignore[no-untyped-def]  # pragma: no cover
    """|z| of ``x`` against its phase bin of ``period`` seconds; then learn the bin."""
    bins = st_sm.shape[1]
    b = ((t % period) * bins) // period
    out = 0.0
    if st_sc[k, b] == 0:
        st_sm[k, b] = x
    else:
        ssd = max(scale_floor(st_sv[k, b], st_sm[k, b]), 0.1 * sd)
        zz = (x - st_sm[k, b]) / ssd
        warm = st_sc[k, b] >= 3
        if warm:
            out = abs(zz)
        r = max(-huber, min(huber, zz)) * ssd if warm else x - st_sm[k, b]
        st_sm[k, b] += seasonal_alpha * r
        st_sv[k, b] = (1.0 - seasonal_alpha) * (st_sv[k, b] + seasonal_alpha * r * r)
    st_sc[k, b] += 1
    return out


@njit(cache=True)
def _features(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    k, t, x, n, st_m, st_v, st_f, st_lo, st_hi, st_buf, st_hist, st_cnt, st_sm, st_sv, st_sc,
    st_wm, st_wv, st_wc, raw, alpha, fast, huber, agg, seasonal_alpha,
):  # fmt: skip
    """Compute the shift, shape and season measures of ``x`` into ``raw``, then learn them."""
    dim = st_hist.shape[2]
    cap = st_hist.shape[1]
    span_len = dim * agg
    sd = scale_floor(st_v[k], st_m[k])
    z = (x - st_m[k]) / sd
    f = st_f[k] + fast * (x - st_f[k])
    raw[1] = abs(f - st_m[k]) / sd
    # shape: nearest past window
    for j in range(span_len - 1):
        st_buf[k, j] = st_buf[k, j + 1]
    st_buf[k, span_len - 1] = x
    span = st_hi[k] - st_lo[k]
    span = span if span > 1e-12 else 1e-12
    feat = np.empty(dim)
    for j in range(dim):
        acc = 0.0
        for a in range(agg):
            acc += st_buf[k, j * agg + a]
        feat[j] = (acc / agg - st_lo[k]) / span
    raw[2] = 0.0
    if n >= span_len:
        filled = min(st_cnt[k], cap)
        best = np.inf
        for h in range(filled):
            d2 = 0.0
            for j in range(dim):
                e = feat[j] - st_hist[k, h, j]
                d2 += e * e
            best = min(best, d2)
        if filled > 0:
            raw[2] = math.sqrt(best / dim)
        slot = st_cnt[k] % cap
        st_hist[k, slot, :] = feat
        st_cnt[k] += 1
    raw[3] = _season(k, t, x, sd, st_sm, st_sv, st_sc, DAY, huber, seasonal_alpha)
    raw[4] = _season(k, t, x, sd, st_wm, st_wv, st_wc, WEEK, huber, seasonal_alpha)
    # learn the baseline and the all-time range
    st_m[k], st_v[k] = _robust_update(st_m[k], st_v[k], x, sd, z, alpha, huber, n)
    st_f[k] = f
    st_lo[k] = min(st_lo[k], x)
    st_hi[k] = max(st_hi[k], x)


@njit(cache=True)
def _auto_kernel(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    s, t, v, st_n, st_m, st_v, st_f, st_lo, st_hi, st_buf, st_hist, st_cnt, st_sm, st_sv, st_sc,
    st_wm, st_wv, st_wc, st_bmax, st_bmin, st_e, st_emax, st_emin, st_quiet, wts, scales, alpha,
    fast, huber, agg, seasonal_alpha, block, burn, warmup, quiet_fraction, min_quiet, thr,
):  # fmt: skip
    """Score then learn each observation of a batch."""
    nblocks = st_bmin.shape[1]
    out = np.zeros(v.shape[0])
    raw = np.zeros(N_COMP)
    for i in range(v.shape[0]):
        k = s[i]
        x = v[i]
        if math.isnan(x):
            continue
        n = st_n[k]
        if n == 0:
            st_e[k, :] = x
            st_m[k] = x
            st_f[k] = x
            st_lo[k] = x
            st_hi[k] = x
        _features(
            k, t[i], x, n, st_m, st_v, st_f, st_lo, st_hi, st_buf, st_hist, st_cnt, st_sm, st_sv,
            st_sc, st_wm, st_wv, st_wc, raw, alpha, fast, huber, agg, seasonal_alpha,
        )  # fmt: skip
        slot = (n // block) % nblocks
        if n % block == 0:
            st_bmin[k, slot] = np.inf
            st_bmax[k, :, slot] = -np.inf
            st_emax[k, :, slot] = -np.inf
            st_emin[k, :, slot] = np.inf
        score = 0.0
        rhi = st_bmax[k, 0].max()
        rlo = st_bmin[k].min()
        if rhi >= rlo:
            excess = max(x - rhi, rlo - x) / max(rhi - rlo, 1e-12)
            if excess > 0:
                score = wts[0] * 0.5 * (1.0 + excess)
        # the same range rule on EWMA-smoothed copies of the stream (coarser time scales)
        for j in range(scales.shape[0]):
            e = st_e[k, j] + scales[j] * (x - st_e[k, j])
            st_e[k, j] = e
            ehi = st_emax[k, j].max()
            elo = st_emin[k, j].min()
            if n >= burn and ehi >= elo:
                excess = max(e - ehi, elo - e) / max(ehi - elo, 1e-12)
                if excess > 0:
                    score = max(score, wts[0] * 0.5 * (1.0 + excess))
            st_emax[k, j, slot] = max(st_emax[k, j, slot], e)
            st_emin[k, j, slot] = min(st_emin[k, j, slot], e)
        for c in range(1, N_COMP):
            record = st_bmax[k, c].max()
            if wts[c] > 0 and record > 0:
                score = max(score, wts[c] * 0.5 * raw[c] / record)
        score = min(score, 1.0)
        if st_quiet[k] > 0:
            st_quiet[k] -= 1
            score = 0.0
        elif score >= thr and n >= warmup:
            st_quiet[k] = max(min_quiet, int(quiet_fraction * n))
        if n >= warmup:
            out[i] = score
        st_bmax[k, 0, slot] = max(st_bmax[k, 0, slot], x)
        st_bmin[k, slot] = min(st_bmin[k, slot], x)
        if n >= burn:
            for c in range(1, N_COMP):
                st_bmax[k, c, slot] = max(st_bmax[k, c, slot], raw[c])
        st_n[k] = n + 1
    return out


class AutoDetector(ArrayDetector):
    """Record-breaking ensemble (multi-scale range, shift, shape, season), post-alarm quiet."""

    kind: ClassVar[str] = "auto"
    params: ClassVar[tuple[str, ...]] = (
        "alpha", "fast", "huber", "window", "agg", "history", "bins", "week_bins",
        "seasonal_alpha", "block", "nblocks", "burn", "warmup", "quiet_fraction", "min_quiet",
        "threshold", "weights", "scales",
    )  # fmt: skip

    def __init__(
        self,
        alpha: float = 0.02,
        fast: float = 0.1,
        huber: float = 3.0,
        window: int = 6,
        agg: int = 2,
        history: int = 256,
        bins: int = 96,
        week_bins: int = 168,
        seasonal_alpha: float = 0.2,
        block: int = 256,
        nblocks: int = 24,
        burn: int = 100,
        warmup: int = 300,
        quiet_fraction: float = 0.03,
        min_quiet: int = 0,
        threshold: float = 0.5,
        weights: tuple[float, ...] = (0.97, 0.9, 1.0, 1.0, 0.0),
        scales: tuple[float, ...] = (0.25, 0.0625, 0.015625),
    ) -> None:
        """Validate and store the hyperparameters."""
        for name, unit in (("alpha", alpha), ("seasonal_alpha", seasonal_alpha)):
            check_unit(name, unit)
        check_unit("fast", fast, closed=True)
        check_unit("threshold", threshold, closed=True)
        check_positive("huber", huber)
        for name, count in (
            ("window", window), ("agg", agg), ("history", history), ("bins", bins),
            ("week_bins", week_bins), ("block", block), ("nblocks", nblocks), ("warmup", warmup),
        ):  # fmt: skip
            check_positive(name, count)
        if burn < 0 or min_quiet < 0 or not 0.0 <= quiet_fraction < 1.0:
            raise ValueError("burn and min_quiet must be >= 0, 0 <= quiet_fraction < 1")
        if len(weights) != N_COMP or any(w < 0 for w in weights):
            raise ValueError(f"weights needs {N_COMP} non-negative entries")
        for a in scales:
            check_unit("scales", a, closed=True)
        self.alpha, self.fast, self.huber = float(alpha), float(fast), float(huber)
        self.window, self.agg, self.history = int(window), int(agg), int(history)
        self.bins, self.seasonal_alpha = int(bins), float(seasonal_alpha)
        self.week_bins = int(week_bins)
        self.block, self.nblocks, self.burn = int(block), int(nblocks), int(burn)
        self.warmup, self.min_quiet = int(warmup), int(min_quiet)
        self.quiet_fraction, self.threshold = float(quiet_fraction), float(threshold)
        self.weights = tuple(float(w) for w in weights)
        self.scales = tuple(float(a) for a in scales)

    def _fields(self) -> dict[str, StateField]:
        f8, i8 = np.float64, np.int64
        return {
            "n": StateField(i8),
            "m": StateField(f8),
            "v": StateField(f8),
            "f": StateField(f8),
            "lo": StateField(f8),
            "hi": StateField(f8),
            "buf": StateField(f8, (self.window * self.agg,)),
            "hist": StateField(f8, (self.history, self.window)),
            "cnt": StateField(i8),
            "sm": StateField(f8, (self.bins,)),
            "sv": StateField(f8, (self.bins,)),
            "sc": StateField(i8, (self.bins,)),
            "wm": StateField(f8, (self.week_bins,)),
            "wv": StateField(f8, (self.week_bins,)),
            "wc": StateField(i8, (self.week_bins,)),
            "bmax": StateField(f8, (N_COMP, self.nblocks), -np.inf),
            "bmin": StateField(f8, (self.nblocks,), np.inf),
            "e": StateField(f8, (len(self.scales),)),
            "emax": StateField(f8, (len(self.scales), self.nblocks), -np.inf),
            "emin": StateField(f8, (len(self.scales), self.nblocks), np.inf),
            "quiet": StateField(i8),
        }

    def _run(
        self, state: dict[str, npt.NDArray[Any]], s: IntArray, t: IntArray, v: FloatArray
    ) -> FloatArray:
        st = state
        out: FloatArray = _auto_kernel(
            s, t, v, st["n"], st["m"], st["v"], st["f"], st["lo"], st["hi"], st["buf"],
            st["hist"], st["cnt"], st["sm"], st["sv"], st["sc"], st["wm"], st["wv"], st["wc"],
            st["bmax"], st["bmin"], st["e"], st["emax"], st["emin"], st["quiet"],
            np.array(self.weights, dtype=np.float64), np.array(self.scales, dtype=np.float64),
            self.alpha, self.fast,
            self.huber, self.agg, self.seasonal_alpha, self.block, self.burn, self.warmup,
            self.quiet_fraction, self.min_quiet, self.threshold,
        )  # fmt: skip
        return out

    def _band(
        self, state: dict[str, npt.NDArray[Any]], s: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """The recent [min, max] range: a value outside it breaks a record."""
        hi = state["bmax"][s, 0].max(axis=1)
        lo = state["bmin"][s].min(axis=1)
        empty = ~np.isfinite(hi)
        hi[empty] = np.nan
        lo[empty] = np.nan
        return lo, hi
