"""The response's commands and rules, on the in-memory store: one incident per plan and place
however many warnings, merge and split, closing only when every task is finished, activation
again after a stand-down, a plan by hand, and situation reports issued on the plan's schedule
exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import Conflict, IllegalTransition
from tocsin.core.incidents.model import IncidentState, Link, LinkKind
from tocsin.core.incidents.tasks import TaskCommandKind, TaskState
from tocsin.core.levels import Level
from tocsin.core.warnings.outbox import NotificationKind
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_plans, write_small_config

SYSTEM = system_principal("test")
MIN = timedelta(minutes=1)


@dataclass
class Response:
    """A container with the small plans, on a fake clock."""

    c: Container
    clock: FakeClock

    def observe(self, **values: float) -> None:
        codes = [k.replace("__", ".") for k in values]
        now = int(self.clock.now().timestamp())
        self.c.ingest.ingest(
            RawObservations(codes, np.full(len(codes), now), np.array(list(values.values()))),
            principal=SYSTEM,
        )
        self.tick()

    def tick(self) -> None:
        self.c.response.responder.tick(self.clock.now())

    def incidents(self, *, open_only: bool = True) -> list[object]:
        return list(self.c.response.incidents.find(principal=SYSTEM, open_only=open_only))


@pytest.fixture
def response(tmp_path: Path) -> Iterator[Response]:
    plans = small_plans()
    plans["plans"][0]["report_every_s"] = 3600
    config = write_small_config(tmp_path / "cfg", **{"plans.yaml": plans})
    clock = FakeClock()
    c = build(Settings(database_url="memory://", config_dir=config), clock=clock)
    yield Response(c, clock)
    c.close()


def test_one_incident_per_plan_and_place_however_many_warnings(response: Response) -> None:
    response.observe(D11__river_level=4.5, P1__substation_load=95.0)
    response.clock.advance(MIN)
    response.observe(D11__river_level=4.6)  # the same warning, still orange: nothing new
    (incident,) = response.c.response.incidents.find(principal=SYSTEM)
    tasks = response.c.response.incidents.tasks(incident.id, principal=SYSTEM)
    assert sorted(t.title for t in tasks) == ["Inspect the levees", "Prepare shelters"]
    # the province's rainfall reaches orange too: the same plan, another place, another incident
    response.clock.advance(MIN)
    response.observe(P1__rainfall=45.0)
    assert sorted(x.region for x in response.c.response.incidents.find(principal=SYSTEM)) == [
        "D11",
        "P1",
    ]


def test_merge_and_split_move_links_and_tasks(response: Response) -> None:
    response.observe(D11__river_level=4.5, P1__rainfall=45.0)
    service = response.c.response.incidents
    d11, p1 = sorted(service.find(principal=SYSTEM), key=lambda x: x.region)
    merged = service.merge(p1.id, into=d11.id, principal=SYSTEM, reason="one flood")
    assert merged.id == d11.id
    assert len(merged.linked(LinkKind.WARNING)) == 2
    gone = service.get(p1.id, principal=SYSTEM)
    assert (gone.state, gone.merged_into) == (IncidentState.CLOSED, d11.id)
    tasks = service.tasks(d11.id, principal=SYSTEM)
    assert len(tasks) == 4
    assert service.tasks(p1.id, principal=SYSTEM) == []
    rainfall = next(
        w for w in merged.linked(LinkKind.WARNING) if w not in d11.linked(LinkKind.WARNING)
    )
    shelters = [t.id for t in tasks if t.unit == "P1-CP" and t.title == "Prepare shelters"]
    child = service.split(
        d11.id,
        principal=SYSTEM,
        title="Rain in P1",
        links=[Link(LinkKind.WARNING, rainfall)],
        task_ids=shelters,
        reason="separate",
    )
    assert child.state is IncidentState.ACTIVE
    assert child.linked(LinkKind.WARNING) == [rainfall]
    assert {t.id for t in service.tasks(child.id, principal=SYSTEM)} == set(shelters)
    kinds = [r.kind for r in service.timeline(d11.id, principal=SYSTEM)]
    assert "incident.absorbed" in kinds
    assert "incident.split" in kinds


def test_closing_needs_every_task_finished_and_a_new_warning_activates_again(
    response: Response,
) -> None:
    response.observe(D11__river_level=4.5)
    service = response.c.response.incidents
    (incident,) = service.find(principal=SYSTEM)
    with pytest.raises(IllegalTransition, match="cannot close an incident that is active"):
        service.close(incident.id, principal=SYSTEM, reason="done?")
    stood = service.stand_down(incident.id, principal=SYSTEM, reason="calm")  # no proposal: ok
    assert stood.state is IncidentState.STABILISED
    with pytest.raises(IllegalTransition, match=r"4 task\(s\) are not finished"):
        service.close(incident.id, principal=SYSTEM, reason="done?")
    response.clock.advance(10 * MIN)
    response.observe(D11__river_level=1.0)  # lifted while stabilised: nothing to propose
    response.clock.advance(10 * MIN)
    response.observe(D11__river_level=5.5)  # a new warning, red: the same incident again
    again = service.get(incident.id, principal=SYSTEM)
    assert (again.state, again.plan_level) == (IncidentState.ACTIVE, Level.RED)
    assert again.stood_down_at is None
    assert len(again.linked(LinkKind.WARNING)) == 2


def test_a_plan_by_hand_on_an_incident_opened_by_hand(response: Response) -> None:
    service = response.c.response.incidents
    opened = service.open(
        principal=SYSTEM,
        title="Dam seepage",
        region="D12",
        domain="natural.flood",
        reason="reported by the dam operator",
        lead="P1-CP",
    )
    assert (opened.state, opened.plan) == (IncidentState.OPEN, None)
    elsewhere = service.open(
        principal=SYSTEM, title="x", region="D21", domain="natural.flood", reason="elsewhere"
    )
    with pytest.raises(Conflict, match="does not cover"):
        service.activate(
            elsewhere.id, principal=SYSTEM, plan_id="flood", level=Level.ORANGE, reason="x"
        )
    active = service.activate(
        opened.id, principal=SYSTEM, plan_id="flood", level=Level.ORANGE, reason="by hand"
    )
    assert (active.state, active.response_level.value if active.response_level else None) == (
        IncidentState.ACTIVE,
        "III",
    )
    with pytest.raises(IllegalTransition, match="already at"):
        service.activate(
            opened.id, principal=SYSTEM, plan_id="flood", level=Level.ORANGE, reason="twice"
        )
    tasks = service.tasks(opened.id, principal=SYSTEM)
    # D12 has no flood unit: the province's takes the district's task, and says so
    levees = next(t for t in tasks if t.title == "Inspect the levees")
    assert levees.unit == "P1-CP"
    assert "none in D12" in levees.assignment


def test_reports_are_issued_on_the_plans_schedule_once(response: Response) -> None:
    response.observe(D11__river_level=4.5)
    (incident,) = response.c.response.incidents.find(principal=SYSTEM)
    situation = response.c.response.situation
    response.clock.advance(59 * MIN)
    response.tick()
    assert situation.find("incident", incident.id, principal=SYSTEM) == []
    response.clock.advance(MIN)
    response.tick()
    response.tick()  # again at the same moment: nothing more
    (issued,) = situation.find("incident", incident.id, principal=SYSTEM)
    assert issued.created_by == "system:response"
    stored = situation.get(issued.id, principal=SYSTEM)
    assert stored.facts["incident"]["id"] == incident.id
    notes = response.c.dispatcher.notification_log(principal=SYSTEM)
    sent = [n for n in notes if n.kind is NotificationKind.REPORT]
    assert [n.receiver for n in sent] == ["P1-CP"]  # the lead unit
    response.clock.advance(60 * MIN)
    response.tick()
    assert len(situation.find("incident", incident.id, principal=SYSTEM)) == 2


def test_a_finished_task_releases_the_one_waiting_for_it(response: Response) -> None:
    response.observe(D11__river_level=5.5)  # red at once: orange's and red's tasks
    (incident,) = response.c.response.incidents.find(principal=SYSTEM)
    tasks = {t.title: t for t in response.c.response.incidents.tasks(incident.id, principal=SYSTEM)}
    assert tasks["Secure the substation"].state is TaskState.WAITING
    work = response.c.response.tasks
    evacuate = tasks["Evacuate the riverside"].id
    work.act(evacuate, TaskCommandKind.ACCEPT, principal=SYSTEM, reason="go")
    work.act(evacuate, TaskCommandKind.COMPLETE, principal=SYSTEM, reason="", outcome="cleared")
    power = work.get(tasks["Secure the substation"].id, principal=SYSTEM)
    assert power.state is TaskState.ASSIGNED
    assert power.unit == "GRID"
    assert power.accept_due_at == response.clock.now() + 10 * MIN
