"""The group flush decider and escalation snapshots, driven by explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.levels import Level
from tocsin.core.warnings.escalation import (
    EscalationPolicy,
    EscalationSnapshot,
    EscalationStep,
    next_step,
    policy_for,
    snapshot,
)
from tocsin.core.warnings.grouping import (
    GroupState,
    Member,
    NotifyReason,
    evaluate_group,
    schedule_on_change,
)
from tocsin.core.warnings.routing import Timing
from tocsin.core.warnings.selectors import Selector, Target

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMING = Timing(timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=4))


def at(seconds: float) -> datetime:
    """T0 plus seconds."""
    return T0 + timedelta(seconds=seconds)


def test_new_group_waits_group_wait_then_interval() -> None:
    state = GroupState(created_at=at(0))
    assert schedule_on_change(state, at(0), TIMING) == at(30)
    state = GroupState(created_at=at(0), last_flush_at=at(30), next_flush_at=at(330))
    # a change at t=40 is evaluated at the next group interval, not earlier
    assert schedule_on_change(state, at(40), TIMING) == at(330)
    idle = GroupState(created_at=at(0), last_flush_at=at(30))
    assert schedule_on_change(idle, at(1000), TIMING) == at(1000)


def test_first_flush_then_quiet_then_resolved() -> None:
    members = [Member("a", Level.YELLOW, True), Member("b", Level.ORANGE, True)]
    first = evaluate_group(GroupState(created_at=at(0)), members, at(30), timing=TIMING)
    assert first.reason is NotifyReason.NEW
    assert dict(first.firing) == {"a": "yellow", "b": "orange"}
    # nothing planned before the repeat: a change wakes the group (on_member_change)
    assert first.state.next_flush_at == at(30) + TIMING.repeat_interval
    assert not first.finished
    quiet = evaluate_group(first.state, members, at(330), timing=TIMING)
    assert quiet.reason is None
    assert quiet.state.next_flush_at == at(30) + TIMING.repeat_interval
    upgraded = [Member("a", Level.RED, True), members[1]]
    changed = evaluate_group(quiet.state, upgraded, at(630), timing=TIMING)
    assert changed.reason is NotifyReason.CHANGED
    lifted = [Member("a", Level.RED, False), members[1]]
    resolved = evaluate_group(changed.state, lifted, at(930), timing=TIMING)
    assert resolved.reason is NotifyReason.RESOLVED
    assert resolved.resolved == ("a",)
    assert resolved.drop == ("a",)
    done = evaluate_group(
        resolved.state, [Member("b", Level.ORANGE, False)], at(1230), timing=TIMING
    )
    assert done.reason is NotifyReason.RESOLVED
    assert done.state.next_flush_at is None
    assert done.finished


def test_repeat_after_repeat_interval_only() -> None:
    members = [Member("a", Level.YELLOW, True)]
    state = evaluate_group(GroupState(created_at=at(0)), members, at(30), timing=TIMING).state
    t = 30
    reasons = []
    while t < 4 * 3600 + 400:
        t += 300
        decision = evaluate_group(state, members, at(t), timing=TIMING)
        state = decision.state
        reasons.append((t, decision.reason))
    sent = [t for t, r in reasons if r is NotifyReason.REPEAT]
    assert sent == [min(t for t, _ in reasons if t - 30 >= 4 * 3600)]


def test_silenced_member_is_held_back_and_notified_when_silence_ends() -> None:
    silenced = [Member("a", Level.YELLOW, True, ("s1",))]
    first = evaluate_group(GroupState(created_at=at(0)), silenced, at(30), timing=TIMING)
    assert first.reason is None
    # nothing to repeat: it waits, unplanned, until the silence's end wakes it
    assert first.state.next_flush_at is None
    assert not first.finished
    woken = schedule_on_change(first.state, at(100), TIMING)
    assert woken == at(330)  # a group_interval after the evaluation
    freed = evaluate_group(first.state, [Member("a", Level.YELLOW, True)], woken, timing=TIMING)
    assert freed.reason is NotifyReason.NEW


def test_a_route_with_mute_windows_is_looked_at_every_group_interval() -> None:
    members = [Member("a", Level.YELLOW, True)]
    first = evaluate_group(
        GroupState(created_at=at(0)), members, at(30), timing=TIMING, polled=True
    )
    assert first.reason is NotifyReason.NEW
    assert first.state.next_flush_at == at(330)
    suppressed = [Member("a", Level.YELLOW, True, ("s1",))]
    held = evaluate_group(first.state, suppressed, at(330), timing=TIMING, polled=True)
    assert held.state.next_flush_at == at(630)


def test_muted_group_sends_nothing_and_keeps_pending_changes() -> None:
    members = [Member("a", Level.YELLOW, True)]
    muted = evaluate_group(
        GroupState(created_at=at(0)), members, at(30), timing=TIMING, muted_by=("night",)
    )
    assert muted.reason is None
    assert muted.muted_by == ("night",)
    later = evaluate_group(muted.state, members, at(330), timing=TIMING)
    assert later.reason is NotifyReason.NEW


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(list(Level)), max_size=6),
    st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(list(Level)), max_size=6),
)
def test_a_second_evaluation_without_change_is_silent(
    before: dict[str, Level], now: dict[str, Level]
) -> None:
    state = GroupState(created_at=at(0), notified={k: v.value for k, v in before.items()})
    members = [Member(k, v, True) for k, v in now.items()]
    first = evaluate_group(state, members, at(30), timing=TIMING)
    changed = set(now) - set(before) or any(before[k] != now[k] for k in now if k in before)
    resolved = set(before) - set(now)
    assert (first.reason is not None) == bool(changed or resolved)
    again = evaluate_group(first.state, members, at(60), timing=TIMING)
    assert again.reason is None


# -- escalation -------------------------------------------------------------------------------
POLICY = EscalationPolicy(
    "default",
    (
        EscalationStep(timedelta(minutes=15), "parent"),
        EscalationStep(timedelta(minutes=30), "parent"),
        EscalationStep(timedelta(minutes=45), "parent"),
    ),
)


def test_snapshot_walks_up_the_chain_and_stops_at_the_top() -> None:
    snap = snapshot(POLICY, chain=["D11-FLOOD", "P1-CP", "NAT"], started_at=T0)
    assert snap.steps == ((900, "P1-CP"), (1800, "NAT"))
    assert EscalationSnapshot.from_json(snap.as_json()) == snap
    first = next_step(snap, 0, at(899))
    assert first is not None
    assert (first.unit, first.due_at, first.is_due) == ("P1-CP", at(900), False)
    second = next_step(snap, 1, at(1800))
    assert second is not None
    assert second.is_due
    assert next_step(snap, 2, at(10_000)) is None


def test_policy_selection_and_explicit_units() -> None:
    red_only = EscalationPolicy(
        "red",
        (EscalationStep(timedelta(minutes=5), "responsible"), EscalationStep(timedelta(0), "OPS")),
        Selector(levels=frozenset({Level.RED})),
    )
    target = Target("w", "f", Level.RED, {}, ("D11", "P1"), ("natural.flood",))
    assert policy_for(target, [red_only, POLICY]) is red_only
    snap = snapshot(red_only, chain=["D11-FLOOD"], started_at=T0)
    assert snap.steps == ((300, "D11-FLOOD"), (0, "OPS"))
