"""Overdue public reports, as for tasks: the unit is reminded when a report is not acknowledged
in time, the unit above is told 30 minutes later, acknowledging starts the close deadline's
steps again, and a closed report has none; on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.services.report_world import report_world
from tocsin.bootstrap import response_store
from tocsin.core.report_deadlines import ReportDeadlines
from tocsin.core.reports import HandlingAction, Point
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.outbox import NotificationKind
from tocsin.ports import ResponseStore, Store
from tocsin.services.delivery import Handoff
from tocsin.services.report_deadlines import ReportOverdue
from tocsin.services.reports import ReportPolicy, ReportService, Submission
from tocsin.testing.clock import FakeClock

STRONG = {"strength": ["strong"]}
HANDLER = User(UserName("p1"), Role.UNIT_MEMBER, "P1-CP")
DEADLINES = ReportDeadlines(acknowledge_within=timedelta(hours=4), close_within=timedelta(days=3))


@dataclass
class Desk:
    reports: ReportService
    overdue: ReportOverdue
    store: Store
    response: ResponseStore
    clock: FakeClock


@pytest.fixture
def desk(store_url: str, tmp_path: Path) -> Iterator[Desk]:
    policy = ReportPolicy(deadlines=DEADLINES)
    with report_world(store_url, tmp_path / "cfg", policy=policy, cipher=None) as made:
        response = response_store(made.stores)
        overdue = ReportOverdue(
            made.stores.store,
            response,
            clock=made.clock,
            units=made.catalog.units,
            deadlines=DEADLINES,
            handoff=Handoff(),
        )
        yield Desk(made.service, overdue, made.stores.store, response, made.clock)


def _sent(desk: Desk) -> list[tuple[str, str]]:
    """(address, subject tag) of the overdue notices in the outbox, oldest first."""
    with desk.response.transaction() as tx:
        found = tx.outbox.find(limit=50)
    notes = [n for n in reversed(found) if n.kind is NotificationKind.CITIZEN_REPORT]
    return [(n.address, n.subject.split("]")[0] + "]") for n in notes]


def _trail(desk: Desk, report_id: str) -> list[str]:
    with desk.store.transaction() as tx:
        return [r.kind for r in tx.audit.trail("report", report_id)]


def test_an_unacknowledged_report_reminds_its_unit_then_escalates_once_each(desk: Desk) -> None:
    sub = Submission("gas_smell", Point(45.5, 10.5), "app", "198.51.100.0/24", attributes=STRONG)
    report = desk.reports.submit(sub)
    assert report.unit == "P1-CP"
    desk.clock.advance(timedelta(hours=4) - timedelta(seconds=1))
    assert desk.overdue.tick() == 0  # not yet overdue
    desk.clock.advance(timedelta(seconds=1))
    assert desk.overdue.tick() == 1
    assert desk.overdue.tick() == 0  # taken once
    assert _sent(desk) == [("p1@example.test", "[REPORT OVERDUE]")]
    desk.clock.advance(timedelta(minutes=30))
    assert desk.overdue.tick() == 1
    assert _sent(desk)[1:] == [("nat@example.test", "[REPORT ESCALATION]")]
    desk.clock.advance(timedelta(hours=5))
    assert desk.overdue.tick() == 0  # nobody above the nation's unit
    assert _trail(desk, report.id) == ["report.received", "report.reminded", "report.escalated"]


def test_acknowledging_starts_the_close_deadline_and_closing_ends_the_steps(desk: Desk) -> None:
    sub = Submission("gas_smell", Point(45.5, 10.5), "app", "198.51.100.0/24", attributes=STRONG)
    report = desk.reports.submit(sub)
    desk.clock.advance(timedelta(hours=5))
    assert desk.overdue.tick() == 1  # reminder: not acknowledged
    desk.reports.act(report.id, HandlingAction.ACKNOWLEDGE, user=HANDLER)
    desk.clock.advance(timedelta(days=3) - timedelta(hours=5, seconds=1))
    assert desk.overdue.tick() == 0  # the close deadline has not passed
    desk.clock.advance(timedelta(seconds=1))
    assert desk.overdue.tick() == 1  # reminder again: not closed, the steps started afresh
    desk.reports.act(report.id, HandlingAction.CLOSE, user=HANDLER, note="repaired")
    desk.clock.advance(timedelta(days=10))
    assert desk.overdue.tick() == 0
    assert [tag for _, tag in _sent(desk)] == ["[REPORT OVERDUE]", "[REPORT OVERDUE]"]
