"""Compiled element-wise kernels of the index engine: rounding, normalisation, aggregation.

Every kernel works on 1-D float64 arrays (one value per region), NaN meaning missing, in one pass
(numba), so an INFORM-sized tree evaluates over a million grid cells in well under a second.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_NEAR_HALF = 1e-9


@njit(cache=True)
def _round_one(v: float, p: float) -> float:  # pragma: no cover - compiled
    a = abs(v)
    s = a * p
    base = math.floor(s)
    frac = s - base
    if abs(frac - 0.5) > _NEAR_HALF:
        k = base + 1.0 if frac > 0.5 else base
    else:
        # Excel rounds the value to 15 significant digits before ROUND: a value within half a
        # unit of the 15th digit of the boundary is on it, and rounds away from zero.
        e = math.floor(math.log10(a))
        tol = 0.5 * 10.0 ** (e - 14) * p
        k = math.floor(s + 0.5 + tol)
    r = k / p
    if r == 0.0:
        return 0.0
    return r if v > 0 else -r


@njit(cache=True)
def round_half_up(x: FloatArray, decimals: int) -> FloatArray:  # pragma: no cover - compiled
    """Round half away from zero to `decimals`, as Excel's ROUND (15 significant digits first)."""
    out = np.empty_like(x)
    p = 10.0**decimals
    for i in range(x.size):
        v = x[i]
        if v != v or v == 0.0 or math.isinf(v):
            out[i] = 0.0 if v == 0.0 else v
        else:
            out[i] = _round_one(v, p)
    return out


@njit(cache=True)
def normalise_bounds(  # pragma: no cover - compiled
    x: FloatArray,
    lower: float,
    upper: float,
    higher_is_worse: bool,
    clip: bool,
    log10: bool,
    out_lower: float,
    out_upper: float,
) -> FloatArray:
    """Min–max normalisation against fixed bounds (optionally on log10), as INFORM writes it."""
    out = np.empty_like(x)
    width = upper - lower
    span = out_upper - out_lower
    for i in range(x.size):
        v = x[i]
        if log10:
            if v > 0.0:
                v = math.log10(v)
            elif v == 0.0:
                v = -math.inf
            else:
                v = math.nan
        if v != v:
            out[i] = math.nan
        elif clip and v > upper:
            out[i] = out_upper if higher_is_worse else out_lower
        elif clip and v < lower:
            out[i] = out_lower if higher_is_worse else out_upper
        elif higher_is_worse:
            out[i] = out_upper - (upper - v) / width * span
        else:
            out[i] = out_lower + (upper - v) / width * span
    return out


@njit(cache=True)
def aggregate(  # pragma: no cover - compiled
    values: tuple[FloatArray, ...],
    coverage: tuple[FloatArray, ...],
    weights: FloatArray,
    method: int,
    propagate: bool,
    min_present: int,
    scale: float,
    offset: float,
) -> tuple[FloatArray, FloatArray]:
    """Aggregate children per region; returns (value, coverage).

    Methods (codes of `Method`): 0 weighted mean, 1 weighted geometric mean, 2 INFORM's reversed
    geometric mean `(S/(S−o))·(S − GM((S − x)/S·(S−o) + o))`, 3 max, 4 min, 5 weighted sum,
    6 product `Π x^w`.
    Missing children are skipped (weights renormalised over those present) unless `propagate`;
    fewer than `min_present` present children give a missing value. Coverage is the weighted
    mean of the children's coverage, counting missing children as 0.
    """
    k = len(values)
    n = values[0].size
    out = np.empty(n)
    cov = np.empty(n)
    wtotal = 0.0
    for j in range(k):
        wtotal += weights[j]
    for i in range(n):
        acc = 0.0
        wsum = 0.0
        count = 0
        best = math.nan
        prod = 1.0
        cacc = 0.0
        for j in range(k):
            v = values[j][i]
            w = weights[j]
            if v != v:
                continue
            cacc += w * coverage[j][i]
            count += 1
            wsum += w
            if method == 0 or method == 5:
                acc += w * v
            elif method == 1:
                acc += w * math.log(v) if v > 0.0 else (-math.inf if v == 0.0 else math.nan)
            elif method == 2:
                acc += w * math.log((scale - v) / scale * (scale - offset) + offset)
            elif method == 6:
                prod *= v**w
            elif method == 3:
                if best != best or v > best:
                    best = v
            elif best != best or v < best:
                best = v
        cov[i] = cacc / wtotal if wtotal > 0.0 else 0.0
        if count < min_present or count == 0 or (propagate and count < k):
            out[i] = math.nan
        elif method == 0:
            out[i] = acc / wsum
        elif method == 1:
            out[i] = math.exp(acc / wsum)
        elif method == 2:
            out[i] = (scale - math.exp(acc / wsum)) / (scale - offset) * scale
        elif method == 5:
            out[i] = acc
        elif method == 6:
            out[i] = prod
        else:
            out[i] = best
    return out, cov
