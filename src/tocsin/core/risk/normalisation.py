"""Normalisation: raw values to the score scale, by fixed bounds or relative to the regions scored.

Fixed bounds (`bounds`, INFORM's choice) map each value on its own: linear or log10, a direction,
clipping, the output `range`, or a custom `formula` between the bounds. The data-driven methods
(`percentile_rank`, `zscore`, `data_minmax`) compare a value with the other regions *of the same
period*: they take their distribution from a `reference` (by default the values themselves, one
period at a time), which `explain` holds fixed while it varies one region's values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk.expressions import evaluate_expression
from tocsin.core.risk.model import Normalisation, NormaliseMethod, Scale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def percentile_rank(x: FloatArray, reference: FloatArray | None = None) -> FloatArray:
    """Share of the other regions with a strictly lower value: (count below)/(n − 1), in [0, 1].

    This is Excel's PERCENTRANK.INC as used by the CDC/ATSDR Social Vulnerability Index; missing
    values stay missing and are not counted. `reference` (default: `x`) is the set ranked against.
    """
    ref = x if reference is None else reference
    valid = np.sort(ref[~np.isnan(ref)])
    ok = ~np.isnan(x)
    out = np.full(len(x), np.nan)
    m = len(valid)
    if m == 1:
        out[ok] = 0.0
    elif m > 1:
        out[ok] = np.searchsorted(valid, x[ok], side="left") / (m - 1)
    return out


def is_data_driven(norm: Normalisation | None) -> bool:
    """Whether a normalisation depends on the set of regions scored."""
    return norm is not None and norm.method is not NormaliseMethod.BOUNDS


def transformed(x: FloatArray, norm: Normalisation) -> FloatArray:
    """The raw value on the normalisation's scale (log10: 0 → −inf, negative → missing)."""
    if norm.scale is Scale.LOG10:  # numpy's log10 is vectorised
        with np.errstate(all="ignore"):
            return np.log10(x)
    return x


def data_driven(x: FloatArray, norm: Normalisation, reference: FloatArray) -> FloatArray:
    """A data-driven normalisation of `x` against the distribution of `reference` (unrounded)."""
    if norm.method is NormaliseMethod.PERCENTILE:
        return _rescale(percentile_rank(x, reference), norm)
    ok = ~np.isnan(reference)
    if not ok.any():
        return np.full(len(x), np.nan)
    if norm.method is NormaliseMethod.ZSCORE:
        sd = float(np.std(reference[ok]))
        z = (x - float(np.mean(reference[ok]))) / (sd if sd > 0 else 1.0)
        return z if norm.higher_is_worse else -z
    lo, hi = float(np.min(reference[ok])), float(np.max(reference[ok]))
    hi = hi if hi > lo else lo + 1.0  # all regions equal: they sit at the bottom of the scale
    width = hi - lo
    span = norm.out_upper - norm.out_lower
    with np.errstate(all="ignore"):
        if norm.higher_is_worse:
            s = norm.out_upper - (hi - x) / width * span
        else:
            s = norm.out_lower + (hi - x) / width * span
    top = norm.out_upper if norm.higher_is_worse else norm.out_lower
    bottom = norm.out_lower if norm.higher_is_worse else norm.out_upper
    return np.where(x > hi, top, np.where(x < lo, bottom, s))


def by_period(
    x: FloatArray,
    norm: Normalisation,
    groups: Sequence[IntArray] | None,
    reference: FloatArray | None = None,
) -> FloatArray:
    """A data-driven normalisation, each period against its own regions (or `reference`)."""
    if reference is not None:
        return data_driven(x, norm, reference)
    if groups is None:
        return data_driven(x, norm, x)
    out = np.full(len(x), np.nan)
    for rows in groups:
        part = x[rows]
        out[rows] = data_driven(part, norm, part)
    return out


def _rescale(unit: FloatArray, norm: Normalisation) -> FloatArray:
    share = unit if norm.higher_is_worse else 1.0 - unit
    return norm.out_lower + share * (norm.out_upper - norm.out_lower)


def by_formula(x: FloatArray, norm: Normalisation) -> FloatArray:
    """Fixed bounds with a custom `formula` of `x` between them (clipped outside if asked)."""
    formula = norm.formula
    if formula is None:  # pragma: no cover - only called with a formula
        raise ValueError("no formula")
    t = transformed(x, norm)
    inside = evaluate_expression(formula, {"x": t}, len(x))
    top = norm.out_upper if norm.higher_is_worse else norm.out_lower
    bottom = norm.out_lower if norm.higher_is_worse else norm.out_upper
    if norm.clip:
        inside = np.where(t > norm.upper, top, np.where(t < norm.lower, bottom, inside))
    return np.where(np.isnan(t), np.nan, inside)
