"""Live inputs: a composite index's domain computed from Tocsin's own state at each evaluation.

A risk model may declare an input `live: cyber_exposure` instead of reading it from its table:
the cyber exposure model (`models/cyber_exposure.yaml`) is evaluated over the exposure of the
regions now and its root score becomes the input, for every region the composite index scores.

The exposure is counted per region of an asset (usually a district) and the composite index is
evaluated at another level (INFORM: nations). As INFORM Subnational does (and `rollup`), the raw
inputs are aggregated *before* the model normalises them, each by its own `rollup` rule: a
nation's exposed assets are the sum of its districts', its worst CVSS the maximum; the cyber model
then scores the nation on those totals. A region of the index gathers every row of its subtree
(itself and its descendants); a region with no such row has no cyber data (missing), which the
composite's aggregates skip, so the index is unchanged where nothing is watched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.risk.evaluate import evaluate
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.rollup import roll_up
from tocsin.core.risk.table import IndicatorTable

FloatArray = NDArray[np.float64]


class LiveSource(StrEnum):
    """Where a live input's values come from."""

    CYBER_EXPOSURE = "cyber_exposure"  # the cyber exposure model's score of each region


def _pairs(codes: Sequence[str], targets: Sequence[str], tree: RegionTree) -> list[tuple[int, int]]:
    """(row, target) for every target that is a row's region or one of its ancestors."""
    where = {t: j for j, t in enumerate(targets)}
    out: list[tuple[int, int]] = []
    for i, code in enumerate(codes):
        chain = [RegionCode(code), *(tree.ancestors(RegionCode(code)) if code in tree else [])]
        out.extend((i, where[c]) for c in chain if c in where)
    return out


def domain_scores(
    model: RiskModel,
    *,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    tree: RegionTree,
    targets: Sequence[str],
) -> FloatArray:
    """The model's root score of each target region, on the raw inputs of the rows (`codes`)
    in its subtree rolled up by the inputs' rules; NaN where no row lies in a target's subtree."""
    pairs = _pairs(codes, targets, tree)
    scores = np.full(len(targets), np.nan)
    if not pairs:
        return scores
    rows = np.array([p[0] for p in pairs], dtype=np.int64)
    parent = np.array([p[1] for p in pairs], dtype=np.int64)
    rules = {spec.id: spec.rollup for spec in model.inputs}
    values = {k: np.asarray(v, dtype=np.float64)[rows] for k, v in inputs.items()}
    weight = values.get(model.rollup_weight) if model.rollup_weight else None
    rolled = roll_up(values, parent, len(targets), rules, weight)
    root = evaluate(model, rolled, keep=[model.root]).values[model.root]
    held = np.bincount(parent, minlength=len(targets)) > 0
    return np.where(held, root, np.nan)


def with_columns(table: IndicatorTable, columns: Mapping[str, FloatArray]) -> IndicatorTable:
    """The table with these columns set (one value per row; with periods, the latest period's
    rows take them and the other periods have them missing: the state now is not history)."""
    filled = dict(table.columns)
    latest = table.latest_period()
    for key, values in columns.items():
        arr = np.asarray(values, dtype=np.float64)
        if latest is not None:
            now = np.array([p == latest for p in table.periods])
            arr = np.where(now, arr, np.nan)
        filled[key] = arr
    return replace(table, columns=filled)
