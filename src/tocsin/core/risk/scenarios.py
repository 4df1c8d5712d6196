"""What-if scenarios: perturb indicators or scores by region, fail assets, change sector demand.

A scenario is data. `run_scenario` evaluates the baseline and the perturbed model on the same
regions and reports, per node and region, both values, the difference and any class change; the
asset cascade (failed and degraded assets, per region) and the sectors' inoperability (IIM)
before and after the demand change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tocsin.core.cascades.assets import CascadeResult, Requirements, cascade
from tocsin.core.cascades.iim import static_inoperability
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.risk.classes import class_index
from tocsin.core.risk.adjustments import AdjustOp, NodeAdjustment, apply_adjustment
from tocsin.core.risk.evaluate import RiskResult, evaluate
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.rollup import roll_up_levels

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
    """Change an input or a node (`target`) by `op`/`amount` in the selected regions."""

    target: str
    op: AdjustOp
    amount: float
    where: RegionSelector = RegionSelector()
    clip: tuple[float, float] | None = None


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
    """A what-if: perturbations, assets failed at the start, sector demand changes."""

    name: str
    perturbations: tuple[Perturbation, ...] = ()
    failed_assets: tuple[str, ...] = ()
    demand_changes: tuple[DemandChange, ...] = ()


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
    asset_regions: Mapping[str, str] | None = None,
    sectors: SectorSystem | None = None,
) -> ScenarioOutcome:
    """Evaluate baseline and scenario; see `ScenarioOutcome`."""
    adjustments = [
        NodeAdjustment(p.target, p.op, p.amount, p.where.mask(codes, tree), p.clip)
        for p in scenario.perturbations
    ]
    known = set(model.node_ids) | set(model.input_ids)
    unknown = [a.node for a in adjustments if a.node not in known]
    if unknown:
        raise KeyError(f"scenario targets unknown ids: {', '.join(unknown)}")
    baseline = evaluate(model, inputs)
    after = evaluate(model, inputs, adjustments=adjustments)
    result_cascade = None
    failed: dict[str, list[str]] = {}
    degraded: dict[str, list[str]] = {}
    if scenario.failed_assets:
        result_cascade = cascade(requirements or {}, scenario.failed_assets)
        regions = asset_regions or {}
        for a in sorted(result_cascade.failed):
            failed.setdefault(regions.get(a, ""), []).append(a)
        for a in sorted(result_cascade.degraded):
            degraded.setdefault(regions.get(a, ""), []).append(a)
    return ScenarioOutcome(
        codes=tuple(codes),
        baseline=baseline,
        scenario=after,
        changes=tuple(_changes(model, codes, baseline, after)),
        cascade=result_cascade,
        failed_by_region={k: tuple(v) for k, v in failed.items()},
        degraded_by_region={k: tuple(v) for k, v in degraded.items()},
        inoperability=_inoperability(sectors, scenario.demand_changes),
    )


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
    asset_regions: Mapping[str, str] | None = None,
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
    leaf_codes = list(codes)
    baseline_levels = roll_up_levels(model, leaf_codes, inputs, tree)
    perturbed = dict(inputs)
    for p in leaf_changes:
        adj = NodeAdjustment(p.target, p.op, p.amount, p.where.mask(leaf_codes, tree), p.clip)
        perturbed[p.target] = apply_adjustment(np.asarray(perturbed[p.target], dtype=float), adj)
    scenario_levels = roll_up_levels(model, leaf_codes, perturbed, tree)
    out: list[LevelOutcome] = []
    for depth, ((level, level_codes, base_in), (_, _, scen_in)) in enumerate(
        zip(baseline_levels, scenario_levels, strict=True)
    ):
        adjustments = [
            NodeAdjustment(p.target, p.op, p.amount, p.where.mask(level_codes, tree), p.clip)
            for p in node_changes
        ]
        baseline = evaluate(model, base_in)
        after = evaluate(model, scen_in, adjustments=adjustments)
        outcome = ScenarioOutcome(
            codes=tuple(level_codes),
            baseline=baseline,
            scenario=after,
            changes=tuple(_changes(model, level_codes, baseline, after)),
        )
        if depth == 0 and (scenario.failed_assets or scenario.demand_changes):
            extra = run_scenario(
                model,
                level_codes,
                base_in,
                Scenario(scenario.name, (), scenario.failed_assets, scenario.demand_changes),
                tree=tree,
                requirements=requirements,
                asset_regions=asset_regions,
                sectors=sectors,
            )
            outcome = ScenarioOutcome(
                codes=outcome.codes,
                baseline=baseline,
                scenario=after,
                changes=outcome.changes,
                cascade=extra.cascade,
                failed_by_region=extra.failed_by_region,
                degraded_by_region=extra.degraded_by_region,
                inoperability=extra.inoperability,
            )
        out.append(LevelOutcome(level, outcome))
    return out
