"""Every incident, task, scorecard and situation-report operation, in and out of scope: a unit
works on its own tasks and reads its own regions' incidents; another province's duty officer
is refused with a reason and nothing is stored; lists show only what is in scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal, system_principal
from tocsin.core.errors import Forbidden
from tocsin.core.incidents.model import Incident, Link, LinkKind
from tocsin.core.incidents.tasks import Task, TaskCommandKind
from tocsin.core.levels import Level
from tocsin.core.users import Role, User, UserName
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_plans, write_small_config

SYSTEM = system_principal("test")
K = TaskCommandKind


@dataclass
class World:
    """The small scenario with an orange flood incident in D11 and its tasks."""

    c: Container
    clock: FakeClock
    incident: Incident
    tasks: dict[str, Task]

    def who(self, name: str, role: Role, unit: str) -> Principal:
        return self.c.access.principal(User(UserName(name), role, unit))

    def counts(self) -> tuple[int, int, int]:
        """Audit records, incidents and tasks stored (a refused command changes none)."""
        with self.c.stores.alerting.transaction() as tx:
            records = len(tx.audit.trail("incident", self.incident.id))
        incidents = self.c.response.incidents.find(principal=SYSTEM, open_only=False)
        tasks = self.c.response.tasks.find(principal=SYSTEM, open_only=False)
        return records, len(incidents), len(tasks)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = write_small_config(tmp_path / "cfg", **{"plans.yaml": small_plans()})
    clock = FakeClock()
    c = build(Settings(database_url="memory://", config_dir=config), clock=clock)
    c.ingest.ingest(
        RawObservations(
            ["D11.river_level"], np.array([int(clock.now().timestamp())]), np.array([4.5])
        ),
        principal=SYSTEM,
    )
    c.response.responder.tick(clock.now())
    (incident,) = c.response.incidents.find(principal=SYSTEM)
    tasks = {t.template: t for t in c.response.incidents.tasks(incident.id, principal=SYSTEM)}
    clock.advance(timedelta(minutes=1))
    yield World(c, clock, incident, tasks)
    c.close()


Op = Callable[[World, Principal], Any]
# (operation, who may, who may not): roles and units
D11 = ("d11", Role.UNIT_MEMBER, "D11-FLOOD")
P1 = ("p1duty", Role.DUTY_OFFICER, "P1-CP")
P2 = ("p2duty", Role.DUTY_OFFICER, "P2-CP")
GRID = ("grid", Role.UNIT_MEMBER, "GRID")

OPERATIONS: dict[str, tuple[Op, tuple[str, Role, str], tuple[str, Role, str]]] = {
    "incident get": (lambda w, p: w.c.response.incidents.get(w.incident.id, principal=p), D11, P2),
    "incident tasks": (
        lambda w, p: w.c.response.incidents.tasks(w.incident.id, principal=p),
        P1,
        P2,
    ),
    "incident timeline": (
        lambda w, p: w.c.response.incidents.timeline(w.incident.id, principal=p),
        D11,
        P2,
    ),
    "incident open": (
        lambda w, p: w.c.response.incidents.open(
            principal=p, title="Dam", region="D12", domain="natural.flood", reason="dam seeps"
        ),
        P1,
        P2,
    ),
    "incident activate": (
        lambda w, p: w.c.response.incidents.activate(
            w.incident.id, principal=p, plan_id="flood", level=Level.RED, reason="worse"
        ),
        P1,
        P2,
    ),
    "incident link": (
        lambda w, p: w.c.response.incidents.link(
            w.incident.id, principal=p, links=[Link(LinkKind.EVENT, "e1")], reason="seen"
        ),
        P1,
        P2,
    ),
    "incident lead": (
        lambda w, p: w.c.response.incidents.name_lead(
            w.incident.id, principal=p, unit="D11-FLOOD", reason="on site"
        ),
        P1,
        P2,
    ),
    "incident stand down": (
        lambda w, p: w.c.response.incidents.stand_down(w.incident.id, principal=p, reason="over"),
        P1,
        P2,
    ),
    "incident split": (
        lambda w, p: w.c.response.incidents.split(
            w.incident.id,
            principal=p,
            title="Shelters",
            links=[],
            task_ids=[w.tasks["shelters"].id],
            reason="its own incident",
        ),
        P1,
        P2,
    ),
    "task get": (lambda w, p: w.c.response.tasks.get(w.tasks["levees"].id, principal=p), D11, P2),
    "task history": (
        lambda w, p: w.c.response.tasks.history(w.tasks["levees"].id, principal=p),
        D11,
        GRID,
    ),
    "task accept": (
        lambda w, p: w.c.response.tasks.act(
            w.tasks["levees"].id, K.ACCEPT, principal=p, reason="on it"
        ),
        D11,
        P2,
    ),
    "task block": (
        lambda w, p: w.c.response.tasks.act(
            w.tasks["levees"].id, K.BLOCK, principal=p, reason="road closed"
        ),
        D11,
        GRID,
    ),
    "task cancel": (
        lambda w, p: w.c.response.tasks.act(
            w.tasks["shelters"].id, K.CANCEL, principal=p, reason="not needed"
        ),
        P1,
        P2,
    ),
    "task reassign": (
        lambda w, p: w.c.response.tasks.reassign(
            w.tasks["levees"].id, principal=p, unit="P1-CP", reason="short of crews"
        ),
        P1,
        P2,
    ),
    "situation of the incident": (
        lambda w, p: w.c.response.situation.incident_facts(w.incident.id, principal=p),
        D11,
        P2,
    ),
    "situation of a region": (
        lambda w, p: w.c.response.situation.region_facts("P1", principal=p),
        P1,
        P2,
    ),
    "situation report issued": (
        lambda w, p: w.c.response.situation.issue("incident", w.incident.id, principal=p),
        P1,
        P2,
    ),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_in_scope_it_works_out_of_scope_it_is_refused_and_stores_nothing(
    world: World, name: str
) -> None:
    op, allowed, refused = OPERATIONS[name]
    before = world.counts()
    with pytest.raises(Forbidden, match=r"outside the scope|may not"):
        op(world, world.who(*refused))
    assert world.counts() == before
    op(world, world.who(*allowed))


def test_a_unit_member_may_work_on_tasks_but_not_command(world: World) -> None:
    d11 = world.who(*D11)
    with pytest.raises(Forbidden, match="may not command"):
        world.c.response.incidents.stand_down(world.incident.id, principal=d11, reason="x")
    with pytest.raises(Forbidden, match="may not command"):
        world.c.response.tasks.reassign(
            world.tasks["levees"].id, principal=d11, unit="P1-CP", reason="x"
        )


def test_reassigning_needs_the_scope_of_the_unit_it_goes_to(world: World) -> None:
    p1 = world.who(*P1)
    with pytest.raises(Forbidden, match="giving a task to P2-CP"):
        world.c.response.tasks.reassign(
            world.tasks["levees"].id, principal=p1, unit="P2-CP", reason="help"
        )


def test_lists_show_only_what_is_in_scope(world: World) -> None:
    c = world.c
    assert [i.id for i in c.response.incidents.find(principal=world.who(*D11))] == [
        world.incident.id
    ]
    assert c.response.incidents.find(principal=world.who(*P2)) == []
    assert (
        c.response.incidents.linked_to(
            LinkKind.WARNING, world.incident.linked(LinkKind.WARNING)[0], principal=world.who(*P2)
        )
        == []
    )
    mine = c.response.tasks.find(principal=world.who(*D11), mine=True)
    assert [t.title for t in mine] == ["Inspect the levees"]
    assert [t.unit for t in c.response.tasks.find(principal=world.who(*P1))] == [
        "D11-FLOOD",
        "P1-CP",
    ]
    assert c.response.tasks.find(principal=world.who(*GRID)) == []
    assert c.response.tasks.find(principal=world.who(*P2)) == []
    start, end = world.clock.now() - timedelta(hours=1), world.clock.now()
    rows = c.response.scorecards.scorecard(principal=world.who(*P1), start=start, end=end)
    assert {r.unit for r in rows} == {"D11-FLOOD", "P1-CP"}
    assert c.response.scorecards.scorecard(principal=world.who(*P2), start=start, end=end) == []
