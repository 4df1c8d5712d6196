"""Classes by fixed thresholds, ranks with ties, and the class view that feeds warnings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tocsin.core.risk.evaluate import RiskResult, period_groups
from tocsin.core.risk.model import ClassScheme, RiskModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def class_index(values: FloatArray, thresholds: tuple[float, ...]) -> IntArray:
    """Class of each value: the number of thresholds it reaches (≥); −1 where missing.

    >>> class_index(np.array([1.9, 2.0, 6.5, np.nan]), (2.0, 3.5, 5.0, 6.5)).tolist()
    [0, 1, 4, -1]
    """
    idx = np.searchsorted(np.asarray(thresholds, dtype=np.float64), values, side="right")
    return np.where(np.isnan(values), -1, idx).astype(np.int64)


def class_labels(values: FloatArray, scheme: ClassScheme) -> list[str]:
    """Class label of each value ("" where missing)."""
    return [scheme.labels[i] if i >= 0 else "" for i in class_index(values, scheme.thresholds)]


def rank_descending(values: FloatArray, periods: Sequence[str] = ()) -> FloatArray:
    """Rank 1 = highest; ties share the best rank (Excel RANK.EQ); NaN where missing. With
    `periods` (one label per row), each period is ranked on its own.

    >>> rank_descending(np.array([8.1, 3.0, 8.1, np.nan, 5.0])).tolist()
    [1.0, 4.0, 1.0, nan, 3.0]
    >>> rank_descending(np.array([8.0, 3.0, 1.0, 2.0]), ["2021", "2021", "2022", "2022"]).tolist()
    [1.0, 2.0, 2.0, 1.0]
    """
    if periods:
        out = np.full(len(values), np.nan)
        for rows in period_groups(periods):
            out[rows] = rank_descending(values[rows])
        return out
    ok = ~np.isnan(values)
    valid = np.sort(values[ok])
    out = np.full(len(values), np.nan)
    out[ok] = len(valid) - np.searchsorted(valid, values[ok], side="right") + 1
    return out


@dataclass(frozen=True, slots=True)
class ClassView:
    """For one node: per region its value, class index and label, the class's bounds and level.

    `lower[i]`/`upper[i]` bound the region's current class (−inf/inf at the ends; NaN where the
    value is missing); `level[i]` is the warning level mapped to the class ("" if none). This is
    what the warning lifecycle needs to raise, upgrade, downgrade or lift a warning per region.
    """

    node: str
    values: FloatArray
    index: IntArray
    labels: tuple[str, ...]
    lower: FloatArray
    upper: FloatArray
    levels: tuple[str, ...]
    thresholds: tuple[float, ...]
    scheme_labels: tuple[str, ...]


def class_view(model: RiskModel, result: RiskResult, node_id: str) -> ClassView:
    """The class view of a classified node (KeyError if no class scheme covers it)."""
    scheme = model.scheme_for(node_id)
    if scheme is None:
        raise KeyError(f"no class scheme for node {node_id!r}")
    values = result.values[node_id]
    idx = class_index(values, scheme.thresholds)
    edges = np.array([-np.inf, *scheme.thresholds, np.inf])
    safe = np.clip(idx, 0, len(scheme.labels) - 1)
    lower = np.where(idx < 0, np.nan, edges[safe])
    upper = np.where(idx < 0, np.nan, edges[safe + 1])
    level_names = scheme.levels or ("",) * len(scheme.labels)
    return ClassView(
        node=node_id,
        values=values,
        index=idx,
        labels=tuple(scheme.labels[i] if i >= 0 else "" for i in idx),
        lower=lower,
        upper=upper,
        levels=tuple(level_names[i] if i >= 0 else "" for i in idx),
        thresholds=scheme.thresholds,
        scheme_labels=scheme.labels,
    )


def class_views(model: RiskModel, result: RiskResult) -> dict[str, ClassView]:
    """Class views of every classified node of the model."""
    return {n: class_view(model, result, n) for s in model.classes for n in s.nodes}
