"""What-if scenarios: perturb indicators or scores by region, fail assets, change sector demand.

A scenario is data. `run_scenario` evaluates the baseline and the perturbed model on the same
regions and reports, per node and region, both values, the difference and any class change; the
asset cascade (failed and degraded assets, per region) and the sectors' inoperability (IIM)
before and after the demand change. Failed and degraded assets change the inputs or nodes they
support (`infrastructure`: the model's and the scenario's `asset_effects`), so the cascade moves
the composite risk of the regions that depend on them. In a table with periods, perturbations
apply to the periods they name (all by default) and asset effects to the latest period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tocsin.core.cascades.assets import CascadeResult, Requirements, cascade
from tocsin.core.cascades.iim import static_inoperability
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.risk.adjustments import AdjustOp, NodeAdjustment, apply_adjustment
from tocsin.core.risk.classes import class_index
from tocsin.core.risk.evaluate import RiskResult, evaluate
from tocsin.core.risk.infrastructure import (
    AppliedEffect,
    AssetEffect,
    AssetSite,
    AssetState,
    effect_adjustments,
)
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.rollup import roll_up_levels
from tocsin.core.risk.table import sort_periods

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RegionSelector:
    """Which regions: listed codes and/or everything within listed ancestors; empty = all."""

    regions: tuple[str, ...] = ()
    within: tuple[str, ...] = ()

    def mask(self, codes: Sequence[str], tree: RegionTree | None = None) -> BoolArray:
        """Boolean mask over `codes` of the selected regions."""
        if not self.regions and not self.within:
            return np.ones(len(codes), dtype=bool)
        wanted = set(self.regions)
        out = np.array([c in wanted for c in codes], dtype=bool)
        for anc in self.within:
            if tree is None or anc not in tree:
                out |= np.array([c == anc for c in codes], dtype=bool)
                continue
            inside = set(tree.subtree(RegionCode(anc)))
            out |= np.array([c in inside for c in codes], dtype=bool)
        return out


@dataclass(frozen=True, slots=True)
class Perturbation:
    """Change an input or a node (`target`) by `op`/`amount` in the selected regions (and,
    in a table with periods, in the `periods` listed; empty = every period)."""

    target: str
    op: AdjustOp
    amount: float
    where: RegionSelector = RegionSelector()
    clip: tuple[float, float] | None = None
    periods: tuple[str, ...] = ()

    def adjustment(
        self, codes: Sequence[str], tree: RegionTree | None, periods: Sequence[str] = ()
    ) -> NodeAdjustment:
        """The adjustment over rows with these region codes (and periods)."""
        mask = self.where.mask(codes, tree)
        if self.periods and periods:
            mask = mask & np.isin(np.asarray(periods, dtype=object), list(self.periods))
        return NodeAdjustment(self.target, self.op, self.amount, mask, self.clip)


@dataclass(frozen=True, slots=True)
class DemandChange:
    """Add `amount` to a sector's demand-side perturbation c* (IIM)."""

    sector: str
    amount: float


@dataclass(frozen=True, slots=True)
class SectorSystem:
    """Interdependent sectors for the IIM: names, A* and the baseline perturbation c*."""

    sectors: tuple[str, ...]
    a_star: FloatArray
    c_star: FloatArray


@dataclass(frozen=True, slots=True)
class Scenario:
    """A what-if: perturbations, assets failed (or degraded) at the start, sector demand
    changes, and effects of assets on the index beyond the model's own `asset_effects`."""

    name: str
    perturbations: tuple[Perturbation, ...] = ()
    failed_assets: tuple[str, ...] = ()
    demand_changes: tuple[DemandChange, ...] = ()
    degraded_assets: tuple[str, ...] = ()
    asset_effects: tuple[AssetEffect, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeChange:
    """One changed (node, region): values before/after, difference, classes before/after."""

    node: str
    region: str
    baseline: float
    scenario: float
    delta: float
    baseline_class: int | None
    scenario_class: int | None
    period: str = ""


@dataclass(frozen=True)
class ScenarioOutcome:
    """Everything a scenario changed, against the baseline."""

    codes: tuple[str, ...]
    baseline: RiskResult
    scenario: RiskResult
    changes: tuple[NodeChange, ...]
    cascade: CascadeResult | None = None
    failed_by_region: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    degraded_by_region: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inoperability: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    effects: tuple[AppliedEffect, ...] = ()

    def delta(self, node: str) -> FloatArray:
        """Scenario minus baseline for one node, per region."""
        return self.scenario.values[node] - self.baseline.values[node]


def run_scenario(
    model: RiskModel,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    scenario: Scenario,
    *,
    tree: RegionTree | None = None,
    requirements: Requirements | None = None,
    sites: Mapping[str, AssetSite] | None = None,
    sectors: SectorSystem | None = None,
    periods: Sequence[str] = (),
) -> ScenarioOutcome:
    """Evaluate baseline and scenario; see `ScenarioOutcome`. `sites` says where each asset is
    and what kind it is; `periods` gives each row's period (optional)."""
    adjustments = [p.adjustment(codes, tree, periods) for p in scenario.perturbations]
    known = set(model.node_ids) | set(model.input_ids)
    unknown = [a.node for a in adjustments if a.node not in known]
    unknown += [e.target for e in scenario.asset_effects if e.target not in known]
    if unknown:
        raise KeyError(f"scenario targets unknown ids: {', '.join(unknown)}")
    states, result_cascade = _asset_states(scenario, requirements)
    latest = None
    if periods:
        latest = np.asarray(periods, dtype=object) == sort_periods(list(periods))[-1]
    effect_adjs, applied = effect_adjustments(
        [*model.asset_effects, *scenario.asset_effects],
        states,
        sites=sites or {},
        codes=codes,
        tree=tree,
        rows=latest,
    )
    baseline = evaluate(model, inputs, periods=periods)
    after = evaluate(model, inputs, adjustments=[*adjustments, *effect_adjs], periods=periods)
    assets = _assets_outcome(
        states, result_cascade, sites=sites or {}, sectors=sectors, scenario=scenario
    )
    return _outcome(model, codes, baseline=baseline, after=after, assets=assets, applied=applied)


@dataclass(frozen=True, slots=True)
class _AssetsOutcome:
    """What a scenario does beyond the index, the same at every level of a hierarchy."""

    cascade: CascadeResult | None
    failed_by_region: dict[str, tuple[str, ...]]
    degraded_by_region: dict[str, tuple[str, ...]]
    inoperability: dict[str, tuple[float, float]]


def _assets_outcome(
    states: Mapping[str, AssetState],
    result_cascade: CascadeResult | None,
    *,
    sites: Mapping[str, AssetSite],
    sectors: SectorSystem | None,
    scenario: Scenario,
) -> _AssetsOutcome:
    """The cascade, the failed and degraded assets per region, the sectors' inoperability."""
    failed, degraded = _by_region(states, sites)
    inoperability = _inoperability(sectors, scenario.demand_changes)
    return _AssetsOutcome(result_cascade, failed, degraded, inoperability)


def _outcome(
    model: RiskModel,
    codes: Sequence[str],
    *,
    baseline: RiskResult,
    after: RiskResult,
    assets: _AssetsOutcome,
    applied: Sequence[AppliedEffect],
) -> ScenarioOutcome:
    """The outcome on the regions `codes`: both results, what changed, and `assets`."""
    return ScenarioOutcome(
        codes=tuple(codes),
        baseline=baseline,
        scenario=after,
        changes=tuple(_changes(model, codes, baseline, after)),
        cascade=assets.cascade,
        failed_by_region=assets.failed_by_region,
        degraded_by_region=assets.degraded_by_region,
        inoperability=assets.inoperability,
        effects=tuple(applied),
    )


def _by_region(
    states: Mapping[str, AssetState], sites: Mapping[str, AssetSite]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Failed and degraded assets per region ("" for assets of unknown region)."""
    failed: dict[str, list[str]] = {}
    degraded: dict[str, list[str]] = {}
    for a in sorted(states):
        target = failed if states[a] is AssetState.FAILED else degraded
        site = sites.get(a)
        target.setdefault(site.region if site else "", []).append(a)
    return {k: tuple(v) for k, v in failed.items()}, {k: tuple(v) for k, v in degraded.items()}


def _asset_states(
    scenario: Scenario, requirements: Requirements | None
) -> tuple[dict[str, AssetState], CascadeResult | None]:
    """Failed assets after the cascade, and degraded ones (by it, or from the start)."""
    if not scenario.failed_assets and not scenario.degraded_assets:
        return {}, None
    result = cascade(requirements or {}, scenario.failed_assets)
    states = dict.fromkeys(result.failed, AssetState.FAILED)
    for a in [*sorted(result.degraded), *scenario.degraded_assets]:
        states.setdefault(a, AssetState.DEGRADED)
    return states, result if scenario.failed_assets else None


def _changes(
    model: RiskModel, codes: Sequence[str], before: RiskResult, after: RiskResult
) -> list[NodeChange]:
    out: list[NodeChange] = []
    for node in model.nodes:
        b, a = before.values[node.id], after.values[node.id]
        changed = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if not changed.any():
            continue
        scheme = model.scheme_for(node.id)
        cb = class_index(b, scheme.thresholds) if scheme else None
        ca = class_index(a, scheme.thresholds) if scheme else None
        for i in np.flatnonzero(changed):
            out.append(
                NodeChange(
                    node=node.id,
                    region=str(codes[int(i)]),
                    baseline=float(b[i]),
                    scenario=float(a[i]),
                    delta=float(a[i] - b[i]),
                    baseline_class=None if cb is None else int(cb[i]),
                    scenario_class=None if ca is None else int(ca[i]),
                    period=before.periods[int(i)] if before.periods else "",
                )
            )
    return out


def _inoperability(
    sectors: SectorSystem | None, changes: Sequence[DemandChange]
) -> dict[str, tuple[float, float]]:
    if sectors is None:
        return {}
    index = {s: i for i, s in enumerate(sectors.sectors)}
    c = np.array(sectors.c_star, dtype=np.float64).copy()
    for ch in changes:
        if ch.sector not in index:
            raise KeyError(f"unknown sector {ch.sector!r}")
        c[index[ch.sector]] += ch.amount
    before = static_inoperability(sectors.a_star, sectors.c_star)
    after = static_inoperability(sectors.a_star, c)
    return {s: (float(before[i]), float(after[i])) for s, i in index.items()}


@dataclass(frozen=True)
class LevelOutcome:
    """A scenario's outcome at one level of the region hierarchy."""

    level: str
    outcome: ScenarioOutcome


def run_scenario_hierarchy(
    model: RiskModel,
    codes: Sequence[str],
    inputs: Mapping[str, FloatArray],
    scenario: Scenario,
    tree: RegionTree,
    *,
    requirements: Requirements | None = None,
    sites: Mapping[str, AssetSite] | None = None,
    sectors: SectorSystem | None = None,
) -> list[LevelOutcome]:
    """Run a scenario at the leaves and at every level above them (leaves first).

    Perturbations of *inputs* are applied at the leaves and reach the upper levels through the
    roll-up (an exposure changed in some cells changes the province's summed exposure); those of
    *nodes* are applied at every level to the regions their selector picks there (a province
    selected by `within` is itself selected at the province level).
    """
    input_ids = set(model.input_ids)
    leaf_changes = [p for p in scenario.perturbations if p.target in input_ids]
    node_changes = tuple(p for p in scenario.perturbations if p.target not in input_ids)
    states, result_cascade = _asset_states(scenario, requirements)
    effects = [*model.asset_effects, *scenario.asset_effects]
    leaf_codes = list(codes)
    baseline_levels = roll_up_levels(model, leaf_codes, inputs, tree)
    perturbed = {k: np.asarray(v, dtype=float) for k, v in inputs.items()}
    leaf_adjs = [p.adjustment(leaf_codes, tree) for p in leaf_changes]
    leaf_adjs += effect_adjustments(
        [e for e in effects if e.target in input_ids],
        states,
        sites=sites or {},
        codes=leaf_codes,
        tree=tree,
    )[0]
    for adj in leaf_adjs:  # inputs change at the leaves and reach the levels above by roll-up
        perturbed[adj.node] = apply_adjustment(perturbed[adj.node], adj)
    scenario_levels = roll_up_levels(model, leaf_codes, perturbed, tree)
    assets = _assets_outcome(
        states, result_cascade, sites=sites or {}, sectors=sectors, scenario=scenario
    )
    out: list[LevelOutcome] = []
    for base_level, scen_level in zip(baseline_levels, scenario_levels, strict=True):
        level, level_codes = base_level.level, base_level.codes
        base_in, scen_in = base_level.inputs, scen_level.inputs
        adjustments = [p.adjustment(level_codes, tree) for p in node_changes]
        node_adjs, applied = effect_adjustments(
            [e for e in effects if e.target not in input_ids],
            states,
            sites=sites or {},
            codes=level_codes,
            tree=tree,
        )
        baseline = evaluate(model, base_in)
        after = evaluate(model, scen_in, adjustments=[*adjustments, *node_adjs])
        outcome = _outcome(
            model, level_codes, baseline=baseline, after=after, assets=assets, applied=applied
        )
        out.append(LevelOutcome(level, outcome))
    return out
