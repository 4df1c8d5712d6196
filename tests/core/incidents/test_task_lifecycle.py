"""The task lifecycle and its reminders: every (state, command) pair, the deadlines, the reminder
steps (remind the unit, then escalate), and a Hypothesis machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.factories import T0, make_incident, make_task
from tocsin.core.errors import IllegalTransition
from tocsin.core.incidents import tasks as lifecycle
from tocsin.core.incidents.model import IncidentId
from tocsin.core.incidents.reminders import (
    ReminderReason,
    TaskNotice,
    notice,
    on_due,
    steps_for,
)
from tocsin.core.incidents.tasks import (
    Reminders,
    Task,
    TaskCommand,
    TaskEventKind,
    TaskState,
    is_overdue,
)
from tocsin.core.warnings.escalation import EscalationPolicy, EscalationStep
from tocsin.core.warnings.outbox import NotificationKind

K = lifecycle.TaskCommandKind
P, W, S, A, B, D, X = (
    TaskState.PROPOSED,
    TaskState.WAITING,
    TaskState.ASSIGNED,
    TaskState.ACCEPTED,
    TaskState.BLOCKED,
    TaskState.DONE,
    TaskState.CANCELLED,
)
MIN = timedelta(minutes=1)
LEGAL = {
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
    **{(s, K.REMIND): s for s in (S, A, B)},
    **{(s, K.ESCALATE): s for s in (S, A, B)},
    **{(s, K.MOVE): s for s in (P, W, S, A, B)},
    **{(s, K.CANCEL): X for s in (P, W, S, A, B)},
}


def command(kind: K) -> TaskCommand:
    """A command that passes its guard on a fresh `make_task()`."""
    return TaskCommand(
        kind,
        "duty",
        "because",
        unit="P1-CP",
        region="P1",
        outcome="levees hold",
        incident=IncidentId("i2"),
        step=0,
    )


@pytest.mark.parametrize("state", list(TaskState))
@pytest.mark.parametrize("kind", [k for k in K if k not in lifecycle.CREATE])
def test_every_state_command_pair(state: TaskState, kind: K) -> None:
    before = make_task(state=state)
    now = T0 + MIN
    if (state, kind) not in LEGAL:
        with pytest.raises(IllegalTransition, match="cannot"):
            lifecycle.apply(before, command(kind), now)
        return
    after, event = lifecycle.apply(before, command(kind), now)
    assert after.state is LEGAL[(state, kind)]
    assert (event.actor, event.reason, event.at, event.from_state) == (
        "duty",
        "because",
        now,
        state,
    )
    assert event.details["unit"] == after.unit
    assert event.details["incident"] == after.incident_id


@pytest.mark.parametrize(("kind", "state"), [(K.PROPOSE, P), (K.QUEUE, W), (K.ASSIGN, S)])
def test_creation_sets_deadlines_only_when_the_task_reaches_its_unit(
    kind: K, state: TaskState
) -> None:
    template = make_task(
        state=W, assigned_at=None, accept_due_at=None, complete_due_at=None, reminders=Reminders()
    )
    steps = ((0, "D11-FLOOD"), (900, "P1-CP"))
    task, event = lifecycle.create(template, TaskCommand(kind, "system", "plan", steps=steps), T0)
    assert task.state is state
    assert event.from_state is None
    assert task.reminders.steps == steps
    if state is S:
        assert (task.accept_due_at, task.complete_due_at) == (T0 + 10 * MIN, T0 + 60 * MIN)
        assert task.reminders.next_at == T0 + 10 * MIN
    else:
        assert task.accept_due_at is None
        assert task.reminders.next_at is None
    with pytest.raises(IllegalTransition):
        lifecycle.create(template, TaskCommand(K.ACCEPT, "u", "x"), T0)


@pytest.mark.parametrize(
    ("kind", "changes", "reason"),
    [
        (K.COMPLETE, {"outcome": " "}, "an outcome"),
        (K.BLOCK, {"reason": ""}, "a reason"),
        (K.NOTE, {"reason": "  "}, "a note"),
        (K.REASSIGN, {"unit": "D11-FLOOD"}, "another unit"),
        (K.MOVE, {"incident": IncidentId("i1")}, "another incident"),
        (K.REMIND, {"step": 1}, "not the next reminder step"),
    ],
)
def test_guards_refuse_with_a_reason(kind: K, changes: dict[str, object], reason: str) -> None:
    state = A if kind in (K.COMPLETE, K.NOTE, K.BLOCK) else S
    with pytest.raises(IllegalTransition, match=reason):
        lifecycle.apply(make_task(state=state), replace(command(kind), **changes), T0)  # type: ignore[arg-type]


def test_the_deadline_that_runs_follows_the_state_and_restarts_the_reminders() -> None:
    task = make_task()
    assert task.deadline == T0 + 10 * MIN
    assert not is_overdue(task, T0 + 10 * MIN)
    assert is_overdue(task, T0 + 11 * MIN)
    reminded, _ = lifecycle.apply(task, replace(command(K.REMIND), step=0), T0 + 10 * MIN)
    assert reminded.reminders.progress == 1
    assert reminded.reminders.next_at == T0 + 25 * MIN  # the escalation step, 15 min later
    accepted, _ = lifecycle.apply(reminded, command(K.ACCEPT), T0 + 12 * MIN)
    assert accepted.deadline == T0 + 60 * MIN  # now the completion deadline runs
    assert accepted.reminders.progress == 0
    assert accepted.reminders.next_at == T0 + 60 * MIN
    blocked, _ = lifecycle.apply(accepted, command(K.BLOCK), T0 + 13 * MIN)
    assert blocked.deadline == T0 + 60 * MIN
    assert blocked.blocked_reason == "because"
    done, event = lifecycle.apply(
        lifecycle.apply(blocked, command(K.RESUME), T0 + 14 * MIN)[0],
        command(K.COMPLETE),
        T0 + 70 * MIN,
    )
    assert done.deadline is None
    assert done.reminders.next_at is None
    assert event.kind is TaskEventKind.COMPLETED
    assert event.details["outcome"] == "levees hold"


def test_a_reassigned_task_gets_fresh_deadlines_and_says_whether_it_was_overdue() -> None:
    task = make_task()
    moved, event = lifecycle.apply(
        task, replace(command(K.REASSIGN), steps=((0, "P1-CP"), (600, "NAT"))), T0 + 30 * MIN
    )
    assert (moved.unit, moved.region, moved.state) == ("P1-CP", "P1", S)
    assert moved.accept_due_at == T0 + 40 * MIN
    assert moved.reminders == Reminders(((0, "P1-CP"), (600, "NAT")), 0, T0 + 40 * MIN)
    assert event.details["from_unit"] == "D11-FLOOD"
    assert event.details["overdue"] is True


def test_reminder_steps_remind_the_unit_then_escalate_above_it() -> None:
    policy = EscalationPolicy(
        "p", (EscalationStep(timedelta(0), "responsible"), EscalationStep(15 * MIN, "parent"))
    )
    steps = steps_for(policy, ["D11-FLOOD", "P1-CP", "NAT"])
    assert steps == ((0, "D11-FLOOD"), (900, "P1-CP"))
    task = make_task(reminders=Reminders(steps, 0, T0 + 10 * MIN))
    assert on_due(task, T0 + 9 * MIN).reason is ReminderReason.NOT_DUE
    first = on_due(task, T0 + 10 * MIN)
    assert first.reason is ReminderReason.REMINDED
    assert first.command is not None
    assert first.command.kind is K.REMIND
    assert first.command.step == 0
    task, _ = lifecycle.apply(task, first.command, T0 + 10 * MIN)
    second = on_due(task, T0 + 26 * MIN)
    assert second.reason is ReminderReason.ESCALATED
    assert second.step is not None
    assert second.step.unit == "P1-CP"
    assert second.command is not None
    assert "escalated to P1-CP" in second.command.reason
    task, event = lifecycle.apply(task, second.command, T0 + 26 * MIN)
    assert event.details["to"] == "P1-CP"
    assert event.details["step"] == 2
    assert on_due(task, T0 + 90 * MIN).reason is ReminderReason.FINISHED


def test_notices_have_keys_derived_from_their_content() -> None:
    task, incident = make_task(), make_incident()
    a = notice(task, incident, what=TaskNotice.ASSIGNED, to="D11-FLOOD", reason="plan")
    again = notice(task, incident, what=TaskNotice.ASSIGNED, to="D11-FLOOD", reason="other")
    assert a.key == again.key
    assert a.kind is NotificationKind.TASK
    reminder = notice(task, incident, what=TaskNotice.REMINDER, to="D11-FLOOD", reason="late")
    later = replace(task, accept_due_at=T0 + 20 * MIN)
    assert len({a.key, reminder.key}) == 2
    assert notice(later, incident, what=TaskNotice.REMINDER, to="D11-FLOOD", reason="").key != (
        reminder.key
    )
    assert a.extra["task"]["title"] == "Inspect the levees"


class TaskMachine(RuleBasedStateMachine):
    """Random command sequences keep a task consistent with its deadlines and reminders."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.task: Task | None = None

    @precondition(lambda self: self.task is None)
    @rule(kind=st.sampled_from([K.PROPOSE, K.QUEUE, K.ASSIGN]))
    def create(self, kind: K) -> None:
        """Create it."""
        template = make_task(reminders=Reminders(((0, "D11-FLOOD"), (900, "P1-CP"))))
        self.task, _ = lifecycle.create(template, TaskCommand(kind, "s", "plan"), self.now)

    @precondition(lambda self: self.task is not None)
    @rule(
        kind=st.sampled_from([k for k in K if k not in lifecycle.CREATE]),
        minutes=st.integers(0, 40),
    )
    def act(self, kind: K, minutes: int) -> None:
        """Apply any command; an illegal one must raise and change nothing."""
        assert self.task is not None
        before = self.task
        self.now += timedelta(minutes=minutes)
        cmd = replace(command(kind), step=before.reminders.progress)
        if kind is K.REASSIGN:
            cmd = replace(cmd, unit="NAT" if before.unit == "P1-CP" else "P1-CP")
        try:
            self.task, _ = lifecycle.apply(before, cmd, self.now)
        except IllegalTransition:
            assert self.task == before

    @invariant()
    def consistent(self) -> None:
        """The next reminder is the running deadline plus the next step, or none."""
        t = self.task
        if t is None:
            return
        r = t.reminders
        if t.deadline is None or r.progress >= len(r.steps):
            assert r.next_at is None
        else:
            assert r.next_at == t.deadline + timedelta(seconds=r.steps[r.progress][0])
        assert (t.state is D) == (t.completed_at is not None and t.outcome is not None)
        if t.state in (A, D):  # blocked may come before acceptance; resuming accepts it
            assert t.accepted_at is not None


TestTaskMachine = TaskMachine.TestCase
