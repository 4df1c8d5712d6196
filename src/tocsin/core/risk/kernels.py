"""Compiled element-wise kernels of the index engine: rounding, normalisation, aggregation.

Every kernel works on 1-D float64 arrays (one value per region), NaN meaning missing. The inner
loops are written with selects rather than branches, one output per loop and no calls in hot
loops, so that the compiler vectorises them; rounding runs in the normalisation and aggregation
kernels themselves.

Rounding is Excel's ROUND: half away from zero, on the value first rounded to 15 significant
digits. A value within half a unit of the 15th significant digit of a rounding boundary *is* on
the boundary (that is how a binary value such as 1.15 = 1.149999999999999911… rounds up to 1.2).
The kernel rounds with `k = floor(|x|·10^d + 0.5)` and, only for values just below a half (by
less than 1e-9 + 1e-13·|x|·10^d, in units of the last kept decimal), decides with
`k = floor(|x|·10^d + 0.5 + ½·10^(e−14)·10^d)`, `e = floor(log10 |x|)` (found in a table of
powers of ten).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_NEAR_HALF = 1e-9
_EXACT = 9.0e18  # at or above this (scaled), values are returned unchanged (int64 limit)
_POW10_OFFSET = 340
_POW10 = np.array([10.0**i for i in range(-_POW10_OFFSET, 309)], dtype=np.float64)


@njit(cache=True, error_model="numpy")
def _two_product(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """a·b as an unevaluated sum (p, e) with p + e exact (Dekker 1971, Veltkamp splitting)."""
    prod = a * b
    c = 134217729.0 * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = 134217729.0 * b
    b_hi = c - (c - b)
    b_lo = b - b_hi
    err = ((a_hi * b_hi - prod) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return prod, err


@njit(cache=True, error_model="numpy")
def _excel_boundary(a: float, decimals: int, p: float) -> float:  # pragma: no cover - compiled
    """|ROUND(a, decimals)| for a value `a` > 0 near a half or with more than 15 significant
    digits up to the rounding position, as Excel rounds: the
    value is first rounded to 15 significant digits, so it rounds up if it lies within half a
    unit of the 15th digit of the boundary. Distances are computed exactly (error-free product).
    """
    e10 = 0
    while e10 < 308 and a >= _POW10[e10 + 1 + _POW10_OFFSET]:
        e10 += 1
    while e10 > -_POW10_OFFSET + 14 and a < _POW10[e10 + _POW10_OFFSET]:
        e10 -= 1
    j = e10 - 14 + decimals  # position of the 15th significant digit relative to the last kept
    prod, err = _two_product(a, p)
    ti = int(prod)
    frac = (prod - float(ti)) + err  # the exact fraction of a·10^decimals (up to one rounding)
    if frac < 0.0:
        ti -= 1
        frac += 1.0
    t = float(ti)
    if j > 0:  # the kept digits go beyond the 15th: rounding to 15 digits is the whole rounding
        unit = 1
        for _ in range(j):
            unit *= 10
        rest = float(ti % unit) + frac
        k15 = float(ti // unit + (1 if rest >= 0.5 * unit else 0))  # 15 digits, exact
        shift = decimals - j  # the result is k15 / 10^shift: one correctly rounded operation
        scale = float(_POW10[abs(shift) + _POW10_OFFSET])
        return k15 / scale if shift >= 0 else k15 * scale
    if j == 0:  # the last kept digit is the 15th
        return (t + 1.0 if frac >= 0.5 else t) / p
    tol = 0.5 * _POW10[j + _POW10_OFFSET]  # half a unit of the 15th digit, in units of k
    return (t + 1.0 if frac >= 0.5 or 0.5 - frac <= tol else t) / p


@njit(cache=True, nogil=True, error_model="numpy")
def _round_inplace(x: FloatArray, decimals: int) -> FloatArray:  # pragma: no cover - compiled
    """Round `x` in place (nothing if decimals < 0) and return it. A first pass counts the
    values that need Excel's 15-digit rule (just below a half, or huge), a rare second pass
    remembers them, a third rounds everything half up, a last one redoes the remembered ones.
    No arrays of the full length are allocated (allocation is what costs most here)."""
    if decimals < 0:
        return x
    p = 10.0**decimals
    n = x.size
    near = 0
    for i in range(n):
        v = x[i]
        s = abs(v) * p
        ok = (s < _EXACT) & (v != 0.0)  # bitwise: no branches in hot loops
        below = 0.5 - (s - float(int(s if ok else 0.0)))
        lim = _NEAR_HALF + 1e-13 * s
        near += 1 if ok & (((below > 0.0) & (below < lim)) | (s >= 1e14)) else 0
    idx = np.empty(near, dtype=np.int64)
    saved = np.empty(near)
    if near > 0:
        q = 0
        for i in range(n):  # no calls in this loop: a call makes the whole loop slow
            v = x[i]
            s = abs(v) * p
            ok = (s < _EXACT) & (v != 0.0)
            below = 0.5 - (s - float(int(s if ok else 0.0)))
            lim = _NEAR_HALF + 1e-13 * s
            if ok & (((below > 0.0) & (below < lim)) | (s >= 1e14)):
                idx[q] = i
                saved[q] = v
                q += 1
    for i in range(n):
        v = x[i]
        s = abs(v) * p
        ok = (s < _EXACT) & (v != 0.0)
        t = float(int(s if ok else 0.0))
        k = t + 1.0 if s - t >= 0.5 else t
        r = k / p
        r = r if v > 0.0 else -r
        r = r if r != 0.0 else 0.0
        x[i] = r if ok else v
    for j in range(near):
        v = saved[j]
        r = _excel_boundary(abs(v), decimals, p)
        x[idx[j]] = r if v > 0.0 else -r
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def round_half_up(x: FloatArray, decimals: int) -> FloatArray:  # pragma: no cover - compiled
    """Round half away from zero to `decimals`, as Excel's ROUND (15 significant digits first)."""
    return _round_inplace(x.copy(), decimals)


@njit(cache=True, nogil=True, error_model="numpy")
def presence(x: FloatArray) -> FloatArray:  # pragma: no cover - compiled
    """1.0 where a value is present, 0.0 where it is missing (NaN)."""
    out = np.empty(x.size)
    for i in range(x.size):
        v = x[i]
        out[i] = 1.0 if v == v else 0.0
    return out


@njit(cache=True, nogil=True, error_model="numpy")
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
    `decimals` (none if < 0). On log10, 0 is below any bound and negative values are missing."""
    n = x.size
    out = np.empty(n)
    width = upper - lower
    span = out_upper - out_lower
    top = out_upper if higher_is_worse else out_lower
    bottom = out_lower if higher_is_worse else out_upper
    src = x
    if log10:
        for i in range(n):
            v = x[i]
            out[i] = math.log10(v) if v > 0.0 else (-math.inf if v == 0.0 else math.nan)
        src = out
    sign = -1.0 if higher_is_worse else 1.0
    base = out_upper if higher_is_worse else out_lower
    lo_clip = lower if clip else -math.inf
    hi_clip = upper if clip else math.inf
    for i in range(n):
        v = src[i]
        # base ∓ (upper − v)/width·span, in the order of operations INFORM's workbook uses
        s = base + sign * ((upper - v) / width * span)
        out[i] = top if v > hi_clip else (bottom if v < lo_clip else s)
    return _round_inplace(out, decimals)


@njit(cache=True, nogil=True, error_model="numpy")
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
    work: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Aggregate children per region, rounding to `decimals` (none if < 0); (value, coverage).

    `work` is scratch space of shape (2, ≥ n), reused between calls.

    Methods (codes of `Method`): 0 weighted mean, 1 weighted geometric mean, 2 INFORM's reversed
    geometric mean `(S/(S−o))·(S − GM((S − x)/S·(S−o) + o))`, 3 max, 4 min, 5 weighted sum,
    6 product `Π x^w`. Missing children are skipped (weights renormalised over those present)
    unless `propagate`; fewer than `min_present` present children give a missing value. Coverage
    is the weighted mean of the children's coverage, counting missing children as 0. With equal
    weights the geometric means are computed as (Π u)^(1/n) (a square root for two values).
    Children are combined in their order, so results do not depend on the number of regions.
    """
    k = len(values)
    n = values[0].size
    wtotal = 0.0
    equal = True
    for j in range(k):
        wtotal += weights[j]
        equal = equal and weights[j] == weights[0]
    inv_total = 1.0 / wtotal if wtotal > 0.0 else 0.0
    # one output per loop: the compiler vectorises these, not a loop with several outputs
    count = work[0, :n]
    for i in range(n):
        c = 0.0
        for j in range(k):
            v = values[j][i]
            c += 1.0 if v == v else 0.0
        count[i] = c
    if equal and weights[0] == 1.0:
        wsum = count  # the sum of unit weights present is the count, exactly
    else:
        wsum = work[1, :n]
        for i in range(n):
            ws = 0.0
            for j in range(k):
                v = values[j][i]
                ws += weights[j] if v == v else 0.0
            wsum[i] = ws
    cov = np.empty(n)
    for i in range(n):
        ca = 0.0
        for j in range(k):
            v = values[j][i]
            cv = coverage[j][i]
            ca += weights[j] * cv if v == v else 0.0
        cov[i] = ca * inv_total
    acc = np.empty(n)
    if method == 0 or method == 5:
        for i in range(n):
            a = 0.0
            for j in range(k):
                v = values[j][i]
                a += weights[j] * v if v == v else 0.0
            acc[i] = a
    elif method == 2 and equal:
        for i in range(n):
            a = 1.0
            for j in range(k):
                v = values[j][i]
                a *= (scale - v) / scale * (scale - offset) + offset if v == v else 1.0
            acc[i] = a
    elif method == 1 and equal:
        for i in range(n):
            a = 1.0
            for j in range(k):
                v = values[j][i]
                a *= v if v == v else 1.0
            acc[i] = a
    elif method == 1 or method == 2:
        for i in range(n):
            a = 0.0
            for j in range(k):
                v = values[j][i]
                if v == v:
                    u = v if method == 1 else (scale - v) / scale * (scale - offset) + offset
                    a += weights[j] * (
                        math.log(u) if u > 0.0 else (-math.inf if u == 0.0 else math.nan)
                    )
            acc[i] = a
    elif method == 6:
        for i in range(n):
            a = 1.0
            for j in range(k):
                v = values[j][i]
                a *= v ** weights[j] if v == v else 1.0
            acc[i] = a
    else:
        for i in range(n):
            b = math.nan
            for j in range(k):
                v = values[j][i]
                better = v > b if method == 3 else v < b
                b = v if v == v and (b != b or better) else b
            acc[i] = b
    out = acc  # finished in place; one simple loop per case (calls kept out of hot loops)
    if method == 0:
        for i in range(n):
            out[i] = acc[i] / wsum[i]
    elif (method == 1 or method == 2) and not equal:
        for i in range(n):
            out[i] = math.exp(acc[i] / wsum[i])
    elif method == 1 or method == 2:
        for i in range(n):
            c = count[i]
            a = acc[i]
            r2 = math.sqrt(a)
            out[i] = r2 if c == 2.0 else (math.sqrt(r2) if c == 4.0 else a)
        if k > 2:
            for i in range(n):
                c = count[i]
                if c > 2.0 and c != 4.0:
                    out[i] = acc[i] ** (1.0 / c)
    if method == 2:
        for i in range(n):
            out[i] = (scale - out[i]) / (scale - offset) * scale
    if method != 0 or min_present > 1 or propagate:  # a mean of nothing is already 0/0 = NaN
        for i in range(n):
            c = count[i]
            missing = (c < min_present) | (c == 0.0) | (propagate & (c < k))
            out[i] = math.nan if missing else out[i]
    return _round_inplace(out, decimals), cov
