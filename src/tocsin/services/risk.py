"""Risk use cases: compute a model's scores for a table of regions (and periods), explain one
region, run a what-if scenario (also from live warnings on assets), and give the warning
lifecycle the class of every (region, node).

The model and tables are loaded by adapters (`tocsin.adapters.risk_model_yaml`,
`risk_tables_csv`, `risk_scenario_yaml`) and passed in; everything here is pure apart from
building plain rows for the delivery layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tocsin.core.cascades.assets import Requirements, requirements_of
from tocsin.core.catalog import Catalog
from tocsin.core.errors import NotFound
from tocsin.core.levels import Level
from tocsin.core.regions import RegionTree
from tocsin.core.risk.adjustments import NodeAdjustment
from tocsin.core.risk.classes import class_labels, class_views, rank_descending
from tocsin.core.risk.evaluate import RiskResult, evaluate
from tocsin.core.risk.explain import NodeExplanation, explain_region
from tocsin.core.risk.infrastructure import AssetSite, asset_sites, states_from_levels
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.scenarios import (
    Scenario,
    ScenarioOutcome,
    SectorSystem,
    run_scenario,
)
from tocsin.core.risk.table import IndicatorTable
from tocsin.core.warnings.model import Warning

Cell = str | float


def compute(
    model: RiskModel, table: IndicatorTable, *, adjustments: Sequence[NodeAdjustment] = ()
) -> RiskResult:
    """Evaluate the model for every row of the table (per period when it has periods)."""
    return evaluate(model, table.columns, adjustments=adjustments, periods=table.periods)


def _key_columns(model: RiskModel, table: IndicatorTable) -> tuple[list[str], list[list[Cell]]]:
    header = [model.table.id_column, model.table.name_column or "name"]
    columns: list[list[Cell]] = [list(table.ids), list(table.names)]
    if table.periods:
        header.append(model.table.period_column or "period")
        columns.append(list(table.periods))
    return header, columns


def score_rows(
    model: RiskModel,
    table: IndicatorTable,
    result: RiskResult,
    *,
    nodes: Sequence[str] | None = None,
    coverage: bool = False,
) -> tuple[list[str], list[list[Cell]]]:
    """One row per region (and period): id, name, period, each node's value, classes and ranks
    (within the period), and coverage if asked.

    The root's class and rank are the columns `class` and `rank`; other classified or ranked
    nodes get `<id>:class` / `<id>:rank`; with `coverage`, `<id>:coverage` follows each node.
    """
    ids = list(nodes) if nodes is not None else list(model.node_ids)
    unknown = [n for n in ids if n not in result.values]
    if unknown:
        raise NotFound(f"unknown nodes: {', '.join(unknown)}")
    header, columns = _key_columns(model, table)
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
        columns.append([float(v) for v in rank_descending(result.values[node], table.periods)])
    rows = [list(r) for r in zip(*columns, strict=True)]
    return header, rows


def explain(
    model: RiskModel,
    table: IndicatorTable,
    result: RiskResult,
    region: str,
    *,
    period: str | None = None,
    reference: str = "average",
) -> list[NodeExplanation]:
    """Each node's value, coverage and Shapley contribution to its parent for one region (in
    `period`, default the latest), against `reference` (`average`, `zero` or a region id)."""
    if period is not None and table.periods and period not in table.periods:
        raise NotFound(f"no period {period!r} in the table ({', '.join(table.period_labels())})")
    try:
        row = table.index_of(region, period)
    except KeyError:
        raise NotFound(f"no region {region!r} in the table") from None
    if reference not in ("average", "zero") and reference not in table.ids:
        raise NotFound(f"no region {reference!r} in the table to compare with")
    return explain_region(model, result, row, reference=reference, codes=table.ids)


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
    """Per (region, classified node): value, class, class bounds and mapped warning level, for
    the latest period when the table has periods (a warning is about now).

    The integrator feeds these to the warning lifecycle: a level rising raises or upgrades a
    warning, falling downgrades it, reaching the class without a level lifts it.
    """
    latest = table.latest_period()
    out: list[RegionClass] = []
    for node, view in class_views(model, result).items():
        for i, region in enumerate(table.ids):
            if view.index[i] < 0 or (latest is not None and table.periods[i] != latest):
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
    sites: dict[str, AssetSite] | None = None,
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
            sites=sites,
            sectors=sectors,
            periods=table.periods,
        )
    except KeyError as err:
        raise NotFound(str(err.args[0])) from err


@dataclass(frozen=True)
class LiveAssets:
    """Assets failed or degraded now (from open warnings), and the catalog's asset graph."""

    scenario: Scenario
    requirements: dict[str, tuple[tuple[str, ...], ...]]
    sites: dict[str, AssetSite]


def live_assets(
    warnings: Sequence[Warning],
    catalog: Catalog,
    *,
    failed_at: Level = Level.RED,
    degraded_at: Level = Level.ORANGE,
) -> LiveAssets:
    """A scenario of the assets that open warnings say have failed (level ≥ `failed_at`) or
    are degraded (≥ `degraded_at`): cyber or infrastructure warnings on an asset, or on an
    indicator of an asset. The cascade then runs over the catalog's dependencies."""
    asset_of_indicator = {str(i.code): i.asset for i in catalog.indicators if i.asset}
    worst: dict[str, Level] = {}
    for w in warnings:
        if not w.is_open:
            continue
        asset = w.labels.get("asset") or asset_of_indicator.get(w.subject)
        if (
            asset
            and asset in catalog.assets
            and (asset not in worst or w.level.rank > worst[asset].rank)
        ):
            worst[asset] = w.level
    failed, degraded = states_from_levels(worst, failed_at=failed_at, degraded_at=degraded_at)
    what_if = Scenario("live warnings", failed_assets=failed, degraded_assets=degraded)
    return LiveAssets(
        what_if, requirements_of(catalog.assets), asset_sites(catalog.assets.values())
    )


def change_rows(outcome: ScenarioOutcome, model: RiskModel) -> tuple[list[str], list[list[Cell]]]:
    """The scenario's changes as rows: node, region, (period), values, delta, classes."""
    periods = bool(outcome.baseline.periods)
    header = ["node", "region", *(["period"] if periods else [])]
    header += ["baseline", "scenario", "delta", "baseline_class", "scenario_class"]
    rows: list[list[Cell]] = []
    for ch in outcome.changes:
        scheme = model.scheme_for(ch.node)
        labels = scheme.labels if scheme else ()
        rows.append(
            [
                ch.node,
                ch.region,
                *([ch.period] if periods else []),
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
