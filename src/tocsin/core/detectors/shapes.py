"""Compiled pieces of ``auto`` that look at the shape of the series: windows, discords, periods.

* **Windowed discords.** A window of recent piecewise means (PAA, Keogh et al. 2001) is compared
  with every earlier window of a bounded history; its distance to the nearest one is a *left
  discord* score: large when the newest stretch of the series looks like nothing seen before
  (Yeh et al. 2016, matrix profile I; Lu, Wu, Mueen, Zuluaga & Keogh 2022, DAMP, which scores each
  subsequence only against the past). The history is a fixed ring of piecewise means — a bounded
  sketch of the past, not the whole past as in the matrix profile — so the state stays small.
  Windows that overlap the query are excluded (the trivial matches of the matrix profile).
* **Period from autocorrelation.** A pyramid of pairwise means (Burt & Adelson 1983) keeps, at
  each level, the autocorrelation of its means at lags ``LAG0 .. 2 LAG0 - 1``; together the levels
  cover lags from ``LAG0`` to thousands of observations on a logarithmic grid. The period is the
  first autocorrelation peak, after a trough, that comes close to the highest peak (the classic
  autocorrelation periodicity test, e.g. Vlachos, Yu & Castelli 2005, SDM); a series without one
  has no period. The period is learnt from the data, never assumed from timestamps.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tocsin.core.detectors.auto_state import PYRAMID_LAG0, PYRAMID_LEVELS, PYRAMID_RING
from tocsin.core.detectors.kernels import ewm_step

PYRAMID_RATE = 1.0 / 512.0  # the autocorrelation forgets over about 512 means of a level
MIN_CYCLES = 4  # a period must have been seen this many times in the pyramid
SIGNIFICANCE = 3.0  # an autocorrelation counts above SIGNIFICANCE / sqrt(number of products)
TROUGH = 0.3  # a peak must rise this much above the lowest autocorrelation at shorter lags
NEAR_BEST = 0.8  # the first peak within this fraction of the best one is the period


@njit(cache=True, inline="always")
def shift_in(ring, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Append ``x`` to a chronological ring (oldest first), dropping the oldest value."""
    for j in range(ring.shape[0] - 1):
        ring[j] = ring[j + 1]
    ring[ring.shape[0] - 1] = x


@njit(cache=True, inline="always")
def nearest_window(query, hist, fill, demean):  # type: ignore[no-untyped-def]  # pragma: no cover
    """RMS distance from ``query`` to its nearest window among the last ``fill`` values of ``hist``.

    Windows ending in the last ``len(query) - 1`` values of the history are excluded (when the
    history is learnt continuously they overlap the query: the trivial matches). With ``demean``
    each window is compared after removing its mean (shape only). Returns -1.0 when no window
    qualifies.
    """
    w = query.shape[0]
    size = hist.shape[0]
    first = size - min(fill, size)
    last = size - 2 * w + 1
    if last < first:
        return -1.0
    qmean = 0.0
    if demean:
        for j in range(w):
            qmean += query[j]
        qmean /= w
    best = np.inf
    for p in range(first, last + 1):
        hmean = 0.0
        if demean:
            for j in range(w):
                hmean += hist[p + j]
            hmean /= w
        d2 = 0.0
        for j in range(w):
            diff = (query[j] - qmean) - (hist[p + j] - hmean)
            d2 += diff * diff
            if d2 >= best:
                break
        best = min(best, d2)
    return math.sqrt(best / w)


@njit(cache=True, inline="always")
def _pyramid_push(st, level, y):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Add one mean to a pyramid level: its moments, its autocorrelations, its ring."""
    cnt = st.y_cnt[level]
    rate = max(PYRAMID_RATE, 1.0 / (cnt + 1.0))
    st.y_mu[level], st.y_var[level] = ewm_step(
        st.y_mu[level], st.y_var[level], rate, y - st.y_mu[level]
    )
    mu = st.y_mu[level]
    for k in range(PYRAMID_LAG0):
        lag = PYRAMID_LAG0 + k
        if cnt >= lag:
            prod = (y - mu) * (st.y_ring[level, PYRAMID_RING - lag] - mu)
            st.y_cov[level, k] += max(PYRAMID_RATE, 1.0 / (cnt - lag + 1.0)) * (
                prod - st.y_cov[level, k]
            )
    for j in range(PYRAMID_RING - 1):
        st.y_ring[level, j] = st.y_ring[level, j + 1]
    st.y_ring[level, PYRAMID_RING - 1] = y
    st.y_cnt[level] = cnt + 1


@njit(cache=True, inline="always")
def pyramid_step(st, y):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Feed one observation (relative to ``ref``) into the autocorrelation pyramid."""
    for level in range(PYRAMID_LEVELS):
        _pyramid_push(st, level, y)
        if st.y_half[level] == 0:
            st.y_acc[level] = y
            st.y_half[level] = 1
            return
        y = 0.5 * (st.y_acc[level] + y)
        st.y_half[level] = 0


@njit(cache=True, inline="always")
def detected_period(st, min_acf):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The period (observations) from the pyramid's autocorrelations, or 0.0 if there is none."""
    n = PYRAMID_LEVELS * PYRAMID_LAG0
    r = np.full(n, np.nan)
    bar = np.full(n, np.inf)
    for level in range(PYRAMID_LEVELS):
        var = st.y_var[level]
        for k in range(PYRAMID_LAG0):
            lag = PYRAMID_LAG0 + k
            if var > 0.0 and st.y_cnt[level] >= MIN_CYCLES * lag:
                r[level * PYRAMID_LAG0 + k] = st.y_cov[level, k] / var
                products = min(st.y_cnt[level] - lag, 1.0 / PYRAMID_RATE)
                bar[level * PYRAMID_LAG0 + k] = max(min_acf, SIGNIFICANCE / math.sqrt(products))
    low = np.inf
    best = -np.inf
    for i in range(1, n - 1):
        if not math.isnan(r[i - 1]):
            low = min(low, r[i - 1])
        if _is_peak(r, i, low, bar[i]):
            best = max(best, r[i])
    if best == -np.inf:
        return 0.0
    low = np.inf
    for i in range(1, n - 1):
        if not math.isnan(r[i - 1]):
            low = min(low, r[i - 1])
        if _is_peak(r, i, low, bar[i]) and r[i] >= NEAR_BEST * best:
            return float((PYRAMID_LAG0 + i % PYRAMID_LAG0) * 2 ** (i // PYRAMID_LAG0))
    return 0.0


@njit(cache=True, inline="always")
def _is_peak(r, i, low, min_acf):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """A local maximum of the autocorrelation, high enough and above a trough before it."""
    x = r[i]
    left = r[i - 1]
    right = r[i + 1]
    if math.isnan(x) or math.isnan(left) or math.isnan(right):
        return False
    return x >= min_acf and x - low >= TROUGH and x >= left and x >= right
