"""Emergency plans: for a domain, a region subtree and a warning level, the response level and
the tasks to give, each to a unit named relative to the warning's region.

A plan's levels start at its activation level (the lowest it lists): a warning in its domain
and region that reaches that level activates it, and a higher level adds that level's tasks. A
task template names its unit relative to the region — `{level: district, domain: fire}` is "the
district's fire unit": the unit of the warning region's district (the region itself or its
ancestor at that hierarchy level) that handles fire, one naming the domain explicitly before a
catch-all one. When that region has none, the first unit up the chain that does takes the task
(and the assignment says so). `{unit: CODE}` names a unit outright.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from tocsin.core.domains import DomainCode
from tocsin.core.incidents.model import ResponseLevel
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.units import ResponsibleUnit, UnitCode, responsible_chain
from tocsin.core.warnings.escalation import EscalationPolicy, EscalationStep

STAND_DOWN: Final = "stand_down"
MANUAL: Final = "manual"
DEFAULT_OVERDUE: Final = EscalationPolicy(
    "task overdue",
    (EscalationStep(timedelta(0), "responsible"), EscalationStep(timedelta(minutes=30), "parent")),
)


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit named relative to a region (`level`, `domain`), or outright (`code`)."""

    level: str | None = None
    domain: str | None = None
    code: str | None = None

    def describe(self) -> str:
        """In words: "the district's natural.flood unit", "unit NAT"."""
        if self.code is not None:
            return f"unit {self.code}"
        where = f"the {self.level}'s" if self.level else "the region's"
        return f"{where} {self.domain} unit" if self.domain else f"{where} unit"


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """A task a plan gives: title, unit, deadlines (from when it reaches the unit), checklist,
    and the templates of the same stage it waits for."""

    id: str
    title: str
    unit: UnitRef
    accept_within: timedelta
    complete_within: timedelta
    checklist: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    domain: str | None = None  # the domain it acts in (default: the unit's, else the plan's)


@dataclass(frozen=True, slots=True)
class PlanLevel:
    """What a plan does at one warning level."""

    level: Level
    response: ResponseLevel
    tasks: tuple[TaskTemplate, ...] = ()


@dataclass(frozen=True, slots=True)
class EmergencyPlan:
    """A plan for a domain (and its sub-domains) in a region subtree (None: everywhere)."""

    id: str
    name: str
    domain: str
    levels: tuple[PlanLevel, ...]  # by rank, lowest first
    region: str | None = None
    lead: UnitRef | None = None
    stand_down: tuple[TaskTemplate, ...] = ()
    overdue: EscalationPolicy = DEFAULT_OVERDUE
    report_every: timedelta | None = None

    @property
    def activation_level(self) -> Level:
        """The lowest level the plan lists: a warning at or above it activates the plan."""
        return self.levels[0].level

    def level(self, level: Level) -> PlanLevel | None:
        """The plan's entry for a level, if it lists it."""
        return next((p for p in self.levels if p.level is level), None)

    def levels_between(self, above: Level | None, upto: Level) -> tuple[PlanLevel, ...]:
        """The plan's levels above `above` (None: from the start) up to and including `upto`."""
        low = above.rank if above is not None else 0
        return tuple(p for p in self.levels if low < p.level.rank <= upto.rank)

    def response_at(self, level: Level) -> ResponseLevel | None:
        """The response level for a warning level (that of the highest plan level reached)."""
        reached = [p for p in self.levels if p.level.rank <= level.rank]
        return reached[-1].response if reached else None


@dataclass(frozen=True, slots=True)
class PlanBook:
    """Every plan, in file order (the first that applies to a warning is used)."""

    plans: tuple[EmergencyPlan, ...] = ()

    def get(self, plan_id: str) -> EmergencyPlan | None:
        """A plan by id."""
        return next((p for p in self.plans if p.id == plan_id), None)


def applies(
    plan: EmergencyPlan,
    *,
    region: str,
    domain: str,
    tree: RegionTree,
    domain_ancestors: Sequence[str],
) -> bool:
    """True when the plan covers the region (its subtree) and the domain (or a parent)."""
    if plan.domain != domain and plan.domain not in domain_ancestors:
        return False
    if plan.region is None:
        return True
    return region in tree and tree.is_within(RegionCode(region), RegionCode(plan.region))


def plan_for(
    book: PlanBook,
    *,
    region: str,
    domain: str,
    tree: RegionTree,
    domain_ancestors: Sequence[str],
) -> EmergencyPlan | None:
    """The first plan that applies to a warning's region and domain."""
    for plan in book.plans:
        if applies(
            plan, region=region, domain=domain, tree=tree, domain_ancestors=domain_ancestors
        ):
            return plan
    return None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The unit a reference resolved to, and why that one (said in words)."""

    unit: ResponsibleUnit
    why: str


def level_region(tree: RegionTree, region: str, *, level: str | None) -> str | None:
    """The region itself or its ancestor at a hierarchy level (None: none at that level)."""
    if region not in tree:
        return None
    if level is None:
        return region
    for code in (RegionCode(region), *tree.ancestors(RegionCode(region))):
        if tree.regions[code].level == level:
            return code
    return None


def resolve_unit(
    ref: UnitRef,
    *,
    region: str,
    domain: str,
    units: Mapping[UnitCode, ResponsibleUnit],
    tree: RegionTree,
    domain_ancestors: tuple[DomainCode, ...] = (),
) -> Resolved | None:
    """The unit a reference names for a region (None: nobody, up to the top)."""
    if ref.code is not None:
        unit = units.get(UnitCode(ref.code))
        return Resolved(unit, ref.describe()) if unit is not None else None
    start = level_region(tree, region, level=ref.level) or (region if region in tree else None)
    if start is None:
        return None
    wanted = DomainCode(ref.domain or domain)
    ancestors = domain_ancestors if ref.domain is None else ()
    chain = responsible_chain(
        units, tree, region=RegionCode(start), domain=wanted, domain_ancestors=ancestors
    )
    if not chain:
        return None
    if chain[0].region == start:
        return Resolved(chain[0], ref.describe())
    return Resolved(chain[0], f"{ref.describe()}: none in {start}, so {chain[0].code} above it")


def parent_chain(
    unit: ResponsibleUnit,
    *,
    domain: str,
    units: Mapping[UnitCode, ResponsibleUnit],
    tree: RegionTree,
    domain_ancestors: tuple[DomainCode, ...] = (),
) -> list[str]:
    """The unit, then the units responsible for the domain above its region (its parent
    region's unit first): the chain a task's reminders and escalations walk."""
    out = [str(unit.code)]
    if unit.region not in tree:
        return out
    parent = tree.regions[unit.region].parent
    if parent is None:
        return out
    above = responsible_chain(
        units, tree, region=parent, domain=DomainCode(domain), domain_ancestors=domain_ancestors
    )
    out += [str(u.code) for u in above if u.code not in out]
    return out
