"""Compiled element-wise kernels of the index engine: rounding, normalisation, aggregation.

Every kernel works on 1-D float64 arrays (one value per region), NaN meaning missing, in one pass
(numba), and rounds in the same pass when asked (`decimals` ≥ 0), so an INFORM-sized tree
evaluates over a million grid cells in well under a second.

Rounding is Excel's ROUND: half away from zero, on the value first rounded to 15 significant
digits. A value within half a unit of the 15th significant digit of a rounding boundary *is* on
the boundary (that is how a binary value such as 1.15 = 1.149999999999999911… rounds up to 1.2).
The kernel rounds with `k = floor(|x|·10^d + 0.5)` and, only for values less than 1e-9 below a
half (in units of the last kept decimal), decides with
`k = floor(|x|·10^d + 0.5 + ½·10^(e−14)·10^d)`, `e = floor(log10 |x|)`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_NEAR_HALF = 1e-9
_POW10_OFFSET = 340
_POW10 = np.array([10.0**i for i in range(-_POW10_OFFSET, 309)], dtype=np.float64)


@njit(cache=True, inline="always")
def _round(v: float, decimals: int, p: float) -> float:  # pragma: no cover - compiled
    if decimals < 0 or v != v or v == 0.0 or math.isinf(v):
        return v
    a = abs(v)
    s = a * p
    k = math.floor(s + 0.5)
    below = 0.5 - (s - math.floor(s))
    if 0.0 < below < _NEAR_HALF:
        # just below a half: decide as Excel does, on 15 significant digits
        e10 = math.floor(math.log10(a))
        k = math.floor(s + 0.5 + 0.5 * _POW10[e10 - 14 + _POW10_OFFSET] * p)
    r = k / p
    if r == 0.0:
        return 0.0
    return r if v > 0 else -r


@njit(cache=True, nogil=True)
def round_half_up(x: FloatArray, decimals: int) -> FloatArray:  # pragma: no cover - compiled
    """Round half away from zero to `decimals`, as Excel's ROUND (15 significant digits first)."""
    out = np.empty_like(x)
    p = 10.0**decimals
    for i in range(x.size):
        out[i] = _round(x[i], decimals, p)
    return out


@njit(cache=True, nogil=True)
def normalise_bounds(  # pragma: no cover - compiled
    x: FloatArray,
    lower: float,
    upper: float,
    higher_is_worse: bool,
    clip: bool,
    log10: bool,
    out_lower: float,
    out_upper: float,
    decimals: int,
) -> FloatArray:
    """Min–max normalisation against fixed bounds (optionally on log10), as INFORM writes it:
    `out_upper − (upper − v)/(upper − lower)·span` (higher is worse) or
    `out_lower + (upper − v)/(upper − lower)·span` (higher is better); then rounded to
    `decimals` (none if < 0)."""
    out = np.empty_like(x)
    p = 10.0**decimals
    width = upper - lower
    span = out_upper - out_lower
    top = out_upper if higher_is_worse else out_lower
    bottom = out_lower if higher_is_worse else out_upper
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
            out[i] = top
        elif clip and v < lower:
            out[i] = bottom
        elif higher_is_worse:
            out[i] = _round(out_upper - (upper - v) / width * span, decimals, p)
        else:
            out[i] = _round(out_lower + (upper - v) / width * span, decimals, p)
    return out


@njit(cache=True, nogil=True)
def aggregate(  # pragma: no cover - compiled
    values: tuple[FloatArray, ...],
    coverage: tuple[FloatArray, ...],
    weights: FloatArray,
    method: int,
    propagate: bool,
    min_present: int,
    scale: float,
    offset: float,
    decimals: int,
) -> tuple[FloatArray, FloatArray]:
    """Aggregate children per region, rounding to `decimals` (none if < 0); (value, coverage).

    Methods (codes of `Method`): 0 weighted mean, 1 weighted geometric mean, 2 INFORM's reversed
    geometric mean `(S/(S−o))·(S − GM((S − x)/S·(S−o) + o))`, 3 max, 4 min, 5 weighted sum,
    6 product `Π x^w`. Missing children are skipped (weights renormalised over those present)
    unless `propagate`; fewer than `min_present` present children give a missing value. Coverage
    is the weighted mean of the children's coverage, counting missing children as 0. With equal
    weights the geometric means are computed as (Π u)^(1/n) (a square root for two values).
    """
    k = len(values)
    n = values[0].size
    out = np.empty(n)
    cov = np.empty(n)
    p = 10.0**decimals
    wtotal = 0.0
    equal = True
    for j in range(k):
        wtotal += weights[j]
        equal = equal and weights[j] == weights[0]
    for i in range(n):
        acc = 0.0
        prod = 1.0
        wsum = 0.0
        count = 0
        best = math.nan
        cacc = 0.0
        for j in range(k):
            v = values[j][i]
            if v != v:
                continue
            w = weights[j]
            cacc += w * coverage[j][i]
            count += 1
            wsum += w
            if method == 0 or method == 5:
                acc += w * v
            elif method == 1 or method == 2:
                u = v if method == 1 else (scale - v) / scale * (scale - offset) + offset
                if equal:
                    prod *= u
                elif u > 0.0:
                    acc += w * math.log(u)
                else:
                    acc += -math.inf if u == 0.0 else math.nan
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
            continue
        if method == 0:
            r = acc / wsum
        elif method == 1 or method == 2:
            if not equal:
                gm = math.exp(acc / wsum)
            elif count == 1:
                gm = prod
            elif count == 2:
                gm = math.sqrt(prod)
            else:
                gm = prod ** (1.0 / count)
            r = gm if method == 1 else (scale - gm) / (scale - offset) * scale
        elif method == 5:
            r = acc
        elif method == 6:
            r = prod
        else:
            r = best
        out[i] = _round(r, decimals, p)
    return out, cov
