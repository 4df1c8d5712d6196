"""Overdue tasks: reminders to the unit, then escalation up the chain, through the warnings'
escalation machinery; and the notices a unit receives about its tasks.

A plan's `overdue` policy is an `EscalationPolicy` (core/warnings/escalation.py): its steps are
resolved against the task's chain (its unit, then the units responsible above its region) and
frozen onto the task when it is created or reassigned, exactly as a warning's policy is frozen
when it starts escalating. The snapshot starts at the task's running deadline: `next_step`
tells which step is due. A step to the task's own unit is a reminder, a step to another unit an
escalation (the task's unit suffered it). Each notice goes to the outbox with a key derived
from its content (task, notice, deadline, step), so a repeat after a crash writes nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from tocsin.core.incidents.model import Incident
from tocsin.core.incidents.tasks import Steps, Task, TaskCommand, TaskCommandKind
from tocsin.core.warnings.dedup import idempotency_key
from tocsin.core.warnings.escalation import (
    DueStep,
    EscalationPolicy,
    EscalationSnapshot,
    next_step,
    snapshot,
)
from tocsin.core.warnings.outbox import Message, NotificationKind

SYSTEM_ACTOR: Final = "system:response"
EPOCH: Final = datetime.fromtimestamp(0, UTC)


class ReminderReason(StrEnum):
    """What a task's reminder schedule does at a moment."""

    REMINDED = "reminded"  # its unit is reminded
    ESCALATED = "escalated"  # the next unit up the chain is told
    NOT_DUE = "not_due"
    FINISHED = "finished"  # no deadline runs, or no steps are left


class TaskNotice(StrEnum):
    """Why a unit hears about a task."""

    ASSIGNED = "assigned"
    REMINDER = "reminder"
    ESCALATION = "escalation"


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    """The decision, the step taken (if any) and the command that records it."""

    reason: ReminderReason
    step: DueStep | None = None
    command: TaskCommand | None = None


def steps_for(policy: EscalationPolicy, chain: Sequence[str]) -> Steps:
    """A policy's steps resolved against a task's chain (its unit first), as the warnings'
    snapshot resolves them: `responsible` is the unit, `parent` one further up each time."""
    return snapshot(policy, chain=chain, started_at=EPOCH).steps


def task_snapshot(task: Task) -> EscalationSnapshot | None:
    """The task's reminder steps as an escalation snapshot starting at its running deadline."""
    deadline = task.deadline
    if deadline is None:
        return None
    return EscalationSnapshot("task overdue", deadline, task.reminders.steps)


def on_due(task: Task, now: datetime) -> ReminderDecision:
    """Whether the task's next reminder step is due at `now`, and the command taking it."""
    snap = task_snapshot(task)
    step = next_step(snap, task.reminders.progress, now) if snap is not None else None
    if snap is None or step is None:
        return ReminderDecision(ReminderReason.FINISHED)
    if not step.is_due:
        return ReminderDecision(ReminderReason.NOT_DUE, step)
    missed = "accepted" if task.accepted_at is None else "done"
    minutes = int((now - snap.started_at).total_seconds() // 60)
    late = f"not {missed} {minutes} min after its deadline"
    if step.unit == task.unit:
        reason = f"{late}; reminder {step.index + 1} to {task.unit}"
        kind, why = TaskCommandKind.REMIND, ReminderReason.REMINDED
    else:
        reason = f"{late}; escalated to {step.unit} (above {task.unit})"
        kind, why = TaskCommandKind.ESCALATE, ReminderReason.ESCALATED
    return ReminderDecision(why, step, TaskCommand(kind, SYSTEM_ACTOR, reason, step=step.index))


def task_json(task: Task) -> dict[str, Any]:
    """A task as notices and the API show it."""
    return {
        "id": task.id,
        "incident_id": task.incident_id,
        "title": task.title,
        "unit": task.unit,
        "region": task.region,
        "domain": task.domain,
        "state": task.state.value,
        "stage": task.stage,
        "assignment": task.assignment,
        "checklist": list(task.checklist),
        "depends_on": list(task.depends_on),
        "accept_due_at": _iso(task.accept_due_at),
        "complete_due_at": _iso(task.complete_due_at),
        "accepted_at": _iso(task.accepted_at),
        "completed_at": _iso(task.completed_at),
        "outcome": task.outcome,
        "blocked_reason": task.blocked_reason,
    }


def notice(
    task: Task, incident: Incident, *, what: TaskNotice, to: str, reason: str, step: int = 0
) -> Message:
    """The message telling a unit about a task (assigned to it, a reminder, an escalation)."""
    moment = task.assigned_at if what is TaskNotice.ASSIGNED else task.deadline
    key = idempotency_key("task", task.id, what.value, to, _iso(moment) or "", str(step))
    tags = {
        TaskNotice.ASSIGNED: "TASK",
        TaskNotice.REMINDER: "TASK OVERDUE",
        TaskNotice.ESCALATION: f"TASK ESCALATION {task.unit}",
    }
    return Message(
        key=key,
        kind=NotificationKind.TASK,
        reason=reason,
        receiver=to,
        labels={"region": incident.region, "domain": incident.domain},
        subject=f"[{tags[what]}] {task.title} — {incident.title}",
        extra={
            "task": task_json(task),
            "notice": what.value,
            "incident": {"id": incident.id, "title": incident.title, "state": incident.state},
        },
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
