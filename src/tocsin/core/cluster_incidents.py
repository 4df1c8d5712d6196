"""Which open incident a cluster of public reports attaches to by itself, when its type has an
`attach_incident` rule and the cluster reaches the rule's size.

The candidates are the open incidents whose region holds the cluster's region (the region
itself or one above it) and whose domain is the cluster's domain or one above it (`supply`
holds `supply.energy`). Among several, the choice is the most specific one: the incident of
the nearest region, then of the nearest domain, then the most recently opened (ties: the
smallest id), so that one answer is reproducible. No candidate: the cluster stays unattached
(its warning rules still apply) and a person may attach it by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tocsin.core.domains import is_domain_within
from tocsin.core.incidents.model import Incident
from tocsin.core.regions import RegionCode, RegionTree


@dataclass(frozen=True, slots=True)
class Choice:
    """The incident chosen and why (for the audit trail)."""

    incident: Incident
    candidates: int
    why: str


def incident_for(
    region: str, domain: str, *, incidents: Sequence[Incident], tree: RegionTree
) -> Choice | None:
    """The open incident a cluster in `region` and `domain` attaches to (None: none fits)."""
    if RegionCode(region) not in tree:
        return None
    chain = [RegionCode(region), *tree.ancestors(RegionCode(region))]
    depth = {code: i for i, code in enumerate(chain)}
    fits = [
        i
        for i in incidents
        if i.is_open and i.region in depth and is_domain_within(domain, i.domain)
    ]
    if not fits:
        return None

    def rank(i: Incident) -> tuple[int, int, float, str]:
        return (depth[RegionCode(i.region)], -len(i.domain), -i.opened_at.timestamp(), i.id)

    chosen = min(fits, key=rank)
    why = f"the open incident of region {chosen.region} and domain {chosen.domain}" + (
        f", the most specific and most recent of {len(fits)}" if len(fits) > 1 else ""
    )
    return Choice(chosen, len(fits), why)
