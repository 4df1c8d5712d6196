"""The access policy, pure: scopes from units, narrowing by tokens, what a scope sees, and the
refusals' reasons."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.access import (
    EVERYTHING,
    NOTHING,
    Placement,
    Scope,
    domain_subtrees,
    narrow,
    require,
    require_place,
    require_places,
    restricted,
    sees,
    unit_scope,
    user_principal,
)
from tocsin.core.domains import Domain, DomainCode
from tocsin.core.errors import Forbidden
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.units import ResponsibleUnit, UnitCode
from tocsin.core.users import Permission, Role, User, UserName

R = RegionCode
TREE = RegionTree.build(
    ("nation", "province", "district"),
    [
        Region(R("N"), "N", "nation"),
        Region(R("P1"), "P1", "province", R("N")),
        Region(R("P2"), "P2", "province", R("N")),
        Region(R("D11"), "D11", "district", R("P1")),
        Region(R("D21"), "D21", "district", R("P2")),
    ],
)
D = DomainCode
DOMAINS = {
    D("natural"): Domain(D("natural"), "Natural", "Geo"),
    D("natural.flood"): Domain(D("natural.flood"), "Flood", "Met", D("natural")),
    D("natural.flood.flash"): Domain(D("natural.flood.flash"), "Flash", "Met", D("natural.flood")),
    D("infrastructure.power"): Domain(D("infrastructure.power"), "Power", "Infra"),
}
UNITS = {
    UnitCode("NAT"): ResponsibleUnit(UnitCode("NAT"), "National", R("N")),
    UnitCode("P1-CP"): ResponsibleUnit(UnitCode("P1-CP"), "P1", R("P1")),
    UnitCode("FLOOD"): ResponsibleUnit(UnitCode("FLOOD"), "Flood", R("P1"), (D("natural"),)),
    UnitCode("GRID"): ResponsibleUnit(
        UnitCode("GRID"), "Grid", R("N"), (D("infrastructure.power"),)
    ),
}


def _scope(unit: str | None) -> Scope:
    return unit_scope(UNITS.get(UnitCode(unit or "")), TREE, DOMAINS)


def test_a_unit_at_the_root_for_every_domain_is_national() -> None:
    assert _scope("NAT").national
    assert _scope("P1-CP") == Scope(frozenset({"P1", "D11"}), None, _scope("P1-CP").named)
    assert _scope("GRID").regions is None
    assert _scope("GRID").domains == frozenset({"infrastructure.power"})
    assert _scope(None) == NOTHING


def test_a_domain_covers_its_sub_domains() -> None:
    assert domain_subtrees(DOMAINS, ["natural"]) == {
        "natural",
        "natural.flood",
        "natural.flood.flash",
    }
    assert sees(_scope("FLOOD"), Placement("D11", "natural.flood.flash"))
    assert not sees(_scope("FLOOD"), Placement("D11", "infrastructure.power"))
    assert not sees(_scope("FLOOD"), Placement("D21", "natural.flood"))


def test_a_place_spanning_everything_is_seen_only_without_that_limit() -> None:
    every_region = Placement(None, "infrastructure.power")
    every_domain = Placement("D11", None)
    assert sees(_scope("GRID"), every_region)
    assert not sees(_scope("P1-CP"), every_region)
    assert sees(_scope("P1-CP"), every_domain)
    assert not sees(_scope("FLOOD"), every_domain)
    assert not sees(NOTHING, Placement("D11", "natural"))


@given(
    st.sampled_from(["NAT", "P1-CP", "FLOOD", "GRID"]),
    st.sampled_from(["NAT", "P1-CP", "FLOOD", "GRID"]),
)
def test_narrowing_never_widens(user_unit: str, token_unit: str) -> None:
    mine, limit = _scope(user_unit), _scope(token_unit)
    both = narrow(mine, limit)
    for region in [*TREE.regions, None]:
        for domain in [*DOMAINS, None]:
            place = Placement(region, domain)
            assert sees(both, place) == (sees(mine, place) and sees(limit, place))


def test_a_token_carries_at_most_its_users_permissions() -> None:
    member = user_principal(
        User(UserName("uma"), Role.UNIT_MEMBER, "P1-CP"), units=UNITS, tree=TREE, domains=DOMAINS
    )
    wider = restricted(member, permissions=[Permission.READ, Permission.INGEST])
    assert wider.permissions == frozenset({Permission.READ})
    with pytest.raises(Forbidden, match="role unit_member may not ingest"):
        require(wider, Permission.INGEST)
    reader = restricted(member, permissions=[Permission.READ], token_id="tk_1")
    with pytest.raises(Forbidden, match="this token of uma may not acknowledge"):
        require(reader, Permission.ACKNOWLEDGE)
    admin = user_principal(
        User(UserName("root"), Role.ADMIN), units=UNITS, tree=TREE, domains=DOMAINS
    )
    assert admin.scope == EVERYTHING


def test_refusals_name_the_principal_and_scope_not_the_resource() -> None:
    flood = user_principal(
        User(UserName("fay"), Role.ANALYST, "FLOOD"), units=UNITS, tree=TREE, domains=DOMAINS
    )
    with pytest.raises(Forbidden) as refused:
        require_place(flood, Placement("D21", "natural.flood"), action="acknowledging warning w9")
    assert str(refused.value) == (
        "acknowledging warning w9: outside the scope of fay "
        "(region P1 and below; domains natural); refused"
    )
    placed = [(f"rows[{i}]", Placement("D21" if i % 2 else "D11", "natural")) for i in range(30)]
    with pytest.raises(Forbidden, match=r"rows\[1\], rows\[3\].* and 5 more outside"):
        require_places(flood, placed, action="storing")
