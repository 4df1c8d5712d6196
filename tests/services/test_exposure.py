"""Exposure end to end on the memory store: feeds and inventories in, cyber warnings out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.adapters.inventory_files import inventory_rows
from tocsin.adapters.security_alert_formats import parse_alerts
from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.core.exposure.advisories import Feed
from tocsin.core.security_alerts import AlertFormat
from tocsin.core.warnings.model import Warning
from tocsin.ports import WarningFilter
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import exposure_config, write_small_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
NOW = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)


@pytest.fixture
def container(tmp_path: Path) -> Container:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    return build(Settings(database_url="memory://", config_dir=config), clock=FakeClock(NOW))


def load(container: Container, feed: Feed) -> int:
    text = (FIXTURES / f"{feed.value}.json").read_text()
    advisories = parse_feed(feed, text, where=feed.value)
    return len(
        container.exposure.import_advisories(
            advisories, principal=system_principal("t"), where=feed.value
        ).transitions
    )


def open_exposure_warnings(container: Container) -> dict[str, Warning]:
    with container.store.transaction() as tx:
        found = tx.warning_search.find(WarningFilter(open_only=True))
    return {w.subject: w for w in found if w.source == "exposure"}


def test_feeds_raise_graded_warnings_that_name_consequences(container: Container) -> None:
    for feed in Feed:
        load(container, feed)
    got = open_exposure_warnings(container)
    levels = {subject: w.level.value for subject, w in got.items()}
    assert levels == {
        "SUB:CVE-2021-41773": "red",  # high and known exploited
        "SUB:CVE-2099-0001": "red",  # critical and known exploited
        "WTR:CVE-2099-0002": "yellow",  # high, firmware on the PLC 100 (an AND configuration)
        "WTR:GHSA-test-0001": "blue",  # moderate (OSV), jinja2 2.11.2 before the fix
    }
    hmi = got["SUB:CVE-2099-0001"]
    assert hmi.region == "D11"
    assert hmi.domain == "cyber"
    assert hmi.explanation["due_on"] == "2026-03-13"
    assert hmi.explanation["fails_with_it"] == ["HSP", "WTR"]  # the hospital fed by it
    assert hmi.explanation["regions_at_risk"] == ["D11", "D12"]
    assert hmi.explanation["responsible_unit"] == "P1 civil protection"


def test_kev_upgrades_what_nvd_raised_and_a_patch_lifts_it(container: Container) -> None:
    load(container, Feed.NVD)
    assert open_exposure_warnings(container)["SUB:CVE-2021-41773"].level.value == "yellow"
    load(container, Feed.KEV)
    assert open_exposure_warnings(container)["SUB:CVE-2021-41773"].level.value == "red"
    change = container.exposure.record_patch(
        "SUB", "CVE-2021-41773", principal=system_principal("op"), note="2.4.51"
    )
    assert [e.kind.value for e in change.transitions] == ["warning.lifted"]
    assert "SUB:CVE-2021-41773" not in open_exposure_warnings(container)
    assert load(container, Feed.KEV) == 0  # importing again does not raise a patched one
    with pytest.raises(NotFound):
        container.exposure.record_patch("SUB", "CVE-1999-0000", principal=system_principal("op"))
    with pytest.raises(NotFound):
        container.exposure.record_patch("NOPE", "CVE-2021-41773", principal=system_principal("op"))


def test_an_imported_inventory_adds_software_and_an_upgrade_lifts(container: Container) -> None:
    load(container, Feed.OSV)
    assert "WTR:GHSA-test-0002" not in open_exposure_warnings(container)
    rows = inventory_rows(
        "asset,software\nHSP,pkg:maven/org.example/historian-client@1.9.0\n", where="inv.csv"
    )
    container.exposure.import_inventory(rows, principal=system_principal("t"), where="inv.csv")
    assert open_exposure_warnings(container)["HSP:GHSA-test-0002"].level.value == "yellow"
    newer = {"asset": "HSP", "software": ["pkg:maven/org.example/historian-client@1.10.0"]}
    upgrade = inventory_rows(json.dumps({"inventory": [newer]}), where="inv.json")
    change = container.exposure.import_inventory(
        upgrade, principal=system_principal("t"), where="inv.json"
    )
    assert [e.reason for e in change.transitions] == ["no installed software matches any more"]


def test_a_bad_inventory_is_rejected_whole(container: Container) -> None:
    rows = inventory_rows(
        "asset,software\nHSP,pkg:pypi/ok@1\nNOPE,pkg:pypi/x@1\nHSP,cpe:2.3:a:b\n", where="inv.csv"
    )
    with pytest.raises(InvalidInput) as err:
        container.exposure.import_inventory(rows, principal=system_principal("t"), where="inv.csv")
    assert [(p.where, p.field) for p in err.value.problems] == [
        ("inv.csv:3", "asset"),
        ("inv.csv:4", "software"),
    ]
    with container.store.transaction() as tx:
        assert tx.exposure.imported_software() == {}


def test_security_alerts_are_placed_deduplicated_and_counted(container: Container) -> None:
    def send(fmt: AlertFormat, name: str) -> tuple[int, int, int]:
        alerts = parse_alerts(fmt, (FIXTURES / name).read_text(), received_at=NOW)
        got = container.security_alerts.receive(alerts, principal=system_principal("t"))
        return got.stored, got.unplaced, got.observations

    assert send(AlertFormat.WAZUH, "wazuh.jsonl") == (2, 1, 1)  # laptop-77 is no asset of ours
    assert send(AlertFormat.SURICATA, "eve.jsonl") == (2, 0, 1)
    assert send(AlertFormat.CEF, "cef.log") == (2, 0, 1)
    assert send(AlertFormat.CEF, "cef.log") == (0, 0, 1)  # the same lines again: nothing new
    ident = container.rules.ids["SUB.security_alerts"]
    with container.store.transaction() as tx:
        series = tx.observations.read(ident)
        events = tx.events.newest()
        found = tx.warning_search.find(WarningFilter(open_only=True))
    ten = int(datetime(2026, 3, 1, 10, 0, tzinfo=UTC).timestamp())
    # at the newest substation alert of each delivery, the alerts in the minute up to it
    assert series.times.tolist() == [ten + 9, ten + 40, ten + 50]
    # sent in this order: Wazuh at 10:00:40 (its 2), Suricata at 10:00:09 (its 2 and Wazuh's
    # 10:00:05; late, so stored, not graded), CEF at 10:00:50 (all six in the minute)
    assert series.values.tolist() == [3.0, 2.0, 6.0]
    alert_warning = [w for w in found if w.subject == "SUB.security_alerts"]
    assert [w.level.value for w in alert_warning] == ["orange"]  # threshold 5: the same rules
    kept = repr([(e.event.title, e.event.attributes, e.event.description) for e in events])
    assert "operator" not in kept  # the user name in Wazuh's full_log is not kept
    assert "203.0.113.7" not in kept  # nor the other party's address


def test_each_region_gets_cyber_inputs_for_the_risk_model(container: Container) -> None:
    for feed in Feed:
        load(container, feed)
    container.exposure.record_patch("SUB", "CVE-2021-41773", principal=system_principal("op"))
    rows = {r.region: r.values() for r in container.exposure.regions(principal=system_principal())}
    # D11 holds SUB (HMI: critical, exploited, due 2026-03-13, not yet past at NOW) and WTR
    # (PLC firmware, jinja2); both are lost with SUB, HSP in D12 with either
    assert rows == {
        "D11": (2.0, 2.0, 1.0, 0.0, 9.8, 1.0),  # WTR is lost with SUB
        "D12": (0.0, 0.0, 0.0, 0.0, None, 1.0),  # HSP is lost with SUB or WTR
    }


def test_a_serving_process_reconciles_changed_software_at_start(tmp_path: Path) -> None:
    from tocsin.web.sources import start_sources

    url = f"sqlite:///{tmp_path / 't.db'}"
    docs = exposure_config()
    first = build(
        Settings(database_url=url, config_dir=write_small_config(tmp_path / "a", **docs)),
        clock=FakeClock(NOW),
    )
    load(first, Feed.NVD)
    first.close()
    assert docs["assets.yaml"]["assets"][0]["code"] == "SUB"
    docs["assets.yaml"]["assets"][0]["software"] = [
        "cpe:2.3:a:apache:http_server:2.4.51:*:*:*:*:*:*:*"  # upgraded; the HMI removed
    ]
    settings = Settings(database_url=url, config_dir=write_small_config(tmp_path / "b", **docs))
    again = build(settings, clock=FakeClock(NOW))
    assert "SUB:CVE-2021-41773" in open_exposure_warnings(again)
    stop = start_sources(again)
    stop()
    assert sorted(open_exposure_warnings(again)) == ["WTR:CVE-2099-0002"]
    again.close()
