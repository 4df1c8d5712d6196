"""What both kernel sets read from their argument rows, worked out once for both.

`nodes` builds the rows (`operator_row`, `bounds_row`, `children_rows`); the compiled kernels
(`kernels`) and the numpy ones (`kernels_numpy`) decode them here: the operator codes, the
operator's settings, the terms of a fixed-bound normalisation and those of the children's
weights. Plain Python on scalars and 1-D sequences, called once per kernel call (never in a
loop over regions): the compiled kernels compile these very functions, the numpy kernels call
them on lists of floats, so both sets work the terms out with the same operations in the same
order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk.model import METHOD_CODES, Method

Row = Sequence[float] | NDArray[np.float64]
"""A row as the compiled kernels pass it (an array) or the numpy ones (a list of floats)."""

MEAN = METHOD_CODES[Method.MEAN]
GEOMETRIC = METHOD_CODES[Method.GEOMETRIC]
INFORM_GEOMETRIC = METHOD_CODES[Method.INFORM_GEOMETRIC]
MAX = METHOD_CODES[Method.MAX]
MIN = METHOD_CODES[Method.MIN]
SUM = METHOD_CODES[Method.SUM]
PRODUCT = METHOD_CODES[Method.PRODUCT]


def operator_terms(operator: Row) -> tuple[int, bool, float, float, float, int]:
    """An operator row's method code, propagate, min_present, scale, offset and decimals."""
    method = int(operator[0])
    propagate = operator[1] != 0.0
    return method, propagate, operator[2], operator[3], operator[4], int(operator[5])


def weight_terms(weights: Row) -> tuple[bool, bool, float]:
    """Whether the children's weights are all equal, all 1, and the inverse of their total
    (0 if the total is not positive), the total added in the children's order."""
    equal = True
    total = 0.0
    for w in weights:
        equal = equal and w == weights[0]
        total += w
    unit = equal and weights[0] == 1.0
    return equal, unit, 1.0 / total if total > 0.0 else 0.0


def bound_terms(bounds: Row) -> tuple[float, float, float, float, float, float]:
    """A bounds row's width, span, top, bottom, sign and base (`kernels.normalise_bounds`):
    the value is `base + sign·((upper − v)/width·span)`, `top` above the bounds and `bottom`
    below them when clipped."""
    lower, upper, out_lower, out_upper = bounds[0], bounds[1], bounds[4], bounds[5]
    higher_is_worse = bounds[2] != 0.0
    width = upper - lower
    span = out_upper - out_lower
    top = out_upper if higher_is_worse else out_lower
    bottom = out_lower if higher_is_worse else out_upper
    sign = -1.0 if higher_is_worse else 1.0
    base = out_upper if higher_is_worse else out_lower
    return width, span, top, bottom, sign, base
