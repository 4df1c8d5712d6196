"""Scenario timelines on a fake clock: flapping input, a province red over district yellows,
a silence expiring, nobody acknowledging, a receiver that is down, a restart mid-way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.warning_timeline import T0, Timeline
from tests.scenarios.warning_timeline import start as start_timeline
from tocsin.core.access import system_principal
from tocsin.core.warnings.outbox import DeliveryStatus, NotificationKind
from tocsin.core.warnings.selectors import Selector
from tocsin.testing.scenario import GAUGE_DETECTOR, gauges_with_detector

SYSTEM = system_principal("test")

Start = Callable[..., Timeline]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start timelines; close their containers afterwards."""
    opened: list[Timeline] = []

    def make(*args: Any, **kwargs: Any) -> Timeline:
        tl = start_timeline(*args, **kwargs)
        opened.append(tl)
        return tl

    yield make
    for tl in opened:
        tl.container.close()


GROUP_WAIT = timedelta(seconds=30)
GROUP_INTERVAL = timedelta(minutes=5)


def test_flapping_input_notifies_once(tmp_path: Path, db_url: str, start: Start) -> None:
    tl = start(tmp_path, db_url)
    # D12 needs 20 minutes above a threshold to raise, and 20 minutes 0.2 m below it to clear
    for k in range(12):  # one hour flapping around the blue threshold 2.0
        tl.observe(5 * k, D12__river_level=2.1 if k % 2 == 0 else 1.9)
    assert tl.new() == []
    for k in range(12, 18):  # 30 minutes steadily above
        tl.observe(5 * k, D12__river_level=2.5)
    raised_at = tl.at(60 + 20)
    sent = tl.new()
    assert len(sent) == 1
    when, note = sent[0]
    assert T0 + timedelta(minutes=80) <= when <= raised_at + GROUP_WAIT + timedelta(seconds=10)
    assert (note.receiver, note.address, note.reason) == ("P1-CP", "p1@example.test", "new")
    for k in range(18, 40):  # flapping again, never 20 minutes below 2.8: no lift, no message
        tl.observe(5 * k, D12__river_level=1.9 if k % 2 == 0 else 2.05)
    assert tl.new() == []
    warnings = tl.container.warnings.find(principal=SYSTEM)
    assert [(w.subject, w.level.value) for w in warnings] == [("D12.river_level", "blue")]


def test_province_red_inhibits_district_yellow_until_lifted(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    tl = start(tmp_path, db_url)
    tl.observe(0, P1__rainfall=70.0, D11__river_level=3.5)
    tl.run_until(20)
    sent = tl.new()
    assert [(n.receiver, n.subject.split("]")[0]) for _, n in sent] == [("P1-CP", "[RED")]
    assert all(n.receiver != "D11-FLOOD" for _, n in sent)
    tl.observe(30, P1__rainfall=5.0, D11__river_level=3.5)
    tl.run_until(45)
    sent = tl.new()
    by_receiver = {n.receiver: (when, n) for when, n in sent}
    assert by_receiver["P1-CP"][1].reason == "resolved"
    when, note = by_receiver["D11-FLOOD"]
    assert tl.at(30) <= when <= tl.at(30) + GROUP_INTERVAL + timedelta(seconds=10)
    assert note.reason == "new"
    assert note.payload["firing"][0]["level"] == "yellow"


def test_silence_holds_back_and_its_expiry_releases(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    tl = start(tmp_path, db_url)
    silence = tl.container.silences.create(
        Selector(region="D11", domain="natural.flood"),
        principal=system_principal("alice"),
        reason="gauge maintenance",
        ends_at=tl.at(60),
    )
    tl.run_until(1)
    sent = tl.new()
    assert [(n.kind, n.receiver, n.reason) for _, n in sent] == [
        (NotificationKind.SILENCE, "D11-FLOOD", "silence created")
    ]
    tl.observe(5, D11__river_level=3.5)
    tl.run_until(59)
    assert tl.new() == []
    tl.run_until(70)
    sent = tl.new()
    kinds = [(n.kind, n.reason) for _, n in sent]
    assert (NotificationKind.SILENCE, "silence expired") in kinds
    warning_notes = [(w, n) for w, n in sent if n.kind is NotificationKind.GROUP]
    assert len(warning_notes) == 1
    assert tl.at(60) <= warning_notes[0][0] <= tl.at(60) + GROUP_INTERVAL + timedelta(seconds=10)
    history = [r.kind for r in tl.container.silences.history(silence.id, principal=SYSTEM)]
    assert history == ["silence.created", "silence.expired"]


ESCALATION = {
    "policies": [
        {
            "name": "up-the-chain",
            "steps": [{"after_s": 900, "to": "parent"}, {"after_s": 1800, "to": "parent"}],
        }
    ]
}


def test_nobody_acknowledges_so_it_climbs_to_the_parent_units(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    tl = start(tmp_path, db_url, escalation=ESCALATION)
    tl.observe(0, D11__river_level=5.5, D21__reservoir=25.0)
    tl.run_until(1)
    first = {n.receiver for _, n in tl.new()}
    assert first == {"D11-FLOOD"}  # P2-CP has no address: D21's yellow reaches nobody
    d21 = next(w for w in tl.container.warnings.find(principal=SYSTEM) if w.region == "D21")
    tl.container.warnings.acknowledge(d21.id, principal=system_principal("bob"), reason="on it")
    tl.run_until(40)
    sent = [(when, n) for when, n in tl.new() if n.kind is NotificationKind.ESCALATION]
    steps = [(n.receiver, when) for when, n in sent]
    assert [r for r, _ in steps] == ["P1-CP", "NAT"]
    assert tl.at(15) <= steps[0][1] <= tl.at(15) + timedelta(seconds=10)
    assert tl.at(30) <= steps[1][1] <= tl.at(30) + timedelta(seconds=10)
    assert "not acknowledged" in sent[0][1].reason


def test_acknowledging_stops_escalation(tmp_path: Path, db_url: str, start: Start) -> None:
    tl = start(tmp_path, db_url, escalation=ESCALATION)
    tl.observe(0, D11__river_level=5.5)
    tl.run_until(10)
    warning = tl.container.warnings.find(principal=SYSTEM)[0]
    tl.container.warnings.acknowledge(
        warning.id, principal=system_principal("dora"), reason="crew sent"
    )
    tl.run_until(60)
    assert [n.kind for _, n in tl.sent()] == [NotificationKind.GROUP]


def test_a_receiver_that_is_down_gets_it_later_once(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    tl = start(tmp_path, db_url)
    tl.channel.fail_next = 3
    tl.observe(0, D11__river_level=3.5)
    tl.run_until(5)
    sent = tl.new()
    assert len(sent) == 1
    when, _note = sent[0]
    assert when > tl.at(0.5)  # three failed attempts with backoff first
    rows = tl.container.dispatcher.notification_log(principal=SYSTEM)
    assert [(r.status, r.attempts) for r in rows] == [(DeliveryStatus.DELIVERED, 4)]


def test_restart_midway_neither_repeats_nor_loses(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    tl = start(tmp_path, db_url)
    tl.observe(0, D11__river_level=3.5, P1__rainfall=25.0)
    tl.container.close()
    # a new process on the same database, before group_wait has passed
    tl2 = start(tmp_path / "again", db_url)
    tl2.clock.set(tl.clock.now())
    tl2.run_until(1)
    tl2.run_until(12)
    receivers = sorted(n.receiver for _, n in tl2.sent())
    assert receivers == ["D11-FLOOD", "P1-CP"]
    tl2.container.leases.dispatch.require()
    tl2.container.dispatcher.tick(tl2.clock.now())
    assert len(tl2.sent()) == 2


def test_substation_red_inhibits_the_water_works_that_depend_on_it(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    from tocsin.services.alert_receiver import PrometheusAlert

    tl = start(tmp_path, db_url)
    tl.observe(0, P1__substation_load=110.0)  # red on asset SUB (region D11, power)
    water = PrometheusAlert(
        {
            "alertname": "PumpPressureLow",
            "region": "D11",
            "domain": "supply.water",
            "asset": "WTR",  # the water works depend on SUB
            "severity": "warning",
        }
    )
    tl.container.alert_receiver.receive([water], principal=system_principal("prometheus"))
    tl.run_until(20)
    sent = tl.new()
    assert [n.payload["firing"][0]["subject"] for _, n in sent] == ["P1.substation_load"]
    pump = next(
        w for w in tl.container.warnings.find(principal=SYSTEM) if w.subject == "PumpPressureLow"
    )
    status = tl.container.dispatcher.explain_delivery(pump, tl.clock.now(), principal=SYSTEM)
    substation = next(
        w for w in tl.container.warnings.find(principal=SYSTEM) if w.subject.endswith("load")
    )
    assert status["suppressed_by"] == [f"warning:{substation.id}"]


def test_mute_window_holds_notifications_until_it_closes(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    routes = {
        "route": {"mute_windows": ["morning"]},
        "mute_windows": [
            {"name": "morning", "weekdays": ["mon"], "times": [{"start": "08:00", "end": "08:30"}]}
        ],
    }
    tl = start(tmp_path, db_url, routes=routes)  # T0 is Monday 08:00 UTC
    tl.observe(0, D11__river_level=3.5)
    tl.run_until(29)
    assert tl.new() == []
    tl.run_until(40)
    ((when, note),) = tl.new()
    assert tl.at(30) <= when <= tl.at(30) + GROUP_INTERVAL + timedelta(seconds=10)
    assert note.reason == "new"


def test_threshold_and_detector_on_one_reading_notify_as_one_warning(
    tmp_path: Path, db_url: str, start: Start
) -> None:
    detector = {**GAUGE_DETECTOR, "thresholds": {"yellow": 0.4, "red": 0.6}, "clear_after_s": 120}
    indicators = gauges_with_detector(detector=detector)["indicators.yaml"]
    tl = start(tmp_path, db_url, indicators=indicators)
    calm = [2.0, 2.05, 1.95, 2.02, 1.98, 2.04, 1.96, 2.01, 1.99, 2.03] * 3
    for k, value in enumerate([*calm, 3.2]):  # the spike: threshold yellow, detector red
        tl.observe(k, D11__river_level=value)
    tl.run_until(31 + 1)
    (raised,) = tl.new()
    (firing,) = raised[1].payload["firing"]
    assert (raised[1].reason, firing["level"]) == ("new", "red")
    assert firing["cause"]["rules"] == {"threshold": "yellow", "detector": "red"}
    tl.observe(32, D11__river_level=2.0)  # the threshold is back below the detector: no change
    tl.run_until(40)
    assert tl.new() == []
    for k in range(41, 45):  # the detector goes back too: the one warning is resolved
        tl.observe(k, D11__river_level=2.0)
    tl.run_until(55)
    (resolved,) = tl.new()
    assert resolved[1].reason == "resolved"
    assert [w["id"] for w in resolved[1].payload["resolved"]] == [firing["id"]]
    keys = [n.key for _, n in tl.sent()]
    assert len(keys) == len(set(keys)) == 2
