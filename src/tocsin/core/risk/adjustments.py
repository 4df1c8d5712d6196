"""Changes a what-if makes to computed values: add, multiply or set, in some regions, clipped."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class AdjustOp(StrEnum):
    """How a scenario changes a value."""

    ADD = "add"
    MULTIPLY = "multiply"
    SET = "set"


@dataclass(frozen=True, slots=True)
class NodeAdjustment:
    """Change a node's (or an input's) value where `mask` holds (all regions if None), then
    propagate. `clip` (lower, upper) bounds the adjusted value, e.g. (0, 10) for a score.
    """

    node: str
    op: AdjustOp
    amount: float
    mask: BoolArray | None = None
    clip: tuple[float, float] | None = None


def apply_adjustment(values: FloatArray, adj: NodeAdjustment) -> FloatArray:
    """Apply one adjustment to an array of values (a new array)."""
    if adj.op is AdjustOp.ADD:
        changed = values + adj.amount
    elif adj.op is AdjustOp.MULTIPLY:
        changed = values * adj.amount
    else:
        changed = np.full_like(values, adj.amount)
    if adj.clip is not None:
        changed = np.clip(changed, adj.clip[0], adj.clip[1])
    if adj.mask is None:
        return changed
    return np.where(adj.mask, changed, values)
