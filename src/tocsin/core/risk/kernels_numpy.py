"""The kernels of `kernels` written with numpy: the same operations in the same order, bit for bit.

Small tables (a few thousand regions or country-years) are evaluated with these, so a first run
never waits for a compiler. Each function has the signature of its compiled twin. Transcendental
functions (`log`, `exp`, `pow`) are taken element-wise from the C library through `math`, as the
compiled kernels take them, because numpy's vectorised versions may differ in the last bit; the
rare values that need Excel's 15-digit rounding rule go through `rounding.excel_boundary` run as
plain Python. `tests/core/risk/test_risk_kernels.py` checks both sets give identical results.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk import kernel_rows
from tocsin.core.risk.kernel_rows import GEOMETRIC, INFORM_GEOMETRIC, MAX, MEAN, PRODUCT, SUM
from tocsin.core.risk.rounding import EXACT, NEAR_HALF, excel_boundary

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except ValueError:  # a negative base and a fractional exponent
        return math.nan
    except OverflowError:
        return math.inf


def _log(u: float) -> float:
    return math.log(u) if u > 0.0 else (-math.inf if u == 0.0 else math.nan)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


_POW = np.frompyfunc(_pow, 2, 1)
_LOG = np.frompyfunc(_log, 1, 1)
_EXP = np.frompyfunc(_exp, 1, 1)


def _each(func: np.ufunc, *args: FloatArray) -> FloatArray:
    return np.asarray(func(*args), dtype=np.float64)


def round_into(x: FloatArray, decimals: int) -> None:
    """Round `x` in place, half away from zero on 15 significant digits (see `kernels`)."""
    if decimals < 0:
        return
    p = 10.0**decimals
    with np.errstate(all="ignore"):
        s = np.abs(x) * p
        ok = (s < EXACT) & (x != 0.0)
        t = np.trunc(np.where(ok, s, 0.0))
        below = 0.5 - (s - t)
        near = ok & (((below > 0.0) & (below < NEAR_HALF + 1e-13 * s)) | (s >= 1e14))
        k = np.where(s - t >= 0.5, t + 1.0, t)
        r = k / p
        r = np.where(x > 0.0, r, -r)
        r = np.where(r != 0.0, r, 0.0)
    fix = np.flatnonzero(near)
    saved = x[fix]
    x[:] = np.where(ok, r, x)
    for i, v in zip(fix.tolist(), saved.tolist(), strict=True):
        boundary = float(excel_boundary(abs(v), decimals, p))
        x[i] = boundary if v > 0.0 else -boundary


def round_half_up(x: FloatArray, decimals: int) -> FloatArray:
    """Round half away from zero to `decimals`, as Excel's ROUND (a new array)."""
    out = np.array(x, dtype=np.float64)
    round_into(out, decimals)
    return out


def presence(x: FloatArray) -> FloatArray:
    """1.0 where a value is present, 0.0 where it is missing (NaN)."""
    return (~np.isnan(x)).astype(np.float64)


def normalise_bounds(x: FloatArray, bounds: FloatArray, out: FloatArray) -> None:
    """Min–max normalisation against fixed bounds into `out` (see `kernels.normalise_bounds`)."""
    row = bounds.tolist()
    lower, upper = row[0], row[1]
    clip, decimals = row[3] != 0.0, int(row[6])
    width, span, top, bottom, sign, base = kernel_rows.bound_terms(row)
    with np.errstate(all="ignore"):
        s = base + sign * ((upper - x) / width * span)
        if clip:
            s = np.where(x > upper, top, np.where(x < lower, bottom, s))
    out[:] = s
    round_into(out, decimals)


def _children(frame: FloatArray, rows: IntArray, sub: FloatArray) -> list[FloatArray]:
    kids = []
    for j, r in enumerate(rows.tolist()):
        v = frame[r]
        kids.append(np.where(np.isnan(v), sub[j], v) if not math.isnan(sub[j]) else v)
    return kids


def _accumulate(
    kids: list[FloatArray],
    present: list[BoolArray],
    weights: FloatArray,
    *,
    method: int,
    equal: bool,
    scale: float,
    offset: float,
) -> FloatArray:
    n = kids[0].size
    if method in (MEAN, SUM):
        acc = np.zeros(n)
        for v, p, w in zip(kids, present, weights.tolist(), strict=True):
            acc = acc + np.where(p, w * v, 0.0)
        return acc
    if method in (GEOMETRIC, INFORM_GEOMETRIC):
        units = [
            v if method == GEOMETRIC else (scale - v) / scale * (scale - offset) + offset
            for v in kids
        ]
        if equal:
            acc = np.ones(n)
            for u, p in zip(units, present, strict=True):
                acc = acc * np.where(p, u, 1.0)
            return acc
        acc = np.zeros(n)
        for u, p, w in zip(units, present, weights.tolist(), strict=True):
            acc = acc + np.where(p, w * _each(_LOG, u), 0.0)
        return acc
    if method == PRODUCT:
        acc = np.ones(n)
        for v, p, w in zip(kids, present, weights.tolist(), strict=True):
            acc = acc * np.where(p, _each(_POW, v, np.full(n, w)), 1.0)
        return acc
    best = np.full(n, np.nan)
    for v, p in zip(kids, present, strict=True):
        better = v > best if method == MAX else v < best
        best = np.where(p & (np.isnan(best) | better), v, best)
    return best


def _finish(
    acc: FloatArray,
    count: FloatArray,
    wsum: FloatArray,
    *,
    method: int,
    equal: bool,
    k: int,
    scale: float,
    offset: float,
) -> FloatArray:
    out = acc
    if method == MEAN:
        out = acc / wsum
    elif method in (GEOMETRIC, INFORM_GEOMETRIC) and not equal:
        out = _each(_EXP, acc / wsum)
    elif method in (GEOMETRIC, INFORM_GEOMETRIC):
        r2 = np.sqrt(acc)
        out = np.where(count == 2.0, r2, np.where(count == 4.0, np.sqrt(r2), acc))
        other = (count > 2.0) & (count != 4.0)
        if k > 2 and other.any():
            out = out.copy()
            out[other] = _each(_POW, acc[other], 1.0 / count[other])
    if method == INFORM_GEOMETRIC:
        out = (scale - out) / (scale - offset) * scale
    return out


def aggregate_rows(
    frame: FloatArray,
    cover: FloatArray,
    children: FloatArray,
    operator: FloatArray,
    out: FloatArray,
    out_cover: FloatArray,
    work: FloatArray,
) -> None:
    """Aggregate the children into `out` and their coverage into `out_cover` (see
    `kernels.aggregate_rows`; `work` is unused here)."""
    rows = children[0].astype(np.int64)
    weights = children[1]
    k, n = rows.size, out.size
    method, propagate, min_present, scale, offset, decimals = kernel_rows.operator_terms(
        operator.tolist()
    )
    kids = _children(frame, rows, children[2])
    present = [~np.isnan(v) for v in kids]
    wlist = weights.tolist()
    equal, unit, inv_total = kernel_rows.weight_terms(wlist)
    count = _weight_sum(present, [1.0] * k, n)
    wsum = count if unit else _weight_sum(present, wlist, n)
    ca = np.zeros(n)
    for p, w, r in zip(present, wlist, rows.tolist(), strict=True):
        ca = ca + np.where(p, w * cover[r], 0.0)
    out_cover[:] = ca * inv_total
    with np.errstate(all="ignore"):
        acc = _accumulate(
            kids, present, weights, method=method, equal=equal, scale=scale, offset=offset
        )
        result = _finish(
            acc, count, wsum, method=method, equal=equal, k=k, scale=scale, offset=offset
        )
    if method != MEAN or min_present > 1 or propagate:
        missing = (count < min_present) | (count == 0.0) | (propagate & (count < k))
        result = np.where(missing, np.nan, result)
    out[:] = result
    round_into(out, decimals)


def _weight_sum(present: list[BoolArray], weights: list[float], n: int) -> FloatArray:
    total = np.zeros(n)
    for p, w in zip(present, weights, strict=True):
        total = total + np.where(p, w, 0.0)
    return total
