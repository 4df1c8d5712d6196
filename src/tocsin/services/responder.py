"""The responder: committed warning transitions in, incidents and tasks out; overdue tasks
reminded and escalated; situation reports issued on schedule.

`Responder.tick(now)` is the one function a background loop calls (services/background.py);
in a deployment with several processes only the elected owner should call it (issue 11's
leases): every step is idempotent anyway. One pass (`_pass`) runs in ONE transaction:

    1 respond   the next warning transitions from the response's own feed position; for each,
                the activation decider (core/incidents/activation.py) says what it does, with
                a reason: open an incident under its plan, activate or upgrade one (its tasks
                go out), link a warning, propose stand-down
    2 remind    tasks whose next reminder step is due: remind the unit, then escalate to the
                units above it (core/incidents/reminders.py), each step a task transition
    3 write     incidents, tasks, audit records, notices (outbox) and the feed's new position

A crash repeats a pass, never half of it; incidents have a key (one open incident per plan and
region) and plan tasks an id derived from what they are, so a repeat creates nothing twice, and
notices have content-derived keys, which the outbox keeps once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tocsin.core.incidents.activation import (
    Activation,
    ActivationReason,
    incident_key,
    on_warning,
    warning_link,
)
from tocsin.core.incidents.model import (
    Incident,
    IncidentCommand,
    IncidentCommandKind,
    IncidentId,
    IncidentState,
    LinkKind,
    blank_incident,
)
from tocsin.core.incidents.plans import STAND_DOWN, EmergencyPlan, PlanLevel
from tocsin.core.incidents.reminders import ReminderReason, TaskNotice, notice, on_due
from tocsin.core.incidents.tasks import Task, TaskCommand, TaskCommandKind, TaskState
from tocsin.core.warnings.model import Warning
from tocsin.ports import FeedRow, ResponseStore
from tocsin.services.delivery import Handoff
from tocsin.services.response_pass import SYSTEM, ResponseContext, ResponsePass

log = logging.getLogger(__name__)

FEED_BATCH = 500  # warning transitions per pass
REMIND_BATCH = 500  # due tasks per pass


class ScheduledReports(Protocol):
    """Issues the situation reports that are due (services/situation.py)."""

    def issue_scheduled(self, now: datetime) -> int:
        """Issue every report due at `now`; return how many."""


@dataclass
class ResponseReport:
    """What one tick did."""

    transitions: int = 0
    opened: int = 0
    activated: int = 0
    upgraded: int = 0
    stand_downs_proposed: int = 0
    reminders: int = 0
    escalations: int = 0
    notices: int = 0
    reports: int = 0


def new_incident_id() -> IncidentId:
    """A fresh incident id."""
    return IncidentId(uuid.uuid4().hex[:24])


def apply_plan(
    work: ResponsePass,
    incident: Incident,
    plan: EmergencyPlan,
    levels: Sequence[PlanLevel],
    *,
    actor: str,
    reason: str,
) -> Incident:
    """Run a plan on an incident up to the highest of `levels` and issue those levels' tasks:
    an active incident is upgraded; an open or stabilised one is activated (again), and its
    proposed stand-down tasks are withdrawn."""
    active = incident.state is IncidentState.ACTIVE
    level = levels[-1].level if levels else incident.plan_level or plan.activation_level
    command = IncidentCommand(
        IncidentCommandKind.UPGRADE if active else IncidentCommandKind.ACTIVATE,
        actor,
        reason,
        plan=plan.id,
        level=level,
        response=plan.response_at(level),
        lead=None if active else incident.lead_unit or _lead(work, plan, incident),
    )
    incident = work.change(incident, command)
    for task in work.tasks_of(incident.id):
        if task.state is TaskState.PROPOSED and not active:
            why = "the plan was activated again: stand-down withdrawn"
            work.change_task(task, TaskCommand(TaskCommandKind.CANCEL, actor, why), incident)
    for entry in levels:
        work.issue(incident, plan, entry.tasks, stage=entry.level.value)
    return incident


def _lead(work: ResponsePass, plan: EmergencyPlan, incident: Incident) -> str | None:
    if plan.lead is not None:
        found = work.ctx.resolve(plan.lead, region=incident.region, domain=incident.domain)
        if found is not None:
            return str(found.unit.code)
    return work.ctx.responsible(incident.region, incident.domain)


class Responder:
    """Applies emergency plans to warning transitions and keeps tasks on time."""

    def __init__(
        self,
        store: ResponseStore,
        context: ResponseContext,
        *,
        handoff: Handoff | None = None,
        reports: ScheduledReports | None = None,
    ) -> None:
        self.store = store
        self.context = context
        self.handoff = handoff or Handoff()
        self.reports = reports

    def tick(self, now: datetime) -> ResponseReport:
        """Do all the response work due at `now`, one transaction per pass."""
        report = ResponseReport()
        while self._pass(now, report):
            pass
        if self.reports is not None:
            report.reports = self.reports.issue_scheduled(now)
        if report.notices:
            self.handoff.wake()
        return report

    def _pass(self, now: datetime, report: ResponseReport) -> bool:
        """Respond to transitions and take due reminder steps in one transaction; True when
        there may be more."""
        with self.store.transaction() as tx:
            work = ResponsePass(tx, now, self.context)
            rows = tx.response_feed.read(FEED_BATCH)
            warnings = tx.warnings.by_ids([r.warning_id for r in rows])
            work.prefetch_links(list(warnings))
            for row in rows:
                warning = warnings.get(row.warning_id)
                if warning is not None:
                    self._respond(work, row, warning, report)
            due = tx.tasks.due(now, REMIND_BATCH)
            for task in due:
                self._remind(work, task, report)
            report.notices += work.finish()
            if rows:
                tx.response_feed.advance([r.id for r in rows])
        report.transitions += len(rows)
        return len(rows) >= FEED_BATCH or len(due) >= REMIND_BATCH

    # -- 1 respond -----------------------------------------------------------------------------
    def _respond(
        self, work: ResponsePass, row: FeedRow, warning: Warning, report: ResponseReport
    ) -> None:
        """Decide what one warning transition does to the response, and do it."""
        plan = self.context.plan_for(warning)
        key = incident_key(plan, warning.region) if plan is not None else None
        incident = work.open_incident_for(warning, key)
        if incident is not None and incident.plan is not None:
            plan = self.context.plans.get(incident.plan) or plan
        others = self._others_open(work, incident, warning) if incident is not None else False
        decision = on_warning(warning, row.kind, plan=plan, incident=incident, others_open=others)
        reason = (
            f"{warning.level.value} warning {row.kind.removeprefix('warning.')}: "
            f"{warning.subject} in {warning.region} ({warning.id[:12]})"
        )
        log.debug("response", extra={"warning": warning.id, "decision": decision.reason.value})
        self._apply(work, decision, warning=warning, incident=incident, key=key, reason=reason)
        counted = {
            ActivationReason.OPENED: "opened",
            ActivationReason.ACTIVATED: "activated",
            ActivationReason.UPGRADED: "upgraded",
            ActivationReason.STAND_DOWN_PROPOSED: "stand_downs_proposed",
        }.get(decision.reason)
        if counted is not None:
            setattr(report, counted, getattr(report, counted) + 1)

    def _others_open(self, work: ResponsePass, incident: Incident, warning: Warning) -> bool:
        others = [i for i in incident.linked(LinkKind.WARNING) if i != warning.id]
        found: Mapping[str, Warning] = work.tx.warnings.by_ids(others)
        return any(w.is_open for w in found.values())

    def _apply(
        self,
        work: ResponsePass,
        decision: Activation,
        *,
        warning: Warning,
        incident: Incident | None,
        key: str | None,
        reason: str,
    ) -> None:
        """Carry out an activation decision."""
        plan = decision.plan
        if decision.reason is ActivationReason.OPENED and plan is not None:
            incident = self._open(work, warning, plan, key=key, reason=reason)
            apply_plan(work, incident, plan, decision.levels, actor=SYSTEM, reason=reason)
            return
        if incident is None:
            return
        if decision.link:
            link = IncidentCommand(
                IncidentCommandKind.LINK, SYSTEM, reason, links=(warning_link(warning),)
            )
            incident = work.change(incident, link)
        planned = decision.reason in (ActivationReason.ACTIVATED, ActivationReason.UPGRADED)
        if planned and plan is not None:
            apply_plan(work, incident, plan, decision.levels, actor=SYSTEM, reason=reason)
        elif decision.reason is ActivationReason.STAND_DOWN_PROPOSED:
            self._propose_stand_down(work, incident, reason=reason)

    def _open(
        self,
        work: ResponsePass,
        warning: Warning,
        plan: EmergencyPlan,
        *,
        key: str | None,
        reason: str,
    ) -> Incident:
        regions = self.context.catalog.regions.regions
        place = regions[warning.region].name if warning.region in regions else warning.region
        template = blank_incident(
            new_incident_id(),
            title=f"{plan.name}: {place}",
            region=warning.region,
            domain=warning.domain,
            key=key,
        )
        command = IncidentCommand(
            IncidentCommandKind.OPEN, SYSTEM, reason, links=(warning_link(warning),)
        )
        return work.open(template, command)

    def _propose_stand_down(self, work: ResponsePass, incident: Incident, *, reason: str) -> None:
        why = f"every linked warning is lifted ({reason}); stand-down proposed"
        incident = work.change(
            incident, IncidentCommand(IncidentCommandKind.PROPOSE_STAND_DOWN, SYSTEM, why)
        )
        plan = self.context.plans.get(incident.plan) if incident.plan else None
        if plan is not None:
            work.issue(incident, plan, plan.stand_down, stage=STAND_DOWN, propose=True)

    # -- 2 remind ------------------------------------------------------------------------------
    def _remind(self, work: ResponsePass, due: Task, report: ResponseReport) -> None:
        """Take a task's due reminder step: its transition and the notice to the step's unit."""
        task = work.task(due.id) or due
        decision = on_due(task, work.now)
        if decision.command is None or decision.step is None:
            return
        incident = work.incident(task.incident_id)
        if incident is None:
            return
        work.change_task(task, decision.command, incident)
        escalated = decision.reason is ReminderReason.ESCALATED
        what = TaskNotice.ESCALATION if escalated else TaskNotice.REMINDER
        work.messages.append(
            notice(
                task,
                incident,
                what=what,
                to=decision.step.unit,
                reason=decision.command.reason,
                step=decision.step.index,
            )
        )
        if escalated:
            report.escalations += 1
        else:
            report.reminders += 1
