"""The response on a fake clock, on SQLite and PostgreSQL: a warning turns orange, plan P
activates, tasks reach units U1 (D11-FLOOD) and U2 (P1-CP), U2 misses its deadline, its parent
(NAT) is told, the warning goes red, more tasks, it is lifted, stand-down, the incident closes;
the scorecard then shows exactly those times. The same run with a restart in the middle gives
the same trail, the same notifications and the same scorecard."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.scenarios.warning_timeline import T0, RecordingNotifier, Timeline
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import Principal, system_principal
from tocsin.core.incidents.model import IncidentState, ResponseLevel
from tocsin.core.incidents.tasks import Task, TaskCommandKind, TaskState
from tocsin.core.levels import Level
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.outbox import Channel, NotificationKind
from tocsin.testing.clock import FakeClock
from tocsin.testing.postgres import create_database
from tocsin.testing.scenario import small_plans, write_small_config

IDS = re.compile(r"[0-9a-f]{12,}")
WARNING_ESCALATION = {  # nobody acknowledged within 2 minutes: the parent region's unit
    "policies": [
        {
            "name": "floods",
            "match": {"domain": "natural.flood"},
            "steps": [{"after_s": 120, "to": "parent"}],
        }
    ]
}
USERS = {"u1": "D11-FLOOD", "u2": "P1-CP", "grid": "GRID", "duty": "NAT"}


class ResponseTimeline(Timeline):
    """A timeline whose every step also runs the responder (and delivers what it wrote)."""

    def _step(self) -> None:
        super()._step()
        self.container.response.responder.tick(self.clock.now())
        self.container.delivery.run_once(self.clock.now())


@dataclass
class Run:
    """One run of the scenario: its timeline and everything it saw."""

    tl: ResponseTimeline
    config: Path
    url: str
    people: dict[str, Principal] = field(default_factory=dict)

    def principal(self, name: str) -> Principal:
        role = Role.DUTY_OFFICER if name == "duty" else Role.UNIT_MEMBER
        return self.tl.container.access.principal(User(UserName(name), role, USERS[name]))

    def restart(self) -> None:
        """A new process on the same database, the same clock and the same receivers."""
        self.tl.container.close()
        self.tl.container = _build(self.url, self.config, self.tl.clock, self.tl.channel)

    def task(self, title: str) -> Task:
        incident = self.incident()
        found = self.tl.container.response.incidents.tasks(incident.id, principal=SYSTEM)
        return next(t for t in found if t.title == title)

    def incident(self) -> Any:
        found = self.tl.container.response.incidents.find(principal=SYSTEM, open_only=False)
        assert len(found) == 1
        return found[0]

    def act(self, minutes: float, who: str, title: str, kind: TaskCommandKind, **kw: Any) -> None:
        self.tl.run_until(minutes)
        self.tl.container.response.tasks.act(
            self.task(title).id, kind, principal=self.principal(who), reason=f"{who} {kind}", **kw
        )
        self.tl.run_until(minutes)  # the notices it wrote go out

    def acknowledge(self, minutes: float, who: str) -> None:
        self.tl.run_until(minutes)
        warning = self.tl.container.warnings.find(principal=SYSTEM)[0]
        self.tl.container.warnings.acknowledge(
            warning.id, principal=self.principal(who), reason="seen"
        )


SYSTEM = system_principal("test")


def _build(url: str, config: Path, clock: FakeClock, channel: RecordingNotifier) -> Any:
    return build(
        Settings(database_url=url, config_dir=config),
        clock=clock,
        channels={Channel.WEBHOOK: channel, Channel.EMAIL: channel},
    )


def start(tmp_path: Path, url: str) -> Run:
    config = write_small_config(tmp_path / "config", **{"plans.yaml": small_plans()})
    (config / "escalation.yaml").write_text(yaml.safe_dump(WARNING_ESCALATION), encoding="utf-8")
    clock = FakeClock(T0)
    channel = RecordingNotifier()
    channel.clock = clock
    container = _build(url, config, clock, channel)
    return Run(ResponseTimeline(container, clock, channel), config, url)


def play(run: Run, *, restart_at: float | None) -> None:
    """The scenario, minute by minute (T0 = 08:00)."""
    tl = run.tl
    tl.observe(0, D11__river_level=4.5)  # orange: plan "flood" activates, levels II-III
    run.acknowledge(3, "u1")  # 180 s after the raise (the parent heard at 2 min)
    run.act(5, "u1", "Inspect the levees", TaskCommandKind.ACCEPT)
    tl.run_until(31)  # U2 (P1-CP) missed its 15-minute deadline: reminded, then NAT told
    if restart_at is not None:
        tl.run_until(restart_at)
        run.restart()
    run.act(40, "u2", "Prepare shelters", TaskCommandKind.ACCEPT)  # 25 minutes late
    tl.observe(45, D11__river_level=5.5)  # red: more tasks
    run.acknowledge(46, "u1")  # 60 s after the upgrade
    run.act(48, "u1", "Evacuate the riverside", TaskCommandKind.ACCEPT)
    run.act(70, "u1", "Evacuate the riverside", TaskCommandKind.COMPLETE, outcome="cleared")
    run.act(72, "grid", "Secure the substation", TaskCommandKind.ACCEPT)
    run.act(90, "u1", "Inspect the levees", TaskCommandKind.COMPLETE, outcome="levees hold")
    run.act(100, "grid", "Secure the substation", TaskCommandKind.COMPLETE, outcome="secured")
    tl.observe(110, D11__river_level=1.0)  # lifted: stand-down proposed
    tl.run_until(115)
    incident = run.incident()
    run.tl.container.response.incidents.stand_down(
        incident.id, principal=run.principal("duty"), reason="river back in its bed"
    )
    run.act(120, "u2", "Prepare shelters", TaskCommandKind.COMPLETE, outcome="shelters open")
    run.act(125, "u1", "Restore the riverside", TaskCommandKind.ACCEPT)
    run.act(130, "u1", "Restore the riverside", TaskCommandKind.COMPLETE, outcome="restored")
    run.act(135, "u2", "Debrief and report", TaskCommandKind.ACCEPT)
    run.act(140, "u2", "Debrief and report", TaskCommandKind.COMPLETE, outcome="report filed")
    tl.run_until(150)


def transcript(run: Run) -> dict[str, Any]:
    """Everything the run left: the incident's trail, the tasks, the notices sent."""
    c = run.tl.container
    incident = run.incident()
    trail = [  # ids (random per run) masked in the reasons
        (r.at, r.kind, r.actor, IDS.sub("…", r.reason), r.details.get("unit"))
        for r in c.response.incidents.timeline(incident.id, principal=SYSTEM)
    ]
    tasks = sorted(  # ids differ between runs (they derive from the incident's)
        (t.title, t.unit, t.state, t.accepted_at, t.completed_at, t.outcome)
        for t in c.response.incidents.tasks(incident.id, principal=SYSTEM)
    )
    sent = sorted((when, n.receiver, n.subject, n.key) for when, n in run.tl.sent())
    return {
        "incident": (incident.state, incident.response_level),
        "trail": trail,
        "tasks": tasks,
        "sent": sent,
    }


@pytest.fixture
def second_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> str:
    """Another empty database of the same kind."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'second.db'}"
    server: str = request.getfixturevalue("pg_server")
    return create_database(server, "t_second_" + Path(tmp_path).name[-8:].replace("-", "_"))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_response_from_orange_to_closed(tmp_path: Path, db_url: str, second_url: str) -> None:
    run = start(tmp_path / "a", db_url)
    play(run, restart_at=None)
    c = run.tl.container
    incident = run.incident()
    assert (incident.plan, incident.plan_level, incident.response_level) == (
        "flood",
        Level.RED,
        ResponseLevel.I,
    )
    assert incident.state is IncidentState.CLOSED
    assert incident.closed_at == at(140)
    assert incident.lead_unit == "P1-CP"
    kinds = [
        (r.at, r.kind)
        for r in c.response.incidents.timeline(incident.id, principal=SYSTEM)
        if r.kind.startswith("incident.")
    ]
    assert kinds == [
        (at(0), "incident.opened"),
        (at(0), "incident.activated"),
        (at(45), "incident.upgraded"),
        (at(110), "incident.stand_down_proposed"),
        (at(115), "incident.stood_down"),
        (at(140), "incident.closed"),
    ]
    tasks = {t.title: t for t in c.response.incidents.tasks(incident.id, principal=SYSTEM)}
    assert {t: (x.unit, x.state) for t, x in tasks.items()} == {
        "Inspect the levees": ("D11-FLOOD", TaskState.DONE),
        "Prepare shelters": ("P1-CP", TaskState.DONE),
        "Evacuate the riverside": ("D11-FLOOD", TaskState.DONE),
        "Secure the substation": ("GRID", TaskState.DONE),
        "Restore the riverside": ("D11-FLOOD", TaskState.DONE),
        "Debrief and report": ("P1-CP", TaskState.DONE),
    }
    assert tasks["Secure the substation"].assigned_at == at(70)  # waited for the evacuation
    assert tasks["Debrief and report"].assigned_at == at(130)  # waited for the restoration
    # what the units heard, and when
    heard = [
        (when, n.receiver, n.subject.split("]")[0] + "]")
        for when, n in run.tl.sent()
        if n.kind is NotificationKind.TASK
    ]
    assert (at(0), "D11-FLOOD", "[TASK]") in heard
    assert (at(0), "P1-CP", "[TASK]") in heard
    assert (at(15), "P1-CP", "[TASK OVERDUE]") in heard  # the reminder at the deadline
    assert (at(30), "NAT", "[TASK ESCALATION P1-CP]") in heard  # its parent, 15 min later
    escalated = [(w, n.receiver) for w, n in run.tl.sent() if n.kind is NotificationKind.ESCALATION]
    assert escalated == [(at(2), "P1-CP")]  # the warning, unacknowledged for 2 minutes
    # the scorecard, from the trail alone
    rows = {
        (r.unit, r.domain): r
        for r in c.response.scorecards.scorecard(
            principal=run.principal("duty"), start=T0, end=at(180), region="N"
        )
    }
    u1 = rows[("D11-FLOOD", "natural.flood")]
    assert (u1.warnings_received, u1.warnings_acknowledged) == (2, 2)
    assert sorted(u1.ack_times_s) == [60.0, 180.0]
    assert u1.ack_median_s == 120.0
    assert u1.ack_p90_s == pytest.approx(168.0)
    assert (u1.tasks_received, u1.tasks_on_time, u1.tasks_late, u1.tasks_overdue) == (3, 3, 0, 0)
    assert (u1.tasks_accepted_late, u1.reminders, u1.escalations_suffered) == (0, 0, 1)
    u2 = rows[("P1-CP", "natural.flood")]
    assert (u2.tasks_received, u2.tasks_on_time, u2.tasks_late, u2.tasks_overdue) == (2, 2, 0, 0)
    assert (u2.tasks_accepted_late, u2.reminders, u2.escalations_suffered) == (1, 1, 1)
    assert u2.warnings_received == 0
    grid = rows[("GRID", "infrastructure.power")]
    assert (grid.tasks_received, grid.tasks_on_time) == (1, 1)
    assert set(rows) == {
        ("D11-FLOOD", "natural.flood"),
        ("P1-CP", "natural.flood"),
        ("GRID", "infrastructure.power"),
    }
    # the same scenario with a restart half-way leaves exactly the same behind
    again = start(tmp_path / "b", second_url)
    play(again, restart_at=35)
    first, second = transcript(run), transcript(again)
    assert second["incident"] == first["incident"]
    assert second["tasks"] == first["tasks"]
    assert [x[:4] for x in second["trail"]] == [x[:4] for x in first["trail"]]
    assert [x[:3] for x in second["sent"]] == [x[:3] for x in first["sent"]]
    assert len({x[3] for x in second["sent"]}) == len(second["sent"])  # nothing sent twice
    again_rows = again.tl.container.response.scorecards.scorecard(
        principal=again.principal("duty"), start=T0, end=at(180), region="N"
    )
    assert [r.as_json() for r in again_rows] == [r.as_json() for r in rows.values()]
    run.tl.container.close()
    again.tl.container.close()
