"""Exposure under the access policy: a unit sees and changes the exposure of the assets in its
region subtree (in the cyber domain) only; a vulnerability feed, which concerns every region's
assets, is imported by a principal whose scope is everything. Nothing is stored of a refused
request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.adapters.inventory_files import inventory_rows
from tocsin.adapters.security_alert_formats import parse_alerts
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal, Scope, system_principal
from tocsin.core.errors import Forbidden
from tocsin.core.exposure.advisories import Feed
from tocsin.core.security_alerts import AlertFormat
from tocsin.core.users import PERMISSIONS, Role
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, write_small_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
NOW = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
ANALYST = PERMISSIONS[Role.ANALYST]
P1 = Principal("p1", Role.ANALYST, ANALYST, Scope(frozenset({"P1", "D11", "D12"}), None, "P1"))
P2 = Principal("p2", Role.ANALYST, ANALYST, Scope(frozenset({"P2", "D21"}), None, "P2"))
FLOOD = Principal(
    "flood", Role.ANALYST, ANALYST, Scope(frozenset({"D11"}), frozenset({"natural.flood"}), "fl")
)


@pytest.fixture
def container(tmp_path: Path) -> Container:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    built = build(Settings(database_url="memory://", config_dir=config), clock=FakeClock(NOW))
    for feed in Feed:
        text = (FIXTURES / f"{feed.value}.json").read_text()
        advisories = parse_feed(feed, text, where=feed.value)
        built.exposure.import_advisories(advisories, principal=system_principal(), where="t")
    return built


def test_reads_show_only_the_assets_and_regions_in_scope(container: Container) -> None:
    exposure = container.exposure
    everything = {a.asset for a in exposure.assets(principal=system_principal())}
    assert everything == {"SUB", "WTR"}  # both in D11
    assert {a.asset for a in exposure.assets(principal=P1)} == {"SUB", "WTR"}
    assert exposure.assets(principal=P2) == []
    assert exposure.assets(principal=FLOOD) == []  # the flood service is not in cyber
    assert {r.region for r in exposure.regions(principal=P1)} == {"D11", "D12"}
    assert exposure.regions(principal=P2) == []
    steps, _ = exposure.cascade("SUB", principal=P1)
    assert {s.asset for s in steps} >= {"SUB", "HSP"}
    for who in (P2, FLOOD):
        with pytest.raises(Forbidden, match="outside the scope"):
            exposure.cascade("SUB", principal=who)


def test_writes_outside_the_scope_are_refused_and_store_nothing(container: Container) -> None:
    exposure = container.exposure
    with pytest.raises(Forbidden, match="recording a patch on SUB: outside the scope of p2"):
        exposure.record_patch("SUB", "CVE-2021-41773", principal=P2)
    rows = inventory_rows("asset,software\nHSP,pkg:pypi/jinja2@2.11.2\n", where="inv.csv")
    with pytest.raises(Forbidden, match=r"inv\.csv: asset HSP outside the scope of p2"):
        exposure.import_inventory(rows, principal=P2, where="inv.csv")
    text = (FIXTURES / "kev.json").read_text()
    with pytest.raises(Forbidden, match="importing a vulnerability feed"):
        exposure.import_advisories(parse_feed(Feed.KEV, text, where="kev"), principal=P1, where="")
    alerts = parse_alerts(AlertFormat.CEF, (FIXTURES / "cef.log").read_text(), received_at=NOW)
    with pytest.raises(Forbidden, match="alert on SUB outside the scope of p2"):
        container.security_alerts.receive(alerts, principal=P2)
    with container.store.transaction() as tx:
        assert tx.exposure.patches() == []
        assert "HSP" not in tx.exposure.imported_software()
        assert tx.events.newest() == []
    # inside the scope the same writes are done
    assert exposure.record_patch("SUB", "CVE-2021-41773", principal=P1).stored == 1
    assert exposure.import_inventory(rows, principal=P1, where="inv.csv").stored == 1
    assert container.security_alerts.receive(alerts, principal=P1).stored == 2


def test_the_cascade_and_consequences_name_only_the_assets_in_scope(container: Container) -> None:
    """The substation in D11 takes the hospital in D12 with it: a district unit of D11 is not
    told of the hospital (its name, region, the edges to it), its province's unit is."""
    district = Principal("d11", Role.ANALYST, ANALYST, Scope(frozenset({"D11"}), None, "D11"))
    exposure = container.exposure
    for who, seen in ((system_principal(), {"SUB", "WTR", "HSP"}), (P1, {"SUB", "WTR", "HSP"})):
        steps, edges = exposure.cascade("SUB", principal=who)
        assert {s.asset for s in steps} == seen
        assert {a for e in edges for a in e} == seen
    steps, edges = exposure.cascade("SUB", principal=district)
    assert {s.asset for s in steps} == {"SUB", "WTR"}
    assert edges == [("SUB", "WTR")]
    everyone = {a.asset: a.consequences for a in exposure.assets(principal=P1)}
    assert "HSP" in everyone["SUB"].failed + everyone["SUB"].degraded
    assert "D12" in everyone["SUB"].regions
    mine = {a.asset: a.consequences for a in exposure.assets(principal=district)}
    assert "HSP" not in mine["SUB"].failed + mine["SUB"].degraded
    assert mine["SUB"].regions == ("D11",)


def test_an_exposure_warning_names_to_a_unit_only_the_consequences_in_its_scope(
    container: Container,
) -> None:
    """The same rule for the warning the exposure raises: read by the district unit of D11 its
    explanation leaves out the hospital in D12 and the region D12; the province's unit and the
    national desk are told of both, and the stored warning keeps everything."""
    district = Principal("d11", Role.ANALYST, ANALYST, Scope(frozenset({"D11"}), None, "D11"))
    warnings = container.warnings

    def on_sub(who: Principal) -> list[dict[str, object]]:
        found = warnings.find(principal=who, limit=100)
        return [dict(w.explanation) for w in found if w.cause.get("asset") == "SUB"]

    told = on_sub(system_principal())
    assert told
    assert all("HSP" in e["fails_with_it"] + e["degraded"] for e in told)  # type: ignore[operator]
    assert all("D12" in e["regions_at_risk"] for e in told)  # type: ignore[operator]
    assert on_sub(P1) == told
    mine = on_sub(district)
    assert len(mine) == len(told)
    for e in mine:
        assert "HSP" not in e["fails_with_it"] + e["degraded"]  # type: ignore[operator]
        assert e["regions_at_risk"] == ["D11"]
        assert "WTR" in e["fails_with_it"] + e["degraded"]  # type: ignore[operator]
    one = next(w for w in warnings.find(principal=district) if w.cause.get("asset") == "SUB")
    for read in (
        warnings.get(one.id, principal=district),
        warnings.resolve(one.id, principal=district),
    ):
        assert "HSP" not in [*read.explanation["fails_with_it"], *read.explanation["degraded"]]
    with container.store.transaction() as tx:
        stored = tx.warnings.get(one.id)
    assert stored is not None
    assert "D12" in stored.explanation["regions_at_risk"]
