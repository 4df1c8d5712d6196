"""Inhibition: an open warning that says more makes others redundant while it lasts.

Two scopes, both configurable as rules (`routes.yaml`, `inhibit_rules`):

- `region_subtree`: a source warning in a region inhibits matching target warnings in the regions
  *below* it (a red flood warning for a province inhibits the yellow flood warnings of its
  districts); `equal` names labels that must agree (by default `domain`).
- `dependent_asset`: a source warning on an asset inhibits target warnings on assets that depend
  on it, directly or through others (a red on a substation inhibits the water works it feeds).

As in Alertmanager, a target never inhibits itself, and inhibition is computed when a group is
evaluated, never stored: when the source is lifted the targets are notified again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from tocsin.core.levels import Level
from tocsin.core.warnings.selectors import Selector, Target


class InhibitScope(StrEnum):
    """How a source relates to the targets it inhibits."""

    REGION_SUBTREE = "region_subtree"
    DEPENDENT_ASSET = "dependent_asset"


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Sources matching `source` inhibit targets matching `target` within `scope`."""

    name: str
    scope: InhibitScope
    source: Selector = field(default_factory=Selector)
    target: Selector = field(default_factory=Selector)
    equal: tuple[str, ...] = ()


def is_related(rule: InhibitRule, source: Target, target: Target) -> bool:
    """Guard: the source stands in the rule's relation to the target."""
    if source.warning_id == target.warning_id:
        return False
    if any(source.labels.get(n, "") != target.labels.get(n, "") for n in rule.equal):
        return False
    if rule.scope is InhibitScope.REGION_SUBTREE:
        return source.region in target.regions[1:]
    asset = source.labels.get("asset", "")
    return bool(asset) and asset in target.depends_on


def inhibited_by(
    target: Target, sources: Iterable[Target], rules: Iterable[InhibitRule]
) -> tuple[str, ...]:
    """Ids of the open warnings that inhibit `target` (sorted; empty = not inhibited)."""
    rules = [r for r in rules if r.target.matches(target)]
    if not rules:
        return ()
    found = {
        s.warning_id
        for s in sources
        for r in rules
        if r.source.matches(s) and is_related(r, s, target)
    }
    return tuple(sorted(found))


def default_inhibit_rules() -> tuple[InhibitRule, ...]:
    """The built-in rules: a red region warning inhibits lower ones of its domain below it;
    a red or orange asset warning inhibits warnings on the assets that depend on it."""
    return (
        InhibitRule(
            "red-region-over-subregions",
            InhibitScope.REGION_SUBTREE,
            source=Selector(levels=frozenset({Level.RED})),
            target=Selector(levels=frozenset({Level.BLUE, Level.YELLOW, Level.ORANGE})),
            equal=("domain",),
        ),
        InhibitRule(
            "asset-over-dependants",
            InhibitScope.DEPENDENT_ASSET,
            source=Selector(levels=frozenset({Level.ORANGE, Level.RED})),
        ),
    )
