"""Deadlines of public reports, and their reminders and escalation, as for tasks.

A report must be acknowledged by its unit within `acknowledge_within` of coming in, and closed
(closed, rejected or marked a duplicate) within `close_within`. When a deadline passes, the
tasks' overdue machinery takes over unchanged: the escalation policy (by default the tasks'
`DEFAULT_OVERDUE`: remind the unit at once, then the unit above after 30 minutes) is resolved
against the report's chain (its unit, then the units responsible above its region) and frozen
onto the report when it comes in (`Reminders`, as on a task); `next_step` of the warnings'
escalation tells which step is due. A step to the report's own unit is a reminder, a step to
another unit an escalation. A new deadline (the report was acknowledged) starts the steps
again; a closed report has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from tocsin.core.incidents.plans import DEFAULT_OVERDUE
from tocsin.core.incidents.reminders import steps_for
from tocsin.core.incidents.tasks import Reminders, Steps
from tocsin.core.reports import Report, ReportStatus
from tocsin.core.warnings.dedup import idempotency_key
from tocsin.core.warnings.escalation import (
    DueStep,
    EscalationPolicy,
    EscalationSnapshot,
    next_step,
)
from tocsin.core.warnings.outbox import Message, NotificationKind


class OverdueReason(StrEnum):
    """What an overdue report's step is."""

    REMINDED = "reminded"  # its unit is reminded
    ESCALATED = "escalated"  # the next unit up the chain is told


@dataclass(frozen=True, slots=True)
class ReportDeadlines:
    """How long a unit has to acknowledge and to close a report, and what happens after."""

    acknowledge_within: timedelta = timedelta(hours=4)
    close_within: timedelta = timedelta(days=3)
    overdue: EscalationPolicy = DEFAULT_OVERDUE


@dataclass(frozen=True, slots=True)
class OverdueStep:
    """A due step of an overdue report: the report after it, why, the step, what it says."""

    report: Report
    reason: OverdueReason
    step: DueStep
    note: str


def deadline_of(report: Report, deadlines: ReportDeadlines) -> datetime | None:
    """The report's running deadline: to be acknowledged, then to be closed (None: closed)."""
    if report.open311_status != "open":
        return None
    if report.status is ReportStatus.RECEIVED:
        return report.requested_at + deadlines.acknowledge_within
    return report.requested_at + deadlines.close_within


def first_reminders(report: Report, deadlines: ReportDeadlines, *, chain: Sequence[str]) -> Report:
    """A new report with the policy's steps frozen onto it and its first step scheduled (what
    `scheduled` gives a report with no progress, in one copy: every report comes in this way)."""
    steps = _steps(deadlines.overdue, tuple(chain)) if report.unit else ()
    deadline = deadline_of(report, deadlines)
    step = None
    if deadline is not None:
        snap = EscalationSnapshot("report overdue", deadline, steps)
        step = next_step(snap, 0, report.updated_at)
    next_at = step.due_at if step is not None else None
    return replace(report, reminders=Reminders(steps, 0, next_at))


@lru_cache(maxsize=4096)
def _steps(policy: EscalationPolicy, chain: tuple[str, ...]) -> Steps:
    """The policy's steps for a chain (a city has a few hundred chains; each report has one)."""
    return steps_for(policy, chain)


def scheduled(report: Report, deadlines: ReportDeadlines, *, since: Report | None = None) -> Report:
    """The report with its next step's time; the steps start again when its deadline moved
    from the one it had `since` (an earlier version of it)."""
    deadline = deadline_of(report, deadlines)
    progress = report.reminders.progress
    if since is not None and deadline_of(since, deadlines) != deadline:
        progress = 0
    step = _next(report, deadline, progress=progress, now=report.updated_at)
    next_at = step.due_at if step is not None else None
    return replace(report, reminders=replace(report.reminders, progress=progress, next_at=next_at))


def on_due(report: Report, deadlines: ReportDeadlines, *, now: datetime) -> OverdueStep | None:
    """The step due at `now` for an overdue report (None: nothing is due)."""
    deadline = deadline_of(report, deadlines)
    step = _next(report, deadline, progress=report.reminders.progress, now=now)
    if deadline is None or step is None or not step.is_due:
        return None
    missed = "acknowledged" if report.status is ReportStatus.RECEIVED else "closed"
    minutes = int((now - deadline).total_seconds() // 60)
    late = f"report {report.id} not {missed} {minutes} min after its deadline"
    if step.unit == report.unit:
        reason, note = OverdueReason.REMINDED, f"{late}; reminder to {step.unit}"
    else:
        reason = OverdueReason.ESCALATED
        note = f"{late}; escalated to {step.unit} (above {report.unit})"
    taken = replace(report, reminders=replace(report.reminders, progress=step.index + 1))
    return OverdueStep(scheduled(taken, deadlines), reason, step, note)


def overdue_notice(due: OverdueStep, *, deadlines: ReportDeadlines) -> Message:
    """The message telling a unit about an overdue report (no personal field: the report's
    service, region, status and id; the handling unit opens it in Tocsin)."""
    report = due.report
    deadline = deadline_of(report, deadlines)
    moment = deadline.isoformat() if deadline is not None else ""
    key = idempotency_key("report", report.id, due.reason.value, due.step.unit, moment)
    tag = "REPORT OVERDUE" if due.reason is OverdueReason.REMINDED else "REPORT ESCALATION"
    return Message(
        key=f"{key}-{due.step.index}",
        kind=NotificationKind.CITIZEN_REPORT,
        reason=due.note,
        receiver=due.step.unit,
        labels={"region": report.region, "service": report.service},
        subject=f"[{tag}] public report {report.id}: {report.service} in {report.region}",
        extra={
            "report": {
                "id": report.id,
                "service": report.service,
                "region": report.region,
                "unit": report.unit,
                "status": report.status.value,
                "requested_at": report.requested_at.isoformat(),
                "deadline": moment,
            },
            "notice": due.reason.value,
        },
    )


def _next(
    report: Report, deadline: datetime | None, *, progress: int, now: datetime
) -> DueStep | None:
    if deadline is None:
        return None
    snap = EscalationSnapshot("report overdue", deadline, report.reminders.steps)
    return next_step(snap, progress, now)
