"""Risk use cases: compute a model's scores for a table of regions, explain one region, run a
what-if scenario, and give the warning lifecycle the class of every (region, node).

The model and tables are loaded by adapters (`tocsin.adapters.risk_model_yaml`) and passed in;
everything here is pure apart from building plain rows for the delivery layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tocsin.core.cascades.assets import Requirements
from tocsin.core.errors import NotFound
from tocsin.core.regions import RegionTree
from tocsin.core.risk.classes import class_labels, class_views, rank_descending
from tocsin.core.risk.adjustments import NodeAdjustment
from tocsin.core.risk.evaluate import RiskResult, evaluate
from tocsin.core.risk.explain import NodeExplanation, explain_region
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.scenarios import (
    Scenario,
    ScenarioOutcome,
    SectorSystem,
    run_scenario,
)
from tocsin.core.risk.table import IndicatorTable

Cell = str | float


def compute(
    model: RiskModel, table: IndicatorTable, *, adjustments: Sequence[NodeAdjustment] = ()
) -> RiskResult:
    """Evaluate the model for every region of the table."""
    return evaluate(model, table.columns, adjustments=adjustments)


def score_rows(
    model: RiskModel,
    table: IndicatorTable,
    result: RiskResult,
    *,
    nodes: Sequence[str] | None = None,
    coverage: bool = False,
) -> tuple[list[str], list[list[Cell]]]:
    """One row per region: id, name, each node's value, classes and ranks (and coverage).

    The root's class and rank are the columns `class` and `rank`; other classified or ranked
    nodes get `<id>:class` / `<id>:rank`; with `coverage`, `<id>:coverage` follows each node.
    """
    ids = list(nodes) if nodes is not None else list(model.node_ids)
    unknown = [n for n in ids if n not in result.values]
    if unknown:
        raise NotFound(f"unknown nodes: {', '.join(unknown)}")
    header = [model.table.id_column, model.table.name_column or "name"]
    columns: list[list[Cell]] = [list(table.ids), list(table.names)]
    for node in ids:
        header.append(node)
        columns.append([float(v) for v in result.values[node]])
        if coverage:
            header.append(f"{node}:coverage")
            columns.append([float(v) for v in result.coverage[node]])
    for scheme in model.classes:
        for node in scheme.nodes:
            header.append("class" if node == model.root else f"{node}:class")
            columns.append(list(class_labels(result.values[node], scheme)))
    for node in model.rank:
        header.append("rank" if node == model.root else f"{node}:rank")
        columns.append([float(v) for v in rank_descending(result.values[node])])
    rows = [list(r) for r in zip(*columns, strict=True)]
    return header, rows


def explain(
    model: RiskModel, table: IndicatorTable, result: RiskResult, region: str
) -> list[NodeExplanation]:
    """Each node's value, coverage and contribution to its parent for one region."""
    try:
        row = table.index_of(region)
    except KeyError:
        raise NotFound(f"no region {region!r} in the table") from None
    return explain_region(model, result, row)


@dataclass(frozen=True, slots=True)
class RegionClass:
    """The class of one (region, node) and the thresholds around it, for the warning lifecycle."""

    region: str
    node: str
    value: float
    class_index: int
    label: str
    lower: float
    upper: float
    level: str


def region_classes(
    model: RiskModel, table: IndicatorTable, result: RiskResult
) -> list[RegionClass]:
    """Per (region, classified node): value, class, class bounds and mapped warning level.

    The integrator feeds these to the warning lifecycle: a level rising raises or upgrades a
    warning, falling downgrades it, reaching the class without a level lifts it.
    """
    out: list[RegionClass] = []
    for node, view in class_views(model, result).items():
        for i, region in enumerate(table.ids):
            if view.index[i] < 0:
                continue
            out.append(
                RegionClass(
                    region=region,
                    node=node,
                    value=float(view.values[i]),
                    class_index=int(view.index[i]),
                    label=view.labels[i],
                    lower=float(view.lower[i]),
                    upper=float(view.upper[i]),
                    level=view.levels[i],
                )
            )
    return out


def scenario(
    model: RiskModel,
    table: IndicatorTable,
    what_if: Scenario,
    *,
    tree: RegionTree | None = None,
    requirements: Requirements | None = None,
    asset_regions: dict[str, str] | None = None,
    sectors: SectorSystem | None = None,
) -> ScenarioOutcome:
    """Run a what-if scenario against the table's baseline."""
    try:
        return run_scenario(
            model,
            table.ids,
            table.columns,
            what_if,
            tree=tree,
            requirements=requirements,
            asset_regions=asset_regions,
            sectors=sectors,
        )
    except KeyError as err:
        raise NotFound(str(err.args[0])) from err


def change_rows(outcome: ScenarioOutcome, model: RiskModel) -> tuple[list[str], list[list[Cell]]]:
    """The scenario's changes as rows: node, region, baseline, scenario, delta, classes."""
    header = ["node", "region", "baseline", "scenario", "delta", "baseline_class", "scenario_class"]
    rows: list[list[Cell]] = []
    for ch in outcome.changes:
        scheme = model.scheme_for(ch.node)
        labels = scheme.labels if scheme else ()
        rows.append(
            [
                ch.node,
                ch.region,
                ch.baseline,
                ch.scenario,
                ch.delta,
                _label(labels, ch.baseline_class),
                _label(labels, ch.scenario_class),
            ]
        )
    return header, rows


def _label(labels: tuple[str, ...], index: int | None) -> str:
    if index is None or index < 0 or not labels:
        return ""
    return labels[int(np.clip(index, 0, len(labels) - 1))]
