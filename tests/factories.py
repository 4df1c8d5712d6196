"""Test records (warnings, groups, escalations, silences, notifications), fields overridable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.domains import DomainCode
from tocsin.core.incidents.model import Incident, IncidentId, IncidentState
from tocsin.core.incidents.tasks import Reminders, Task, TaskId, TaskState
from tocsin.core.levels import Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.regions import RegionCode
from tocsin.core.warnings.escalation import Escalation, EscalationSnapshot
from tocsin.core.warnings.grouping import AggregationGroup, GroupState
from tocsin.core.warnings.model import EventKind, Warning, WarningEvent, WarningId, WarningState
from tocsin.core.warnings.outbox import Channel, Notification, NotificationKind, PayloadFormat
from tocsin.core.warnings.selectors import Selector
from tocsin.core.warnings.silences import Silence, SilenceId

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def make_batch(ids: list[int], times: list[int], values: list[float]) -> ObservationBatch:
    """A batch from plain lists."""
    return ObservationBatch(
        np.array(ids, dtype=np.int64),
        np.array(times, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )


def make_warning(ident: str, *, at: datetime = T0, **overrides: object) -> Warning:
    """An active yellow flood warning in D11, raised `at` (T0)."""
    base = Warning(
        id=WarningId(ident),
        fingerprint=f"fp-{ident}",
        source="threshold",
        subject="D11.river_level",
        region=RegionCode("D11"),
        domain=DomainCode("natural.flood"),
        level=Level.YELLOW,
        state=WarningState.ACTIVE,
        first_seen_at=at,
        last_seen_at=at,
        updated_at=at,
        cause={"value": 3.1},
        explanation={"rule": "threshold"},
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def transition(warning: Warning, kind: EventKind = EventKind.RAISED) -> AuditRecord:
    """The audit record of a transition of `warning` to its current level and state."""
    event = WarningEvent(
        kind,
        warning.id,
        warning.updated_at,
        "test",
        kind.value,
        None,
        warning.state,
        None,
        warning.level,
    )
    return from_warning_event(event)


def make_group(ident: str, *, due_in: timedelta | None = None) -> AggregationGroup:
    """A group created at T0, due `due_in` after T0 (None: not scheduled)."""
    state = GroupState(created_at=T0, next_flush_at=T0 + due_in if due_in is not None else None)
    return AggregationGroup(ident, "0", "D11-FLOOD", {"region": "D11"}, state)


def make_escalation(warning_id: str, *, due_in: timedelta) -> Escalation:
    """A running escalation with two steps, the first due `due_in` after T0."""
    snap = EscalationSnapshot("p", T0, ((int(due_in.total_seconds()), "P1-CP"), (3600, "NAT")))
    return Escalation(warning_id, snap, 0, T0 + due_in)


def make_silence(ident: str, *, ends_in: timedelta, created_at: datetime = T0) -> Silence:
    """A silence of D11 from T0."""
    return Silence(
        SilenceId(ident), Selector(region="D11"), T0, T0 + ends_in, "alice", "works", created_at
    )


def make_notification(key: str, **overrides: object) -> Notification:
    """A pending webhook notification about w1, due at T0."""
    base = Notification(
        key=key,
        kind=NotificationKind.GROUP,
        receiver="D11-FLOOD",
        channel=Channel.WEBHOOK,
        address="http://sink/d11",
        format=PayloadFormat.TOCSIN,
        subject="[YELLOW] flood",
        payload={"firing": [{"id": "w1"}]},
        created_at=T0,
        warning_ids=("w1",),
        next_attempt_at=T0,
        reason="new",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def make_incident(ident: str = "i1", *, at: datetime = T0, **overrides: object) -> Incident:
    """An open flood incident in D11, opened `at` (T0)."""
    base = Incident(
        id=IncidentId(ident),
        title="Flood in D11",
        region="D11",
        domain="natural.flood",
        state=IncidentState.OPEN,
        opened_at=at,
        updated_at=at,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def make_task(ident: str = "t1", *, at: datetime = T0, **overrides: object) -> Task:
    """A task of incident i1 assigned to D11-FLOOD at `at`: accept within 10 min, done within
    an hour; reminders at the deadline, then to P1-CP 15 minutes after it."""
    base = Task(
        id=TaskId(ident),
        incident_id=IncidentId("i1"),
        title="Inspect the levees",
        unit="D11-FLOOD",
        region="D11",
        domain="natural.flood",
        state=TaskState.ASSIGNED,
        created_at=at,
        updated_at=at,
        stage="orange",
        template="levees",
        accept_within=timedelta(minutes=10),
        complete_within=timedelta(hours=1),
        assigned_at=at,
        accept_due_at=at + timedelta(minutes=10),
        complete_due_at=at + timedelta(hours=1),
        reminders=Reminders(((0, "D11-FLOOD"), (900, "P1-CP")), 0, at + timedelta(minutes=10)),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]
