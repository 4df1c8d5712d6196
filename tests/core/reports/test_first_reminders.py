"""A new report's reminders: the policy's steps frozen onto it and its first step scheduled,
exactly as `scheduled` schedules a report with those steps and no progress."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.incidents.reminders import steps_for
from tocsin.core.incidents.tasks import Reminders
from tocsin.core.report_deadlines import ReportDeadlines, first_reminders, scheduled
from tocsin.core.reports import Point, Report, ReportId, ReportStatus

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _report(unit: str | None, status: ReportStatus, minutes: int) -> Report:
    at = T0 + timedelta(minutes=minutes)
    return Report(
        id=ReportId("r1"),
        service="gas_smell",
        point=Point(45.0, 10.0),
        region="D1",
        unit=unit,
        requested_at=at,
        updated_at=at,
        status=status,
        description="smell",
        client="app",
        fingerprint="fp",
    )


@given(
    unit=st.sampled_from([None, "U1"]),
    chain=st.lists(st.sampled_from(["U1", "U2", "U3"]), max_size=3, unique=True),
    status=st.sampled_from(list(ReportStatus)),
    minutes=st.integers(0, 10_000),
    ack_h=st.integers(1, 48),
)
def test_first_reminders_schedule_as_scheduled_does(
    unit: str | None, chain: list[str], status: ReportStatus, minutes: int, ack_h: int
) -> None:
    deadlines = ReportDeadlines(acknowledge_within=timedelta(hours=ack_h))
    report = _report(unit, status, minutes)
    steps = steps_for(deadlines.overdue, chain) if unit else ()
    expected = scheduled(replace(report, reminders=Reminders(steps)), deadlines)
    assert first_reminders(report, deadlines, chain=chain) == expected
    assert first_reminders(report, deadlines, chain=chain) == expected  # from the steps' cache
