"""Tasks: what a responsible unit must do for an incident, by when; one transition table and one
pure function that applies a command.

    proposed ─confirm─► waiting ─release─► assigned ─accept─► accepted ─complete─► done
       (stand-down)       (dependencies      │   ▲ reassign      │  ▲
                           not done yet)     └─block─► blocked ──┴──┘ resume
    every state but done: cancel ─► cancelled

A task has two deadlines, set when it reaches its unit: acknowledgement (accept by) and
completion (done by). The deadline that matters now (`deadline`) is the first while it waits to
be accepted and the second after. When it passes, the task's reminder steps fall due one by one
(remind its unit, then escalate to the parent region's unit: see reminders.py); each step taken
is a transition (REMIND or ESCALATE) that keeps the state. A new deadline starts the steps again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NewType

from tocsin.core.errors import IllegalTransition
from tocsin.core.incidents.model import IncidentId
from tocsin.core.transitions import changed, refusal

TaskId = NewType("TaskId", str)
Steps = tuple[tuple[int, str], ...]  # (seconds after the deadline, unit code)


class TaskState(StrEnum):
    """Stored state of a task; overdue is computed from its deadline, never stored."""

    PROPOSED = "proposed"
    WAITING = "waiting"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskCommandKind(StrEnum):
    """What can be done to a task."""

    PROPOSE = "propose"  # create, proposed (stand-down: a person confirms)
    QUEUE = "queue"  # create, waiting for the tasks it depends on
    ASSIGN = "assign"  # create, assigned to its unit
    CONFIRM = "confirm"
    RELEASE = "release"
    ACCEPT = "accept"
    NOTE = "note"
    COMPLETE = "complete"
    BLOCK = "block"
    RESUME = "resume"
    REASSIGN = "reassign"
    REMIND = "remind"
    ESCALATE = "escalate"
    MOVE = "move"  # to another incident (merge, split)
    CANCEL = "cancel"


class TaskEventKind(StrEnum):
    """What happened to a task (past tense)."""

    PROPOSED = "task.proposed"
    QUEUED = "task.queued"
    ASSIGNED = "task.assigned"
    CONFIRMED = "task.confirmed"
    RELEASED = "task.released"
    ACCEPTED = "task.accepted"
    NOTED = "task.noted"
    COMPLETED = "task.completed"
    BLOCKED = "task.blocked"
    RESUMED = "task.resumed"
    REASSIGNED = "task.reassigned"
    REMINDED = "task.reminded"
    ESCALATED = "task.escalated"
    MOVED = "task.moved"
    CANCELLED = "task.cancelled"


P, W, S, A, B, D, X = (
    TaskState.PROPOSED,
    TaskState.WAITING,
    TaskState.ASSIGNED,
    TaskState.ACCEPTED,
    TaskState.BLOCKED,
    TaskState.DONE,
    TaskState.CANCELLED,
)
K = TaskCommandKind
CREATE: Final[dict[K, TaskState]] = {K.PROPOSE: P, K.QUEUE: W, K.ASSIGN: S}
UNFINISHED: Final = frozenset({P, W, S, A, B})
OVERDUE_STEPS: Final = (S, A, B)  # the states whose deadline runs (and reminders fall due)

# (state, command) -> next state
TRANSITIONS: Final[dict[tuple[TaskState, K], TaskState]] = {
    (P, K.CONFIRM): W,
    (W, K.RELEASE): S,
    (S, K.ACCEPT): A,
    (A, K.COMPLETE): D,
    (B, K.RESUME): A,
    (S, K.BLOCK): B,
    (A, K.BLOCK): B,
    (W, K.REASSIGN): W,
    **{(s, K.REASSIGN): S for s in (S, A, B)},
    **{(s, K.NOTE): s for s in (S, A, B)},
    **{(s, K.REMIND): s for s in OVERDUE_STEPS},
    **{(s, K.ESCALATE): s for s in OVERDUE_STEPS},
    **{(s, K.MOVE): s for s in UNFINISHED},
    **{(s, K.CANCEL): X for s in UNFINISHED},
}
EVENT_OF: Final[dict[K, TaskEventKind]] = {
    K.PROPOSE: TaskEventKind.PROPOSED,
    K.QUEUE: TaskEventKind.QUEUED,
    K.ASSIGN: TaskEventKind.ASSIGNED,
    K.CONFIRM: TaskEventKind.CONFIRMED,
    K.RELEASE: TaskEventKind.RELEASED,
    K.ACCEPT: TaskEventKind.ACCEPTED,
    K.NOTE: TaskEventKind.NOTED,
    K.COMPLETE: TaskEventKind.COMPLETED,
    K.BLOCK: TaskEventKind.BLOCKED,
    K.RESUME: TaskEventKind.RESUMED,
    K.REASSIGN: TaskEventKind.REASSIGNED,
    K.REMIND: TaskEventKind.REMINDED,
    K.ESCALATE: TaskEventKind.ESCALATED,
    K.MOVE: TaskEventKind.MOVED,
    K.CANCEL: TaskEventKind.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Reminders:
    """The overdue steps frozen onto a task (its unit first, then up the chain), how many were
    taken since the current deadline, and when the next one is due."""

    steps: Steps = ()
    progress: int = 0
    next_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """A task for one unit within an incident; `region` and `domain` place it (its unit's
    region, the domain it acts in) for the access policy."""

    id: TaskId
    incident_id: IncidentId
    title: str
    unit: str
    region: str
    domain: str
    state: TaskState
    created_at: datetime
    updated_at: datetime
    stage: str = "manual"  # the plan level it came from, "stand_down", or "manual"
    template: str = ""
    assignment: str = ""  # why this unit (e.g. "the district's flood unit")
    accept_within: timedelta | None = None
    complete_within: timedelta | None = None
    checklist: tuple[str, ...] = ()
    depends_on: tuple[TaskId, ...] = ()
    assigned_at: datetime | None = None
    accept_due_at: datetime | None = None
    complete_due_at: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    outcome: str | None = None
    blocked_reason: str | None = None
    reminders: Reminders = Reminders()

    @property
    def is_open(self) -> bool:
        """True until the task is done or cancelled."""
        return self.state in UNFINISHED

    @property
    def deadline(self) -> datetime | None:
        """The deadline that runs now: accept by (assigned), done by (accepted, blocked)."""
        if self.state is S:
            return self.accept_due_at
        if self.state in (A, B):
            return self.complete_due_at
        return None


@dataclass(frozen=True, slots=True)
class TaskCommand:
    """A request to change a task, with who asks and why. `unit`, `region` and `steps` go with
    ASSIGN and REASSIGN (the new unit, its region, its overdue steps); `outcome` with COMPLETE;
    `incident` with MOVE; `step` is the index of the reminder step REMIND/ESCALATE takes."""

    kind: TaskCommandKind
    actor: str
    reason: str
    unit: str | None = None
    region: str | None = None
    steps: Steps | None = None
    outcome: str | None = None
    incident: IncidentId | None = None
    step: int | None = None


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One transition of one task; `details` holds what the scorecard and timeline need."""

    kind: TaskEventKind
    task_id: TaskId
    at: datetime
    actor: str
    reason: str
    from_state: TaskState | None
    to_state: TaskState
    details: dict[str, Any]


def is_overdue(task: Task, now: datetime) -> bool:
    """True when the running deadline has passed."""
    deadline = task.deadline
    return deadline is not None and now > deadline


GUARDS: Final[dict[K, Callable[[Task, TaskCommand], str | None]]] = {
    K.COMPLETE: lambda _t, c: None if (c.outcome or "").strip() else "an outcome is needed",
    K.BLOCK: lambda _t, c: None if c.reason.strip() else "a reason is needed",
    K.NOTE: lambda _t, c: None if c.reason.strip() else "a note is needed",
    K.REASSIGN: lambda t, c: (
        "another unit must be named" if not c.unit or c.unit == t.unit else None
    ),
    K.MOVE: lambda t, c: (
        "another incident must be named" if not c.incident or c.incident == t.incident_id else None
    ),
    K.REMIND: lambda t, c: _step_refused(t, c),
    K.ESCALATE: lambda t, c: _step_refused(t, c),
}


def _step_refused(task: Task, command: TaskCommand) -> str | None:
    if command.step != task.reminders.progress or command.step >= len(task.reminders.steps):
        return f"step {command.step} is not the next reminder step"
    return None


def _assigned(t: Task, c: TaskCommand, now: datetime) -> dict[str, Any]:
    return {
        "unit": c.unit or t.unit,
        "region": c.region or t.region,
        "assigned_at": now,
        "accept_due_at": now + t.accept_within if t.accept_within is not None else None,
        "complete_due_at": now + t.complete_within if t.complete_within is not None else None,
        "accepted_at": None,
        "blocked_reason": None,
        "reminders": Reminders(c.steps if c.steps is not None else t.reminders.steps),
    }


def _reassigned(t: Task, c: TaskCommand, now: datetime) -> dict[str, Any]:
    if t.state is W:
        steps = c.steps if c.steps is not None else t.reminders.steps
        return {"unit": c.unit, "region": c.region or t.region, "reminders": Reminders(steps)}
    return _assigned(t, c, now)


def _stepped(t: Task, _c: TaskCommand, _now: datetime) -> dict[str, Any]:
    return {"reminders": replace(t.reminders, progress=t.reminders.progress + 1)}


CHANGES: Final[dict[K, Callable[[Task, TaskCommand, datetime], dict[str, Any]]]] = {
    K.ASSIGN: _assigned,
    K.RELEASE: _assigned,
    K.REASSIGN: _reassigned,
    K.ACCEPT: lambda _t, _c, now: {"accepted_at": now},
    K.COMPLETE: lambda _t, c, now: {"completed_at": now, "outcome": c.outcome},
    K.BLOCK: lambda _t, c, _now: {"blocked_reason": c.reason},
    K.RESUME: lambda t, _c, now: {"blocked_reason": None, "accepted_at": t.accepted_at or now},
    K.REMIND: _stepped,
    K.ESCALATE: _stepped,
    K.MOVE: lambda _t, c, _now: {"incident_id": c.incident},
    K.QUEUE: lambda t, c, _now: {"reminders": Reminders(c.steps or t.reminders.steps)},
    K.PROPOSE: lambda t, c, _now: {"reminders": Reminders(c.steps or t.reminders.steps)},
}


def create(template: Task, command: TaskCommand, now: datetime) -> tuple[Task, TaskEvent]:
    """Create a task from a template with PROPOSE, QUEUE or ASSIGN."""
    state = CREATE.get(command.kind)
    if state is None:
        raise IllegalTransition("a task is created only by PROPOSE, QUEUE or ASSIGN")
    base = replace(template, state=state, created_at=now, updated_at=now)
    new = _schedule(changed(base, command, now=now, state=state, changes=CHANGES))
    return new, _event(command, new, now=now, from_state=None, old=template)


def apply(task: Task, command: TaskCommand, now: datetime) -> tuple[Task, TaskEvent]:
    """Apply a command to a task at `now`; return the new record and its event."""
    target = TRANSITIONS.get((task.state, command.kind))
    if target is None:
        raise IllegalTransition(f"cannot {command.kind.value} a task that is {task.state.value}")
    why = refusal(task, command, guards=GUARDS)
    if why is not None:
        raise IllegalTransition(f"cannot {command.kind.value} the task: {why}")
    new = changed(task, command, now=now, state=target, changes=CHANGES)
    if new.deadline != task.deadline or new.unit != task.unit:
        new = _schedule(replace(new, reminders=Reminders(new.reminders.steps)))
    else:
        new = _schedule(new)
    return new, _event(command, new, now=now, from_state=task.state, old=task)


def _schedule(task: Task) -> Task:
    """The next reminder moment: the running deadline plus the next step's delay."""
    r = task.reminders
    deadline = task.deadline
    if deadline is None or r.progress >= len(r.steps):
        return replace(task, reminders=replace(r, next_at=None))
    return replace(
        task, reminders=replace(r, next_at=deadline + timedelta(seconds=r.steps[r.progress][0]))
    )


def _event(
    command: TaskCommand, new: Task, *, now: datetime, from_state: TaskState | None, old: Task
) -> TaskEvent:
    details: dict[str, Any] = {
        "from_state": from_state.value if from_state else None,
        "to_state": new.state.value,
        "incident": new.incident_id,
        "unit": new.unit,
        "region": new.region,
        "domain": new.domain,
        "stage": new.stage,
        "title": new.title,
        "accept_due_at": _iso(new.accept_due_at),
        "complete_due_at": _iso(new.complete_due_at),
    }
    if command.kind in (K.REMIND, K.ESCALATE) and command.step is not None:
        details.update(step=command.step + 1, to=old.reminders.steps[command.step][1])
        details["deadline"] = _iso(old.deadline)
    if command.kind is K.REASSIGN:
        details["from_unit"] = old.unit
    if command.kind in (K.REASSIGN, K.CANCEL):
        details["overdue"] = is_overdue(old, now)  # taken from its unit after its deadline
    if command.kind is K.MOVE:
        details["from_incident"] = old.incident_id
    if command.outcome:
        details["outcome"] = command.outcome
    return TaskEvent(
        EVENT_OF[command.kind],
        new.id,
        now,
        command.actor,
        command.reason,
        from_state,
        new.state,
        details,
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
