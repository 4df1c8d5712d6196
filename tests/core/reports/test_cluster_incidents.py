"""Which open incident a cluster attaches to: the nearest region, then the nearest domain, then
the most recent; never a closed one, another branch of the tree, or a look-alike domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.core.cluster_incidents import incident_for
from tocsin.core.domains import is_domain_within
from tocsin.core.incidents.model import Incident, IncidentId, IncidentState
from tocsin.core.regions import Region, RegionCode, RegionTree

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TREE = RegionTree.build(
    ("nation", "province", "district"),
    [
        Region(RegionCode("N"), "N", "nation", None),
        Region(RegionCode("P1"), "P1", "province", RegionCode("N")),
        Region(RegionCode("D11"), "D11", "district", RegionCode("P1")),
        Region(RegionCode("P2"), "P2", "province", RegionCode("N")),
    ],
)


def incident(key: str, region: str, domain: str, *, minute: int, closed: bool = False) -> Incident:
    at = T0 + timedelta(minutes=minute)
    state = IncidentState.CLOSED if closed else IncidentState.OPEN
    return Incident(IncidentId(key), key, region, domain, state, at, at)


def chosen(*incidents: Incident) -> str | None:
    found = incident_for("D11", "supply.energy", incidents=incidents, tree=TREE)
    return found.incident.id if found else None


def test_the_nearest_region_then_domain_then_the_most_recent_wins() -> None:
    wide = incident("wide", "N", "supply", minute=9)
    province = incident("province", "P1", "supply.energy", minute=1)
    assert chosen(wide, province) == "province"
    near_domain = incident("exact", "P1", "supply.energy", minute=0)
    near_region_wide_domain = incident("d-wide", "D11", "supply", minute=0)
    assert chosen(near_domain, near_region_wide_domain) == "d-wide"
    newer = incident("newer", "P1", "supply.energy", minute=5)
    assert chosen(province, newer) == "newer"


def test_closed_other_branches_and_look_alike_domains_do_not_fit() -> None:
    assert chosen(incident("c", "D11", "supply.energy", minute=0, closed=True)) is None
    assert chosen(incident("p2", "P2", "supply.energy", minute=0)) is None
    assert chosen(incident("x", "D11", "supply.energy2", minute=0)) is None
    assert chosen(incident("y", "D11", "supplyx", minute=0)) is None
    assert is_domain_within("supply.energy", "supply")
    assert not is_domain_within("supply", "supply.energy")
    assert incident_for("nowhere", "supply", incidents=[], tree=TREE) is None
