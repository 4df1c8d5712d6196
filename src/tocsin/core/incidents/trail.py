"""The incident's timeline is the audit trail: each incident and task event becomes one audit
record (subject `incident` or `task`), and nothing else about what happened is kept.

A task's record carries what the scorecard needs to judge it from the trail alone: its unit,
region, domain and incident, its deadlines after the transition, and whether it was overdue
when it was taken from its unit (reassigned or cancelled).
"""

from __future__ import annotations

from typing import Final

from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.model import IncidentEvent
from tocsin.core.incidents.tasks import TaskEvent

INCIDENT: Final = "incident"
TASK: Final = "task"
ESCALATION: Final = "escalation"  # a warning's escalation step (core/warnings/escalation.py)


def incident_record(event: IncidentEvent) -> AuditRecord:
    """The audit record of an incident transition."""
    return AuditRecord(
        event.at,
        event.actor,
        event.kind.value,
        INCIDENT,
        event.incident_id,
        event.reason,
        dict(event.details),
    )


def task_record(event: TaskEvent) -> AuditRecord:
    """The audit record of a task transition."""
    return AuditRecord(
        event.at, event.actor, event.kind.value, TASK, event.task_id, event.reason, event.details
    )
