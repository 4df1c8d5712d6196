"""Overdue public reports: a reminder to the handling unit, then escalation up the chain, as for
tasks (core/report_deadlines.py decides; this module stores and sends).

One tick reads the reports whose next step is due, writes each step's notice to the outbox (the
response's outbox, which already carries the tasks' notices to units), and then records the step
on the report with an audit record. The notice goes first: its key is derived from the report,
the step and the deadline, so a tick repeated after a crash between the two writes writes the
same key again, which the outbox keeps once. A report changed in the meantime (acknowledged,
closed) keeps its change: the step is recorded only on the version it was decided for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from tocsin.core.audit import AuditRecord
from tocsin.core.report_deadlines import OverdueStep, ReportDeadlines, on_due, overdue_notice
from tocsin.core.reports import Report
from tocsin.core.units import ResponsibleUnit, UnitCode
from tocsin.core.warnings.outbox import Notification, addresses_of
from tocsin.core.warnings.payloads import compose
from tocsin.ports import Clock, ResponseStore, Store
from tocsin.ports.reports import ReportQuery
from tocsin.services.delivery import Handoff

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:reports"


class ReportOverdue:
    """Takes the due reminder and escalation steps of overdue reports."""

    def __init__(
        self,
        store: Store,
        outbox: ResponseStore,
        *,
        clock: Clock,
        units: Mapping[UnitCode, ResponsibleUnit],
        deadlines: ReportDeadlines,
        handoff: Handoff,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.units = units
        self.deadlines = deadlines
        self.handoff = handoff
        self.batch = batch

    def tick(self) -> int:
        """Take every step due now; how many were taken."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            due = tx.reports.find(ReportQuery(due_by=now, limit=self.batch))
        steps = [s for r in due if (s := on_due(r, self.deadlines, now=now)) is not None]
        if not steps:
            return 0
        notes = [n for s in steps for n in self._notifications(s)]
        with self.outbox.transaction() as out:
            out.outbox.add(notes)
        taken = self._record(steps)
        if notes:
            self.handoff.wake()
        return taken

    def _notifications(self, step: OverdueStep) -> list[Notification]:
        message = overdue_notice(step, deadlines=self.deadlines)
        addresses = addresses_of(message.receiver, named={}, units=self.units)
        if not addresses:  # the report is on the unit's list; nothing to send it to
            log.info("unit has no address", extra={"receiver": message.receiver})
        return compose(message, addresses, now=self.clock.now())

    def _record(self, steps: list[OverdueStep]) -> int:
        """Record each step on the report it was decided for (unless it changed since)."""
        now = self.clock.now()
        records: list[AuditRecord] = []
        with self.store.transaction() as tx:
            for step in steps:
                current = tx.reports.get(step.report.id)
                if current is None or _changed(current, step):
                    continue
                tx.reports.save(replace(current, reminders=step.report.reminders), update=None)
                details = {"to": step.step.unit, "step": step.step.index}
                kind = f"report.{step.reason.value}"
                records.append(
                    AuditRecord(now, SYSTEM_ACTOR, kind, "report", current.id, step.note, details)
                )
            tx.audit.append(records)
        return len(records)


def _changed(current: Report, step: OverdueStep) -> bool:
    """Whether the report changed since the step was decided (its status or its progress)."""
    moved = current.reminders.progress != step.step.index
    return current.status is not step.report.status or moved
