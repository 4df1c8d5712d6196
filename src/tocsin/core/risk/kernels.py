"""Compiled element-wise kernels of the index engine: rounding, normalisation, aggregation.

Every kernel works on float64 arrays (one value per region), NaN meaning missing, and writes its
result into an array it is given. Each has exactly one signature whatever the shape of the model:
an aggregate reads its children as rows of one 2-D *frame* (`frame[rows[j]]`), never as a tuple
of arrays, so a model with a new number of children never triggers a compilation; the kernels are
compiled once and then loaded from numba's cache. Small tables do not use them at all
(`kernels_numpy` has the same operations in numpy, bit for bit; `evaluate` picks by size).

The inner loops are written with selects rather than branches, one output per loop and no calls
in hot loops, so that the compiler vectorises them; rounding runs inside the kernels.

Rounding is Excel's ROUND (`rounding`): the kernel rounds with `k = floor(|x|·10^d + 0.5)` and,
only for values just below a half (by less than 1e-9 + 1e-13·|x|·10^d, in units of the last kept
decimal) or with 15 digits or more before the rounding position, decides with
`rounding.excel_boundary` (compiled from the same Python function).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from tocsin.core.risk import kernel_rows
from tocsin.core.risk.kernel_rows import GEOMETRIC, INFORM_GEOMETRIC, MAX, MEAN, MIN, PRODUCT, SUM
from tocsin.core.risk.rounding import EXACT, NEAR_HALF, excel_boundary

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = [  # the kernels, and the operator codes (`kernel_rows`) they are read with
    "CHUNK",
    "GEOMETRIC",
    "INFORM_GEOMETRIC",
    "MAX",
    "MEAN",
    "MIN",
    "PRODUCT",
    "SUM",
    "aggregate_rows",
    "normalise_bounds",
    "presence",
    "round_half_up",
    "round_into",
]

CHUNK = 1024
"""Regions per chunk in `aggregate_rows` (children are streamed chunk by chunk)."""

_excel_boundary = njit(cache=True, error_model="numpy")(excel_boundary)
_operator_terms = njit(cache=True, error_model="numpy")(kernel_rows.operator_terms)
_weight_terms = njit(cache=True, error_model="numpy")(kernel_rows.weight_terms)
_bound_terms = njit(cache=True, error_model="numpy")(kernel_rows.bound_terms)


@njit(cache=True, nogil=True, error_model="numpy")
def round_into(x: FloatArray, decimals: int) -> None:  # pragma: no cover - compiled
    """Round `x` in place (nothing if decimals < 0). A first pass counts the values that need
    Excel's 15-digit rule (just below a half, or huge), a rare second pass remembers them, a
    third rounds everything half up, a last one redoes the remembered ones. No arrays of the
    full length are allocated (allocation is what costs most here)."""
    if decimals < 0:
        return
    p = 10.0**decimals
    n = x.size
    near = 0
    for i in range(n):
        v = x[i]
        s = abs(v) * p
        ok = (s < EXACT) & (v != 0.0)  # bitwise: no branches in hot loops
        below = 0.5 - (s - float(int(s if ok else 0.0)))
        lim = NEAR_HALF + 1e-13 * s
        near += 1 if ok & (((below > 0.0) & (below < lim)) | (s >= 1e14)) else 0
    idx = np.empty(near, dtype=np.int64)
    saved = np.empty(near)
    if near > 0:
        q = 0
        for i in range(n):  # no calls in this loop: a call makes the whole loop slow
            v = x[i]
            s = abs(v) * p
            ok = (s < EXACT) & (v != 0.0)
            below = 0.5 - (s - float(int(s if ok else 0.0)))
            lim = NEAR_HALF + 1e-13 * s
            if ok & (((below > 0.0) & (below < lim)) | (s >= 1e14)):
                idx[q] = i
                saved[q] = v
                q += 1
    for i in range(n):
        v = x[i]
        s = abs(v) * p
        ok = (s < EXACT) & (v != 0.0)
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
    x: FloatArray, bounds: FloatArray, out: FloatArray
) -> None:
    """Min–max normalisation against fixed bounds into `out`, as INFORM writes it:
    `out_upper − (upper − v)/(upper − lower)·span` (higher is worse) or
    `out_lower + (upper − v)/(upper − lower)·span` (higher is better); then rounded to
    `decimals` (none if < 0). `bounds`: lower, upper, higher_is_worse, clip, out_lower,
    out_upper, decimals (`nodes.bounds_row`). `out` may be `x` itself."""
    lower, upper = bounds[0], bounds[1]
    clip, decimals = bounds[3] != 0.0, int(bounds[6])
    n = x.size
    width, span, top, bottom, sign, base = _bound_terms(bounds)
    lo_clip = lower if clip else -math.inf
    hi_clip = upper if clip else math.inf
    for i in range(n):
        v = x[i]
        # base ∓ (upper − v)/width·span, in the order of operations INFORM's workbook uses
        s = base + sign * ((upper - v) / width * span)
        out[i] = top if v > hi_clip else (bottom if v < lo_clip else s)
    round_into(out, decimals)


# The loops below take the children one after the other (outer loop) and the regions in the
# inner loop: each inner loop streams one contiguous row, which the compiler vectorises, and
# every region still combines its children in their order (the same result as child-inner).


@njit(cache=True, nogil=True, error_model="numpy")
def _present_sums(  # pragma: no cover - compiled
    frame: FloatArray,
    factors: FloatArray,
    rows: IntArray,
    sub: FloatArray,
    weights: FloatArray,
    out: FloatArray,
    lo: int,
) -> None:
    """out = Σ_j weights[j]·factors[rows[j]] over the children present (factors: the frame of
    coverage, or an empty frame for 1): counts, weight sums and coverage sums alike."""
    m = out.size
    out[:] = 0.0
    use = factors.shape[0] > 0
    for j in range(rows.size):
        x = frame[rows[j], lo : lo + m]
        f = factors[rows[j], lo : lo + m] if use else x  # x: never read (the loop is unswitched)
        s = sub[j]
        w = weights[j]
        for i in range(m):
            v = x[i]
            v = v if v == v else s
            out[i] += (w * f[i] if use else w) if v == v else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _accumulate(  # pragma: no cover - compiled
    frame: FloatArray,
    rows: IntArray,
    sub: FloatArray,
    weights: FloatArray,
    method: int,
    equal: bool,
    scale: float,
    offset: float,
    acc: FloatArray,
    lo: int,
) -> None:
    """The running sum, product, log-sum or extreme of the children, per region."""
    m = acc.size
    logs = (method in (GEOMETRIC, INFORM_GEOMETRIC)) and not equal
    start = 0.0 if method in (MEAN, SUM) or logs else 1.0
    acc[:] = math.nan if method in (MAX, MIN) else start
    for j in range(rows.size):
        x = frame[rows[j], lo : lo + m]
        s = sub[j]
        w = weights[j]
        if method in (MEAN, SUM):
            for i in range(m):
                v = x[i]
                v = v if v == v else s
                acc[i] += w * v if v == v else 0.0
        elif method == INFORM_GEOMETRIC and equal:
            for i in range(m):
                v = x[i]
                v = v if v == v else s
                acc[i] *= (scale - v) / scale * (scale - offset) + offset if v == v else 1.0
        elif method == GEOMETRIC and equal:
            for i in range(m):
                v = x[i]
                v = v if v == v else s
                acc[i] *= v if v == v else 1.0
        elif logs:
            for i in range(m):
                v = x[i]
                v = v if v == v else s
                if v == v:
                    u = (
                        v
                        if method == GEOMETRIC
                        else (scale - v) / scale * (scale - offset) + offset
                    )
                    acc[i] += w * (
                        math.log(u) if u > 0.0 else (-math.inf if u == 0.0 else math.nan)
                    )
        elif method == PRODUCT:
            for i in range(m):
                v = x[i]
                v = v if v == v else s
                acc[i] *= v**w if v == v else 1.0
        else:
            for i in range(m):
                v = x[i]
                v = v if v == v else s
                b = acc[i]
                better = v > b if method == MAX else v < b
                acc[i] = v if v == v and (b != b or better) else b


@njit(cache=True, nogil=True, error_model="numpy")
def _finish(  # pragma: no cover - compiled
    method: int,
    equal: bool,
    k: int,
    count: FloatArray,
    wsum: FloatArray,
    scale: float,
    offset: float,
    out: FloatArray,
) -> None:
    """Turn the accumulated values (in `out`) into the operator's result, in place."""
    n = out.size
    if method == MEAN:
        for i in range(n):
            out[i] = out[i] / wsum[i]
    elif (method in (GEOMETRIC, INFORM_GEOMETRIC)) and not equal:
        for i in range(n):
            out[i] = math.exp(out[i] / wsum[i])
    elif method in (GEOMETRIC, INFORM_GEOMETRIC):
        for i in range(n):
            c = count[i]
            a = out[i]
            r2 = math.sqrt(a)
            out[i] = r2 if c == 2.0 else (math.sqrt(r2) if c == 4.0 else a)
        if k > 2:
            for i in range(n):
                c = count[i]
                if c > 2.0 and c != 4.0:
                    out[i] = out[i] ** (1.0 / c)
    if method == INFORM_GEOMETRIC:
        for i in range(n):
            out[i] = (scale - out[i]) / (scale - offset) * scale


@njit(cache=True, nogil=True, error_model="numpy")
def aggregate_rows(  # pragma: no cover - compiled
    frame: FloatArray,
    cover: FloatArray,
    children: FloatArray,
    operator: FloatArray,
    out: FloatArray,
    out_cover: FloatArray,
    work: FloatArray,
) -> None:
    """Aggregate the children per region into `out` and their coverage into `out_cover`.

    `children` (3 × k): each child's frame row, weight and substitute for a missing value (NaN:
    none); `operator`: method code (`METHOD_CODES`), propagate (0/1), min_present, scale,
    offset, decimals (< 0: no rounding), as built by `operator_row`. The children are the rows
    `frame[children[0, j]]` (coverage: `cover[…]`); `work` is scratch space of shape (2, ≥ n).
    Missing children are skipped (weights renormalised over those present) unless propagate;
    fewer than min_present present children give a missing value. Coverage is the weighted mean
    of the children's coverage, counting missing children as 0. With equal weights the geometric
    means are (Π u)^(1/n) (a square root for two values, two for four). Children are combined
    in their order, so results do not depend on the number of regions.
    """
    k = children.shape[1]
    n = out.size
    rows = np.empty(k, dtype=np.int64)
    for j in range(k):
        rows[j] = int(children[0, j])
    weights = children[1].copy()
    sub = children[2].copy()
    method, propagate, min_present, scale, offset, decimals = _operator_terms(operator)
    equal, unit, inv_total = _weight_terms(weights)
    count = work[0, :n]
    wsum = count if unit else work[1, :n]  # the sum of unit weights present is the count
    ones = np.ones(k)
    none = np.empty((0, n))
    for lo in range(0, n, CHUNK):  # a chunk's running values stay in the first-level cache
        hi = min(lo + CHUNK, n)
        _present_sums(frame, none, rows, sub, ones, count[lo:hi], lo)
        if not unit:
            _present_sums(frame, none, rows, sub, weights, wsum[lo:hi], lo)
        _present_sums(frame, cover, rows, sub, weights, out_cover[lo:hi], lo)
        _accumulate(frame, rows, sub, weights, method, equal, scale, offset, out[lo:hi], lo)
    for i in range(n):
        out_cover[i] = out_cover[i] * inv_total
    _finish(method, equal, k, count, wsum, scale, offset, out)
    if method != MEAN or min_present > 1 or propagate:  # a mean of nothing is already 0/0 = NaN
        for i in range(n):
            c = count[i]
            missing = (c < min_present) | (c == 0.0) | (propagate & (c < k))
            out[i] = math.nan if missing else out[i]
    round_into(out, decimals)


@njit(cache=True, nogil=True, error_model="numpy")
def round_half_up(x: FloatArray, decimals: int) -> FloatArray:  # pragma: no cover - compiled
    """Round half away from zero to `decimals`, as Excel's ROUND (15 significant digits first)."""
    out = x.copy()
    round_into(out, decimals)
    return out
