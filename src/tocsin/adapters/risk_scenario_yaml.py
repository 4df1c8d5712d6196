"""What-if scenarios from YAML: perturbations, failed or degraded assets, their effects on the
index, sector demand. Problems name the file, the path inside it and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tocsin.adapters.config_errors import read_document
from tocsin.adapters.risk_model_yaml import AssetEffectYaml, validation_problems
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.risk.adjustments import AdjustOp
from tocsin.core.risk.infrastructure import AssetSite
from tocsin.core.risk.scenarios import (
    DemandChange,
    Perturbation,
    RegionSelector,
    Scenario,
    SectorSystem,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerturbYaml(_Strict):
    """One perturbation of a scenario file."""

    target: str
    op: AdjustOp = AdjustOp.ADD
    amount: float
    regions: list[str] = []
    within: list[str] = []
    periods: list[str | int] = []
    clip: tuple[float, float] | None = None


class DemandYaml(_Strict):
    """A change of a sector's demand-side perturbation."""

    sector: str
    amount: float


class AssetYaml(_Strict):
    """An asset, its kind, and what it needs: `depends_on` (all needed) and/or `requires`
    (groups of alternatives, one of each group needed)."""

    code: str
    region: str = ""
    kind: str = ""
    depends_on: list[str] = []
    requires: list[list[str]] = []


class SectorsYaml(_Strict):
    """Interdependent sectors for the IIM."""

    names: list[str] = Field(min_length=1)
    a_star: list[list[float]]
    c_star: list[float] | None = None


class ScenarioYaml(_Strict):
    """A scenario file."""

    name: str = "scenario"
    perturb: list[PerturbYaml] = []
    fail_assets: list[str] = []
    degrade_assets: list[str] = []
    demand: list[DemandYaml] = []
    assets: list[AssetYaml] = []
    asset_effects: list[AssetEffectYaml] = []
    sectors: SectorsYaml | None = None


@dataclass(frozen=True)
class ScenarioFile:
    """A validated scenario with the asset graph (requirements, sites) and sectors it brings."""

    scenario: Scenario
    requirements: dict[str, tuple[tuple[str, ...], ...]]
    sites: dict[str, AssetSite]
    sectors: SectorSystem | None


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read and validate a scenario YAML file (errors name file, path and reason)."""
    problems: list[Problem] = []
    data = read_document(Path(path), problems)
    if problems:
        raise InvalidConfig(problems)
    return scenario_from_mapping(data, where=str(path))


def _sectors(spec: SectorsYaml, where: str, problems: list[Problem]) -> SectorSystem | None:
    n = len(spec.names)
    a = np.array(spec.a_star, dtype=np.float64)
    c = np.zeros(n) if spec.c_star is None else np.array(spec.c_star)
    if a.shape != (n, n) or c.shape != (n,):
        problems.append(Problem(where, "sectors", f"a_star must be {n}×{n}, c_star {n} long"))
        return None
    return SectorSystem(tuple(spec.names), a, c)


def scenario_from_mapping(data: Any, *, where: str = "<scenario>") -> ScenarioFile:
    """Validate a scenario given as parsed data."""
    try:
        spec = ScenarioYaml.model_validate(data)
    except ValidationError as err:
        raise InvalidConfig(validation_problems(err, data, where)) from err
    problems: list[Problem] = []
    requirements = {
        a.code: tuple((d,) for d in a.depends_on) + tuple(tuple(g) for g in a.requires)
        for a in spec.assets
    }
    known = set(requirements) | {s for gs in requirements.values() for g in gs for s in g}
    for section in ("fail_assets", "degrade_assets"):
        names: list[str] = getattr(spec, section)
        problems.extend(
            Problem(where, section, f"unknown asset {name!r}")
            for name in names
            if spec.assets and name not in known
        )
    sectors = None if spec.sectors is None else _sectors(spec.sectors, where, problems)
    if problems:
        raise InvalidConfig(problems)
    scenario = Scenario(
        name=spec.name,
        perturbations=tuple(
            Perturbation(
                p.target,
                p.op,
                p.amount,
                RegionSelector(tuple(p.regions), tuple(p.within)),
                p.clip,
                tuple(str(x) for x in p.periods),
            )
            for p in spec.perturb
        ),
        failed_assets=tuple(spec.fail_assets),
        demand_changes=tuple(DemandChange(d.sector, d.amount) for d in spec.demand),
        degraded_assets=tuple(spec.degrade_assets),
        asset_effects=tuple(e.build() for e in spec.asset_effects),
    )
    sites = {a.code: AssetSite(a.region, a.kind) for a in spec.assets if a.region}
    return ScenarioFile(scenario, requirements, sites, sectors)
