"""Roll indicators up the region hierarchy (grid cell → district → city → province → nation).

As INFORM Subnational does, raw indicators are aggregated before they are normalised: absolute
quantities (people exposed, road length) are summed, relative ones (rates, shares, indices) are
averaged with population weights; the model is then evaluated at each level on the rolled-up
inputs. Each input's rule is configuration (`InputSpec.rollup`), the weight input is the model's
`rollup_weight`. Rows may carry periods: then each (parent, period) gathers its children of the
same period, and ranks and data-driven normalisations stay within the period at every level.
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
    """The model evaluated at one level of the hierarchy (rows: `codes`, with `periods`)."""

    level: str
    codes: tuple[RegionCode, ...]
    inputs: Mapping[str, FloatArray]
    result: RiskResult
    periods: tuple[str, ...] = ()


@dataclass(frozen=True)
class LevelInputs:
    """The inputs of one level of the hierarchy: a row per region (and period)."""

    level: str
    codes: tuple[RegionCode, ...]
    inputs: dict[str, FloatArray]
    periods: tuple[str, ...] = ()


def roll_up_levels(
    model: RiskModel,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    tree: RegionTree,
    *,
    periods: Sequence[str] = (),
) -> list[LevelInputs]:
    """Inputs at every level, leaves (`codes`, with `periods` if any) first, up to the roots."""
    rules = {spec.id: spec.rollup for spec in model.inputs}
    current = tuple(RegionCode(c) for c in codes)
    unknown = [c for c in current if c not in tree]
    if unknown:
        raise KeyError(f"regions not in the hierarchy: {', '.join(unknown[:5])}")
    at = tuple(periods) if periods else ("",) * len(current)
    data = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    out: list[LevelInputs] = []
    while True:
        level = "/".join(sorted({tree.regions[c].level for c in current}))
        out.append(LevelInputs(level, current, data, at if periods else ()))
        parents = [tree.regions[c].parent for c in current]
        if any(p is None for p in parents):
            return out
        keys = [(p, t) for p, t in zip(parents, at, strict=True) if p is not None]
        order = tuple(dict.fromkeys(keys))
        index = {k: i for i, k in enumerate(order)}
        parent_idx = np.array([index[k] for k in keys], dtype=np.int64)
        weight = data.get(model.rollup_weight) if model.rollup_weight else None
        data = roll_up(data, parent_idx, len(order), rules, weight)
        current = tuple(p for p, _ in order)
        at = tuple(t for _, t in order)


def evaluate_hierarchy(
    model: RiskModel,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    tree: RegionTree,
    *,
    periods: Sequence[str] = (),
) -> list[LevelResult]:
    """Evaluate at the leaves (`codes` are regions of `tree`), then at each parent level up to the
    roots, on inputs rolled up with the model's rules. Returns one entry per level, leaves first.
    """
    return [
        LevelResult(
            lv.level,
            lv.codes,
            lv.inputs,
            evaluate(model, lv.inputs, periods=lv.periods),
            lv.periods,
        )
        for lv in roll_up_levels(model, codes, inputs, tree, periods=periods)
    ]
