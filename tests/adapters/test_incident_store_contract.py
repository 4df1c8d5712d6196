"""The response store's contract (incidents, tasks, the trail read back, situation reports, the
response's own feed position), on the in-memory reference store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.factories import T0, make_incident, make_task, make_warning, transition
from tocsin.bootstrap import Stores
from tocsin.core.access import Scope
from tocsin.core.audit import AuditRecord
from tocsin.core.errors import Conflict
from tocsin.core.incidents.model import IncidentState, Link, LinkKind, ResponseLevel
from tocsin.core.incidents.tasks import Reminders, TaskId, TaskState
from tocsin.core.levels import Level
from tocsin.ports import IncidentFilter, ResponseStore, StoredReport, TaskFilter

MIN = timedelta(minutes=1)
W1, W2 = Link(LinkKind.WARNING, "w1"), Link(LinkKind.WARNING, "w2")


def response(stores: Stores) -> ResponseStore:
    assert stores.response is not None
    return stores.response


def test_incidents_round_trip_with_their_links(stores: Stores) -> None:
    full = make_incident(
        "i1",
        key="flood@D11",
        state=IncidentState.ACTIVE,
        plan="flood",
        plan_level=Level.RED,
        response_level=ResponseLevel.I,
        lead_unit="D11-FLOOD",
        links=frozenset({W1, Link(LinkKind.PUBLIC_ALERT, "cap-1")}),
        activated_at=T0 + MIN,
    )
    with response(stores).transaction() as tx:
        tx.incidents.save([full, make_incident("i2", region="D21")], new=True)
    with response(stores).transaction() as tx:
        assert tx.incidents.get("i1") == full
        assert set(tx.incidents.by_ids(["i1", "i2", "nope"])) == {"i1", "i2"}
        assert tx.incidents.open_by_keys(["flood@D11", "other"]) == {"flood@D11": full}
        assert [x.id for x in tx.incidents.linked_to("warning", ["w1"], open_only=True)["w1"]] == [
            "i1"
        ]
        assert tx.incidents.linked_to("public_alert", ["cap-1", "cap-2"], open_only=False) == {
            "cap-1": [full]
        }
        assert [x.id for x in tx.incidents.with_prefix("i", limit=5)] == ["i1", "i2"]
    closed = replace(
        full, state=IncidentState.CLOSED, closed_at=T0 + 2 * MIN, links=frozenset({W2})
    )
    with response(stores).transaction() as tx:
        tx.incidents.save([closed], new=False)
    with response(stores).transaction() as tx:
        assert tx.incidents.get("i1") == closed
        assert tx.incidents.open_by_keys(["flood@D11"]) == {}
        assert tx.incidents.linked_to("warning", ["w1"], open_only=False) == {}
        assert tx.incidents.linked_to("warning", ["w2"], open_only=True) == {}


def test_one_open_incident_per_key(stores: Stores) -> None:
    with response(stores).transaction() as tx:
        tx.incidents.save([make_incident("i1", key="k")], new=True)
    with pytest.raises(Conflict), response(stores).transaction() as tx:
        tx.incidents.save([make_incident("i2", key="k")], new=True)
    with response(stores).transaction() as tx:
        tx.incidents.save(
            [replace(make_incident("i1", key="k"), state=IncidentState.CLOSED)], new=False
        )
    with response(stores).transaction() as tx:
        tx.incidents.save([make_incident("i2", key="k")], new=True)  # the first one is closed
    with response(stores).transaction() as tx:
        assert tx.incidents.open_by_keys(["k"])["k"].id == "i2"


def test_incident_filters_and_scope(stores: Stores) -> None:
    incidents = [
        make_incident("a", at=T0, region="D11"),
        make_incident("b", at=T0 + MIN, region="D21", domain="supply.water"),
        make_incident("c", at=T0 + 2 * MIN, region="D12", state=IncidentState.CLOSED),
    ]
    with response(stores).transaction() as tx:
        tx.incidents.save(incidents, new=True)

    with response(stores).transaction() as tx:

        def ids(q: IncidentFilter) -> list[str]:
            return [x.id for x in tx.incidents.find(q)]

        assert ids(IncidentFilter()) == ["b", "a"]  # newest first, open only
        assert ids(IncidentFilter(open_only=False)) == ["c", "b", "a"]
        assert ids(IncidentFilter(open_only=False, regions=("D11", "D12"))) == ["c", "a"]
        assert ids(IncidentFilter(domain_prefix="supply")) == ["b"]
        assert ids(IncidentFilter(states=("closed",), open_only=False)) == ["c"]
        p1 = Scope(frozenset({"P1", "D11", "D12"}), None, "P1")
        assert ids(IncidentFilter(open_only=False, scope=p1)) == ["c", "a"]
        water = Scope(None, frozenset({"supply.water"}), "water")
        assert ids(IncidentFilter(scope=water)) == ["b"]
        assert ids(IncidentFilter(limit=1)) == ["b"]


def test_tasks_round_trip_order_and_due(stores: Stores) -> None:
    first = make_task("t1")  # accept by T0+10 min
    second = make_task("t2", at=T0 + MIN, unit="P1-CP", region="P1")  # accept by T0+11 min
    waiting = make_task(
        "t3",
        state=TaskState.WAITING,
        accept_due_at=None,
        complete_due_at=None,
        reminders=Reminders(((0, "D11-FLOOD"),)),
        depends_on=(TaskId("t1"),),
        checklist=("north bank", "south bank"),
    )
    done = make_task(
        "t4",
        state=TaskState.DONE,
        outcome="ok",
        completed_at=T0 + MIN,
        reminders=Reminders(((0, "D11-FLOOD"),)),
    )
    with response(stores).transaction() as tx:
        tx.tasks.save([second, first, waiting, done], new=True)
    with response(stores).transaction() as tx:
        assert tx.tasks.get("t3") == waiting
        assert tx.tasks.by_ids(["t1", "x"]) == {"t1": first}
        assert [t.id for t in tx.tasks.of_incidents(["i1"])["i1"]] == ["t1", "t3", "t4", "t2"]

        def ids(q: TaskFilter) -> list[str]:
            return [t.id for t in tx.tasks.find(q)]

        assert ids(TaskFilter()) == ["t1", "t2", "t3"]  # by running deadline, none last
        assert ids(TaskFilter(open_only=False)) == ["t1", "t2", "t3", "t4"]
        assert ids(TaskFilter(unit="P1-CP")) == ["t2"]
        d11 = Scope(frozenset({"D11"}), frozenset({"natural.flood"}), "D11 floods")
        assert ids(TaskFilter(scope=d11)) == ["t1", "t3"]
        assert [t.id for t in tx.tasks.due(T0 + 10 * MIN, 10)] == ["t1"]
        assert [t.id for t in tx.tasks.due(T0 + 11 * MIN, 10)] == ["t1", "t2"]
        assert [t.id for t in tx.tasks.due(T0 + 11 * MIN, 1)] == ["t1"]
        assert [t.id for t in tx.tasks.with_prefix("t", limit=2)] == ["t1", "t2"]
    moved = replace(
        first,
        state=TaskState.ACCEPTED,
        accepted_at=T0 + 2 * MIN,
        reminders=Reminders(first.reminders.steps, 0, T0 + 60 * MIN),
    )
    with response(stores).transaction() as tx:
        tx.tasks.save([moved], new=False)
    with response(stores).transaction() as tx:
        assert tx.tasks.get("t1") == moved
        assert [t.id for t in tx.tasks.due(T0 + 11 * MIN, 10)] == ["t2"]


def test_the_trail_as_a_timeline_and_by_period(stores: Stores) -> None:
    with response(stores).transaction() as tx:
        tx.incidents.save([make_incident("i1"), make_incident("i2")], new=True)
        tx.tasks.save([make_task("t1"), make_task("t9", incident_id="i2")], new=True)
    records = [
        AuditRecord(T0, "s", "incident.opened", "incident", "i1", "", {}),
        AuditRecord(T0 + MIN, "s", "task.assigned", "task", "t1", "", {"unit": "D11-FLOOD"}),
        AuditRecord(T0 + MIN, "s", "task.assigned", "task", "t9", "", {}),
        AuditRecord(T0 + 2 * MIN, "s", "incident.opened", "incident", "i2", "", {}),
        transition(make_warning("w1", at=T0 + 3 * MIN)),
    ]
    with stores.store.transaction() as tx:
        tx.audit.append(records)
    with response(stores).transaction() as tx:
        assert [(r.kind, r.subject_id) for r in tx.response_trail.timeline("i1")] == [
            ("incident.opened", "i1"),
            ("task.assigned", "t1"),
        ]
        got = tx.response_trail.between(T0 + MIN, T0 + 3 * MIN, subject_types=["task", "warning"])
        assert [r.subject_id for r in got] == ["t1", "t9"]
        wide = tx.response_trail.between(T0, T0 + 4 * MIN, subject_types=["warning"])
        assert [r.subject_id for r in wide] == ["w1"]
        assert wide[0].details["to_level"] == "yellow"


def test_situation_reports_are_kept_once(stores: Stores) -> None:
    report = StoredReport("r1", "incident", "i1", T0, "duty", "Sitrep", {"by_level": {"red": 1}})
    later = replace(report, id="r2", created_at=T0 + MIN, facts={"x": [1, 2]})
    with response(stores).transaction() as tx:
        tx.situation_reports.add(report)
        tx.situation_reports.add(later)
    with response(stores).transaction() as tx:
        tx.situation_reports.add(replace(report, title="changed"))  # the id is kept as it was
    with response(stores).transaction() as tx:
        assert tx.situation_reports.get("r1") == report
        assert tx.situation_reports.get("nope") is None
        assert [(r.id, r.facts) for r in tx.situation_reports.find("incident", "i1", limit=5)] == [
            ("r2", {}),
            ("r1", {}),
        ]
        assert tx.situation_reports.latest("incident", ["i1", "i9"]) == {"i1": T0 + MIN}


def test_the_response_reads_the_warning_feed_at_its_own_pace(stores: Stores) -> None:
    with stores.store.transaction() as tx:
        tx.audit.append([transition(make_warning("w1")), transition(make_warning("w2"))])
    with stores.alerting.transaction() as tx:  # the dispatcher reads and advances its feed
        tx.feed.advance([r.id for r in tx.feed.read(10)])
    with response(stores).transaction() as tx:
        rows = tx.response_feed.read(1)
        assert [r.warning_id for r in rows] == ["w1"]
        tx.response_feed.advance([rows[0].id])
    with response(stores).transaction() as tx:
        assert [r.warning_id for r in tx.response_feed.read(10)] == ["w2"]
    with stores.alerting.transaction() as tx:
        assert tx.feed.read(10) == []
