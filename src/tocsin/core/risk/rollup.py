"""Roll indicators up the region hierarchy (grid cell → district → city → province → nation).

As INFORM Subnational does, raw indicators are aggregated before they are normalised: absolute
quantities (people exposed, road length) are summed, relative ones (rates, shares, indices) are
averaged with population weights; the model is then evaluated at each level on the rolled-up
inputs. Each input's rule is configuration (`InputSpec.rollup`), the weight input is the model's
`rollup_weight`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.risk.evaluate import RiskResult, evaluate
from tocsin.core.risk.model import RiskModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def roll_up(
    values: Mapping[str, FloatArray],
    parent: IntArray,
    n_parents: int,
    rules: Mapping[str, str],
    weight: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Aggregate each column from children to parents (`parent[i]` = row of child i's parent).

    Rules: `sum`, `weighted_mean` (by `weight`; plain mean if none), `mean`, `max`, `min`.
    Missing children are skipped; a parent with no present child is missing.
    """
    out: dict[str, FloatArray] = {}
    w_all = np.ones(len(parent)) if weight is None else np.nan_to_num(weight)
    for col, arr in values.items():
        rule = rules.get(col, "weighted_mean")
        ok = ~np.isnan(arr)
        count = np.bincount(parent[ok], minlength=n_parents)
        if rule in ("max", "min"):
            res = np.full(n_parents, -np.inf if rule == "max" else np.inf)
            ufunc = np.maximum if rule == "max" else np.minimum
            ufunc.at(res, parent[ok], arr[ok])
        elif rule == "sum":
            res = np.bincount(parent[ok], weights=arr[ok], minlength=n_parents)
        else:
            w = w_all[ok] if rule == "weighted_mean" else np.ones(int(ok.sum()))
            num = np.bincount(parent[ok], weights=arr[ok] * w, minlength=n_parents)
            den = np.bincount(parent[ok], weights=w, minlength=n_parents)
            with np.errstate(all="ignore"):
                res = np.where(den > 0, num / den, np.nan)
        out[col] = np.where(count > 0, res, np.nan)
    return out


@dataclass(frozen=True)
class LevelResult:
    """The model evaluated at one level of the hierarchy."""

    level: str
    codes: tuple[RegionCode, ...]
    inputs: Mapping[str, FloatArray]
    result: RiskResult


def roll_up_levels(
    model: RiskModel,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    tree: RegionTree,
) -> list[tuple[str, tuple[RegionCode, ...], dict[str, FloatArray]]]:
    """Inputs at every level, leaves (`codes`) first, up to the roots: (level, codes, inputs)."""
    rules = {spec.id: spec.rollup for spec in model.inputs}
    current = tuple(RegionCode(c) for c in codes)
    unknown = [c for c in current if c not in tree]
    if unknown:
        raise KeyError(f"regions not in the hierarchy: {', '.join(unknown[:5])}")
    data = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    out: list[tuple[str, tuple[RegionCode, ...], dict[str, FloatArray]]] = []
    while True:
        level = "/".join(sorted({tree.regions[c].level for c in current}))
        out.append((level, current, data))
        parents = [tree.regions[c].parent for c in current]
        if any(p is None for p in parents):
            return out
        order = tuple(dict.fromkeys(p for p in parents if p is not None))
        index = {p: i for i, p in enumerate(order)}
        parent_idx = np.array([index[p] for p in parents if p is not None], dtype=np.int64)
        weight = data.get(model.rollup_weight) if model.rollup_weight else None
        data = roll_up(data, parent_idx, len(order), rules, weight)
        current = order


def evaluate_hierarchy(
    model: RiskModel,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    tree: RegionTree,
) -> list[LevelResult]:
    """Evaluate at the leaves (`codes` are regions of `tree`), then at each parent level up to the
    roots, on inputs rolled up with the model's rules. Returns one entry per level, leaves first.
    """
    return [
        LevelResult(level, level_codes, data, evaluate(model, data))
        for level, level_codes, data in roll_up_levels(model, codes, inputs, tree)
    ]
