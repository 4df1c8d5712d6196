"""Emergency plans: `plans.yaml`, validated against the catalogue with every problem reported.

The file is optional (no file: no plans, nothing activates by itself). Each problem names the
file, the path inside it and the reason, through `config_errors` like every other loader;
`tocsin check-config` runs the same validation. Besides the shape of the file it checks that
domains, regions, hierarchy levels and units exist, that a plan's response grows no milder as
its levels rise, that a task waits only for tasks of its own stage without a cycle, and that
each task's unit resolves in every region of the plan's subtree.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tocsin.adapters.config_errors import read_model
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.incidents.model import ResponseLevel
from tocsin.core.incidents.plans import (
    DEFAULT_OVERDUE,
    EmergencyPlan,
    PlanBook,
    PlanLevel,
    TaskTemplate,
    UnitRef,
    resolve_unit,
)
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode
from tocsin.core.units import UnitCode
from tocsin.core.warnings.escalation import (
    TO_PARENT,
    TO_RESPONSIBLE,
    EscalationPolicy,
    EscalationStep,
)

FILE = "plans.yaml"
SHOWN_REGIONS = 5  # regions named in an unresolved-unit problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitSpec(_Strict):
    """`{level: district, domain: fire}` (relative to the region) or `{unit: CODE}`."""

    level: str | None = Field(default=None, min_length=1)
    domain: str | None = Field(default=None, min_length=1)
    unit: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> UnitSpec:
        if self.unit is not None and (self.level is not None or self.domain is not None):
            raise ValueError("name a unit outright (unit) or relative to the region, not both")
        return self


class TaskSpec(_Strict):
    """A task template."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1, max_length=500)
    unit: UnitSpec
    acknowledge_within_s: float = Field(gt=0)
    complete_within_s: float = Field(gt=0)
    checklist: list[str] = Field(default=[], max_length=100)
    after: list[str] = []
    domain: str | None = None


class LevelSpec(_Strict):
    """What a plan does at one warning level."""

    level: Level
    response: ResponseLevel
    tasks: list[TaskSpec] = []


class StepSpec(_Strict):
    """An overdue step: `after_s` past the deadline, to `responsible`, `parent` or a unit."""

    after_s: float = Field(ge=0)
    to: str = TO_PARENT


class OverdueSpec(_Strict):
    """Reminders and escalations of overdue tasks."""

    steps: list[StepSpec] = Field(min_length=1)


class PlanSpec(_Strict):
    """An emergency plan."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=500)
    domain: str
    region: str | None = None
    lead: UnitSpec | None = None
    levels: list[LevelSpec] = Field(min_length=1)
    stand_down: list[TaskSpec] = []
    overdue: OverdueSpec | None = None
    report_every_s: float | None = Field(default=None, ge=60)


class PlansFile(_Strict):
    """plans.yaml."""

    overdue: OverdueSpec | None = None
    plans: list[PlanSpec] = []


class _Checker:
    """Builds core types from specs, adding cross-reference problems as it goes."""

    def __init__(self, catalog: Catalog, where: Path, *, problems: list[Problem]) -> None:
        self.catalog = catalog
        self.where = str(where)
        self.problems = problems

    def add(self, path: str, reason: str) -> None:
        self.problems.append(Problem(self.where, path, reason))

    def domain(self, code: str | None, path: str) -> None:
        if code is not None and DomainCode(code) not in self.catalog.domains:
            self.add(path, f"unknown domain {code!r}")

    def unit_ref(self, spec: UnitSpec, path: str) -> UnitRef:
        if spec.unit is not None and UnitCode(spec.unit) not in self.catalog.units:
            self.add(f"{path}.unit", f"unknown unit {spec.unit!r}")
        levels = self.catalog.regions.levels
        if spec.level is not None and spec.level not in levels:
            self.add(f"{path}.level", f"unknown level {spec.level!r} (one of {', '.join(levels)})")
        self.domain(spec.domain, f"{path}.domain")
        return UnitRef(spec.level, spec.domain, spec.unit)

    def policy(self, spec: OverdueSpec | None, path: str) -> EscalationPolicy | None:
        if spec is None:
            return None
        steps = []
        for k, s in enumerate(spec.steps):
            if s.to not in (TO_PARENT, TO_RESPONSIBLE) and UnitCode(s.to) not in self.catalog.units:
                self.add(f"{path}.steps[{k}].to", f"unknown unit {s.to!r}")
            if k and s.after_s < spec.steps[k - 1].after_s:
                self.add(f"{path}.steps[{k}].after_s", "steps must not go back in time")
            steps.append(EscalationStep(timedelta(seconds=s.after_s), s.to))
        return EscalationPolicy("task overdue", tuple(steps))

    def tasks(self, specs: list[TaskSpec], path: str) -> tuple[TaskTemplate, ...]:
        ids = [t.id for t in specs]
        out = []
        for i, t in enumerate(specs):
            at = f"{path}[{i}] ({t.id})"
            if ids.index(t.id) != i:
                self.add(f"{at}.id", f"task id {t.id!r} appears twice in this stage")
            if t.acknowledge_within_s > t.complete_within_s:
                self.add(f"{at}.acknowledge_within_s", "longer than complete_within_s")
            for name in t.after:
                if name not in ids or name == t.id:
                    self.add(f"{at}.after", f"{name!r} is not another task of this stage")
            self.domain(t.domain, f"{at}.domain")
            out.append(
                TaskTemplate(
                    t.id,
                    t.title,
                    self.unit_ref(t.unit, f"{at}.unit"),
                    timedelta(seconds=t.acknowledge_within_s),
                    timedelta(seconds=t.complete_within_s),
                    tuple(t.checklist),
                    tuple(t.after),
                    t.domain,
                )
            )
        self._cycles(specs, path)
        return tuple(out)

    def _cycles(self, specs: list[TaskSpec], path: str) -> None:
        after = {t.id: set(t.after) for t in specs}
        for start in after:
            seen: set[str] = set()
            stack = list(after[start])
            while stack:
                node = stack.pop()
                if node == start:
                    self.add(f"{path} ({start})", f"task {start!r} waits for itself")
                    break
                if node not in seen:
                    seen.add(node)
                    stack.extend(after.get(node, ()))

    def levels(self, specs: list[LevelSpec], path: str) -> tuple[PlanLevel, ...]:
        out: list[PlanLevel] = []
        for i, spec in enumerate(specs):
            at = f"{path}[{i}]"
            if any(p.level is spec.level for p in out):
                self.add(f"{at}.level", f"level {spec.level.value} appears twice")
                continue
            tasks = self.tasks(spec.tasks, f"{at}.tasks")
            out.append(PlanLevel(spec.level, spec.response, tasks))
        out.sort(key=lambda p: p.level.rank)
        for low, high in itertools.pairwise(out):
            if high.response.rank < low.response.rank:
                self.add(
                    path,
                    f"response {high.response.value} at {high.level.value} is milder than "
                    f"{low.response.value} at {low.level.value}",
                )
        return tuple(out)

    def plan(self, spec: PlanSpec, path: str, *, default: EscalationPolicy) -> EmergencyPlan:
        self.domain(spec.domain, f"{path}.domain")
        if spec.region is not None and spec.region not in self.catalog.regions:
            self.add(f"{path}.region", f"unknown region {spec.region!r}")
        return EmergencyPlan(
            id=spec.id,
            name=spec.name,
            domain=spec.domain,
            levels=self.levels(spec.levels, f"{path}.levels"),
            region=spec.region,
            lead=self.unit_ref(spec.lead, f"{path}.lead") if spec.lead else None,
            stand_down=self.tasks(spec.stand_down, f"{path}.stand_down"),
            overdue=self.policy(spec.overdue, f"{path}.overdue") or default,
            report_every=(timedelta(seconds=spec.report_every_s) if spec.report_every_s else None),
        )

    def resolvable(self, plan: EmergencyPlan, path: str) -> None:
        """Every task's unit resolves in every region of the plan's subtree."""
        tree = self.catalog.regions
        if plan.domain not in self.catalog.domains:
            return
        if plan.region is not None and plan.region not in tree:
            return
        regions = list(tree.subtree(RegionCode(plan.region))) if plan.region else list(tree.regions)
        ancestors = self.catalog.domain_ancestors(DomainCode(plan.domain))
        stages = [(f"levels ({p.level.value})", p.tasks) for p in plan.levels]
        for stage, templates in [*stages, ("stand_down", plan.stand_down)]:
            for k, t in enumerate(templates):
                missing = [
                    r for r in regions if self._unresolved(t, r, plan=plan, ancestors=ancestors)
                ]
                if missing:
                    shown = ", ".join(missing[:SHOWN_REGIONS])
                    more = f" and {len(missing) - SHOWN_REGIONS} more" if len(missing) > 5 else ""
                    self.add(
                        f"{path}.{stage}.tasks[{k}] ({t.id}).unit",
                        f"no unit answers for {t.unit.describe()} in {shown}{more}",
                    )

    def _unresolved(
        self,
        t: TaskTemplate,
        region: str,
        *,
        plan: EmergencyPlan,
        ancestors: tuple[DomainCode, ...],
    ) -> bool:
        found = resolve_unit(
            t.unit,
            region=region,
            domain=plan.domain,
            units=self.catalog.units,
            tree=self.catalog.regions,
            domain_ancestors=ancestors,
        )
        return found is None


def load_plans(directory: Path, catalog: Catalog) -> PlanBook:
    """Read and validate plans.yaml (absent: no plans); raise InvalidConfig listing problems."""
    path = directory / FILE
    if not path.exists():
        return PlanBook()
    problems: list[Problem] = []
    doc = read_model(path, PlansFile, problems)
    if doc is None:
        raise InvalidConfig(problems)
    check = _Checker(catalog, path, problems=problems)
    default = check.policy(doc.overdue, "overdue") or DEFAULT_OVERDUE
    plans = []
    ids = [p.id for p in doc.plans]
    for i, spec in enumerate(doc.plans):
        at = f"plans[{i}] ({spec.id})"
        if ids.index(spec.id) != i:
            check.add(f"{at}.id", f"plan id {spec.id!r} appears twice")
        plan = check.plan(spec, at, default=default)
        check.resolvable(plan, at)
        plans.append(plan)
    if problems:
        raise InvalidConfig(problems)
    return PlanBook(tuple(plans))
