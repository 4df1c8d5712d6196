"""An incident in a reader's scope may link public alerts and public reports that are not (an
alert of the neighbouring province, a report routed to another region's unit): the reader
gets the incident without them, in every way it can see an incident (read, list, look-up by
link, timeline, situation facts, the answer to a command), and a stored situation report that
names them is refused to it and not listed. National readers see every link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal, system_principal
from tocsin.core.errors import Forbidden
from tocsin.core.incidents.model import Incident, Link, LinkKind
from tocsin.core.levels import Level
from tocsin.core.reports import Point
from tocsin.core.users import Role, User, UserName
from tocsin.ports.reports import ReportQuery
from tocsin.services.ingest import RawObservations
from tocsin.services.publication import Choices
from tocsin.services.reports import Submission
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_cap_config, small_plans, write_small_config

SYSTEM = system_principal("test")


@dataclass
class World:
    """A flood incident in D11 linking a public alert and a report in D11 (inside province
    P1) and one of each in D21 (province P2)."""

    c: Container
    clock: FakeClock
    incident: Incident
    inside: set[str]
    outside: set[str]
    alert: str  # the public alert inside

    def who(self, name: str, role: Role, unit: str) -> Principal:
        return self.c.access.principal(User(UserName(name), role, unit))


def _report(c: Container, service: str, point: Point, n: int) -> str:
    sent = Submission(service, point, "test", f"198.51.100.{n}/32", description=f"report {n}")
    return str(c.reports.submit(sent).id)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    docs = {"plans.yaml": small_plans(), "cap.yaml": small_cap_config()}
    config = write_small_config(tmp_path / "cfg", **docs)
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'l.db'}"
    clock = FakeClock()
    c = build(Settings(database_url=url, config_dir=config), clock=clock)
    now = np.array([int(clock.now().timestamp())])
    c.ingest.ingest(RawObservations(["D11.river_level"], now, np.array([4.5])), principal=SYSTEM)
    c.response.responder.tick(clock.now())
    (incident,) = c.response.incidents.find(principal=SYSTEM)
    alerts = {
        region: c.cap.alerts.draft(
            regions=[region],
            domain="natural.flood",
            level=Level.ORANGE,
            principal=SYSTEM,
            choices=Choices(),
        ).identifier
        for region in ("D11", "D21")
    }
    reports = {
        "D11": _report(c, "dyke_damage", Point(45.5, 10.5), 1),
        "D21": _report(c, "water_quality", Point(45.5, 12.5), 2),
    }
    links = [Link(LinkKind.PUBLIC_ALERT, a) for a in alerts.values()]
    links += [Link(LinkKind.REPORT, r) for r in reports.values()]
    c.response.incidents.link(incident.id, principal=SYSTEM, links=links, reason="seen")
    inside, outside = {alerts["D11"], reports["D11"]}, {alerts["D21"], reports["D21"]}
    yield World(c, clock, incident, inside, outside, alerts["D11"])
    c.close()


P1 = ("p1duty", Role.DUTY_OFFICER, "P1-CP")


def _named(incident: Incident) -> set[str]:
    return {*incident.linked(LinkKind.PUBLIC_ALERT), *incident.linked(LinkKind.REPORT)}


def test_a_national_reader_sees_every_link(world: World) -> None:
    seen = world.c.response.incidents.get(world.incident.id, principal=SYSTEM)
    assert _named(seen) == world.inside | world.outside


def test_every_view_of_the_incident_leaves_out_the_links_outside_the_scope(world: World) -> None:
    incidents, p1 = world.c.response.incidents, world.who(*P1)
    x = world.incident.id
    assert _named(incidents.get(x, principal=p1)) == world.inside
    (listed,) = incidents.find(principal=p1)
    assert _named(listed) == world.inside
    (by_link,) = incidents.linked_to(LinkKind.PUBLIC_ALERT, world.alert, principal=p1)
    assert _named(by_link) == world.inside
    assert _named(incidents.resolve(x[:8], principal=p1)) == world.inside
    told = incidents.link(x, principal=p1, links=[Link(LinkKind.EVENT, "e1")], reason="seen")
    assert _named(told) == world.inside  # a command answers as a read would
    shown = repr(incidents.timeline(x, principal=p1))
    assert all(ref not in shown for ref in world.outside)
    assert all(ref in repr(incidents.timeline(x, principal=SYSTEM)) for ref in world.outside)
    facts = world.c.response.situation.incident_facts(x, principal=p1)
    assert {*facts["public_alerts"], *facts["public_reports"]} == world.inside
    region = world.c.response.situation.region_facts("P1", principal=p1)
    assert {*region["public_alerts"], *region["public_reports"]} == world.inside


def test_a_stored_report_naming_them_is_refused_and_not_listed(world: World) -> None:
    situation, p1 = world.c.response.situation, world.who(*P1)
    issued = situation.issue("incident", world.incident.id, principal=SYSTEM, reason="six")
    with pytest.raises(Forbidden, match=r"public_alerts\[\d\]") as refused:
        situation.get(issued.id, principal=p1)
    assert all(ref not in str(refused.value) for ref in world.outside)
    assert situation.find("incident", world.incident.id, principal=p1) == []
    world.clock.advance(timedelta(minutes=1))  # a report's id is its subject and moment
    own = situation.issue("incident", world.incident.id, principal=p1, reason="mine")
    assert situation.get(own.id, principal=p1) == own  # gathered in its scope: shown whole
    assert [r.id for r in situation.find("incident", world.incident.id, principal=p1)] == [own.id]


def test_a_report_following_its_cluster_does_not_name_an_incident_outside_its_handlers_scope(
    world: World,
) -> None:
    """A dyke report in D12 (handled by P1's unit) is attached to an incident in D12; a report
    80 m away across the border in D11 (handled by D11's flood unit) joins its cluster and
    follows it into that incident, which D11's unit does not see: its handlers are not told
    the incident's id."""
    c = world.c
    there = c.response.incidents.open(
        principal=SYSTEM, title="D12 dyke", region="D12", domain="natural.flood", reason="seen"
    )
    first = c.reports.submit(Submission("dyke_damage", Point(45.5, 11.0005), "t", "192.0.2.1/32"))
    assert first.unit == "P1-CP"
    p1 = world.who(*P1)
    c.reports.attach_cluster(str(first.cluster), there.id, user=p1)
    second = c.reports.submit(Submission("dyke_damage", Point(45.5, 10.9995), "t", "192.0.2.2/32"))
    assert (second.unit, second.cluster) == ("D11-FLOOD", first.cluster)
    d11 = world.who("d11", Role.UNIT_MEMBER, "D11-FLOOD")
    process = User(UserName("clerk"), Role.UNIT_MEMBER, "D11-FLOOD")  # acts as the process
    assert c.reports.handler_view(second.id, user=process).report.incident == there.id
    assert c.reports.handler_view(second.id, user=d11).report.incident is None
    listed = {r.id: r.incident for r in c.reports.for_unit(d11, ReportQuery())}
    assert listed[second.id] is None
    assert c.reports.handler_view(first.id, user=p1).report.incident == there.id
