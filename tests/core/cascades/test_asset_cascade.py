"""Failure propagation over asset dependencies, with redundancy."""

from __future__ import annotations

from tocsin.core.assets import Asset, AssetCode
from tocsin.core.cascades.assets import cascade, requirements_of
from tocsin.core.domains import DomainCode
from tocsin.core.regions import RegionCode


def test_failure_propagates_step_by_step_over_plain_dependencies() -> None:
    def a(code: str, *deps: str) -> Asset:
        return Asset(
            AssetCode(code),
            code,
            "x",
            RegionCode("r"),
            DomainCode("d"),
            tuple(AssetCode(d) for d in deps),
        )

    assets = {
        x.code: x for x in [a("sub"), a("water", "sub"), a("hospital", "water", "sub"), a("dc")]
    }
    res = cascade(requirements_of(assets), ["sub"])
    assert res.failed == {"sub": 0, "water": 1, "hospital": 1}
    assert res.failed_at(1) == ["hospital", "water"]
    assert res.degraded == frozenset()
    assert "dc" not in res.failed


def test_redundant_supply_degrades_instead_of_failing() -> None:
    req = {
        "hospital": (("sub_a", "sub_b"),),
        "pump": (("sub_a",),),
        "clinic": (("pump", "well"), ("sub_b",)),
    }
    res = cascade(req, ["sub_a"])
    assert set(res.failed) == {"sub_a", "pump"}
    assert res.degraded == frozenset({"hospital", "clinic"})
    both = cascade(req, ["sub_a", "sub_b"])
    assert both.failed["hospital"] == 1
    assert both.failed["clinic"] == 1
