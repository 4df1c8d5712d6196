"""Excel's ROUND, exactly: half away from zero on the value first rounded to 15 significant digits.

A value within half a unit of the 15th significant digit of a rounding boundary *is* on the
boundary: that is how a binary value such as 1.15 = 1.149999999999999911… rounds up to 1.2 in
Excel. Both kernel sets (`kernels`, compiled; `kernels_numpy`) round most values with
`k = floor(|x|·10^d + 0.5)` and send the rare ones near a boundary to `excel_boundary`, which
decides with exact distances (Dekker's 1971 error-free product). Plain Python: the compiled
kernels compile this very function.
"""

from __future__ import annotations

import numpy as np

NEAR_HALF = 1e-9
EXACT = 9.0e18  # at or above this (scaled), values are returned unchanged (int64 limit)
POW10_OFFSET = 340
POW10 = np.array([10.0**i for i in range(-POW10_OFFSET, 309)], dtype=np.float64)


def excel_boundary(a: float, decimals: int, p: float) -> float:
    """|ROUND(a, decimals)| for a value `a` > 0 near a half or with more than 15 significant
    digits up to the rounding position, as Excel rounds: the value is first rounded to 15
    significant digits, so it rounds up if it lies within half a unit of the 15th digit of the
    boundary. Distances are exact: a·p is an unevaluated sum (prod, err) by Dekker's (1971)
    error-free product with Veltkamp splitting. Plain Python too (`kernels_numpy` calls it).
    """
    e10 = 0
    while e10 < 308 and a >= POW10[e10 + 1 + POW10_OFFSET]:
        e10 += 1
    while e10 > -POW10_OFFSET + 14 and a < POW10[e10 + POW10_OFFSET]:
        e10 -= 1
    j = e10 - 14 + decimals  # position of the 15th significant digit relative to the last kept
    prod = a * p
    c = 134217729.0 * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = 134217729.0 * p
    p_hi = c - (c - p)
    p_lo = p - p_hi
    err = ((a_hi * p_hi - prod) + a_hi * p_lo + a_lo * p_hi) + a_lo * p_lo
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
        scale = float(POW10[abs(shift) + POW10_OFFSET])
        return k15 / scale if shift >= 0 else k15 * scale
    if j == 0:  # the last kept digit is the 15th
        return (t + 1.0 if frac >= 0.5 else t) / p
    tol = 0.5 * POW10[j + POW10_OFFSET]  # half a unit of the 15th digit, in units of k
    return (t + 1.0 if frac >= 0.5 or 0.5 - frac <= tol else t) / p
