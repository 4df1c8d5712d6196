"""Stage 4, group and flush: aggregation groups and the flush decider (Alertmanager's
group_wait / group_interval / repeat_interval).

A group collects the warnings that share a route, a receiver and the route's `group_by` labels.
Timing:

- a new group waits `group_wait` before its first notification, so that warnings raised together
  arrive together;
- afterwards a change (a warning new to the receiver, a level change, a lift) is notified at most
  every `group_interval`: the group is evaluated `group_interval` after its last evaluation, or
  at once if that has passed;
- when nothing changed, the firing warnings are notified again after `repeat_interval`.

Silenced, inhibited and muted warnings stay members but are left out of notifications; when the
suppression ends they count as new. The decider is pure: it takes the stored group state, the
members as they are now and `now`, and returns what to send (with a reason) and the next state.

A group is evaluated only when it may have something to say, never on a timer that finds nothing
(in a storm there are tens of thousands of groups): when a member joins, changes or leaves
(`on_member_change`), when its repeat falls due, and when a suppression of one of its members
may have begun or ended — a silence created, starting or ending, an inhibiting warning changed
(the dispatcher wakes those groups, `wake`). Between these, a group waits with no evaluation
planned. Only a route with mute windows is evaluated every `group_interval` while it has open
members (`polled`), since a window opens and closes with the clock alone.

What a flush sends is identified by its *content*: the reason, the previous notification's
moment, and each firing or resolved warning with its level and version (the moment of its last
transition). The idempotency key is derived from the group and that content (see dedup.py), so a
group that is emptied, forgotten and created again later never reuses a key for other content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from tocsin.core.levels import Level
from tocsin.core.warnings.dedup import group_flush_key
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Message, NotificationKind
from tocsin.core.warnings.routing import GroupKey, Route, Timing


class NotifyReason(StrEnum):
    """Why a group notification is sent."""

    NEW = "new"  # a warning the receiver has not been told about (or no longer suppressed)
    CHANGED = "changed"  # a notified warning changed level
    RESOLVED = "resolved"  # a notified warning was lifted
    REPEAT = "repeat"  # nothing changed for repeat_interval


@dataclass(frozen=True, slots=True)
class GroupState:
    """What is stored per group between evaluations."""

    created_at: datetime
    next_flush_at: datetime | None = None
    last_flush_at: datetime | None = None
    last_notified_at: datetime | None = None
    notified: Mapping[str, str] = field(default_factory=dict)  # warning id -> level told


@dataclass(frozen=True, slots=True)
class Member:
    """A group member as it is now."""

    warning_id: str
    level: Level
    is_open: bool
    suppressed_by: tuple[str, ...] = ()
    version: str = ""  # the moment of the warning's last transition


def version_of(warning: Warning) -> str:
    """A warning's version: the moment of its last transition."""
    return warning.updated_at.isoformat()


def member_of(warning: Warning, *, suppressed_by: tuple[str, ...] = ()) -> Member:
    """A warning as a group member now."""
    return Member(warning.id, warning.level, warning.is_open, suppressed_by, version_of(warning))


@dataclass(frozen=True, slots=True)
class FlushDecision:
    """The outcome of evaluating a group at `now`."""

    reason: NotifyReason | None
    firing: Mapping[str, str]  # warning id -> level, to be sent
    resolved: tuple[str, ...]  # notified before, lifted now
    state: GroupState
    drop: tuple[str, ...]  # members to forget (lifted)
    muted_by: tuple[str, ...] = ()
    content: str = ""  # what is notified, canonically (empty when nothing is)
    finished: bool = False  # no open member is left: the group can be forgotten

    @property
    def notify(self) -> bool:
        """True when a notification goes out."""
        return self.reason is not None


def schedule_on_change(state: GroupState, now: datetime, timing: Timing) -> datetime:
    """When a group must be evaluated after one of its members changed at `now`."""
    if state.last_flush_at is None:
        due = state.created_at + timing.group_wait
    else:
        due = max(now, state.last_flush_at + timing.group_interval)
    if state.next_flush_at is not None:
        due = min(due, state.next_flush_at)
    return due


def notify_reason(
    state: GroupState,
    firing: Mapping[str, str],
    resolved: Sequence[str],
    now: datetime,
    timing: Timing,
) -> NotifyReason | None:
    """Alertmanager's needsUpdate, with the reason: what makes this evaluation worth sending."""
    if any(w not in state.notified for w in firing):
        return NotifyReason.NEW
    if any(state.notified[w] != lv for w, lv in firing.items()):
        return NotifyReason.CHANGED
    if resolved:
        return NotifyReason.RESOLVED
    last = state.last_notified_at
    if firing and last is not None and now - last >= timing.repeat_interval:
        return NotifyReason.REPEAT
    return None


def flush_content(
    state: GroupState,
    reason: NotifyReason,
    *,
    firing: Mapping[str, str],
    resolved: Sequence[str],
    versions: Mapping[str, str],
) -> str:
    """The canonical text of what a flush notifies (the idempotency key is derived from it)."""
    previous = state.last_notified_at.isoformat() if state.last_notified_at else "-"
    told = [f"F {w} {lv} {versions.get(w, '')}" for w, lv in sorted(firing.items())]
    gone = [f"R {w} {versions.get(w, '')}" for w in sorted(resolved)]
    return "\n".join([reason.value, previous, *told, *gone])


def next_evaluation(
    state: GroupState, now: datetime, *, timing: Timing, firing: bool, polled: bool
) -> datetime | None:
    """When a group that has open members is evaluated again unless something wakes it: every
    group_interval when `polled` (mute windows), else when its repeat falls due (while some
    warning is notified), else not until a change wakes it (None)."""
    if polled:
        return now + timing.group_interval
    if firing and state.last_notified_at is not None:
        return max(state.last_notified_at + timing.repeat_interval, now)
    return None


def evaluate_group(
    state: GroupState,
    members: Sequence[Member],
    now: datetime,
    *,
    timing: Timing,
    muted_by: tuple[str, ...] = (),
    versions: Mapping[str, str] | None = None,
    polled: bool = False,
) -> FlushDecision:
    """Decide what a due group sends now and when it is evaluated next (`next_evaluation`;
    `finished` when no member is open). `polled`: the route has mute windows.

    `versions` gives the version of warnings that are no longer members (a resolved warning
    that left the group); members carry their own."""
    firing = {m.warning_id: m.level.value for m in members if m.is_open and not m.suppressed_by}
    open_ids = {m.warning_id for m in members if m.is_open}
    resolved = tuple(sorted(w for w in state.notified if w not in open_ids))
    # a warning silenced after it was notified is forgotten quietly; it counts as new later
    kept = {w: lv for w, lv in state.notified.items() if w in firing}
    drop = tuple(sorted(m.warning_id for m in members if not m.is_open))
    if muted_by:
        held = replace(state, next_flush_at=now + timing.group_interval, last_flush_at=now)
        return FlushDecision(None, {}, (), held, (), muted_by)
    reason = notify_reason(state, firing, resolved, now, timing)
    notified_at = now if reason is not None else state.last_notified_at
    later = None
    if open_ids:
        told = GroupState(state.created_at, None, now, notified_at)
        later = next_evaluation(told, now, timing=timing, firing=bool(firing), polled=polled)
    new_state = GroupState(
        state.created_at, later, now, notified_at, dict(firing) if reason is not None else kept
    )
    finished = not open_ids
    if reason is None:
        return FlushDecision(None, firing, resolved, new_state, drop, finished=finished)
    known = {**(versions or {}), **{m.warning_id: m.version for m in members}}
    content = flush_content(state, reason, firing=firing, resolved=resolved, versions=known)
    return FlushDecision(
        reason, firing, resolved, new_state, drop, content=content, finished=finished
    )


@dataclass(frozen=True, slots=True)
class AggregationGroup:
    """A stored group: its identity (route, receiver, common labels) and its state."""

    id: str
    route_id: str
    receiver: str
    labels: Mapping[str, str]
    state: GroupState


def on_member_change(group: AggregationGroup, route: Route, *, now: datetime) -> AggregationGroup:
    """A group after a member joined, changed or left at `now`, scheduled for its next
    evaluation (group_wait after it was created, else group_interval after its last flush)."""
    st = group.state
    due = schedule_on_change(st, now, route.timing)
    state = GroupState(st.created_at, due, st.last_flush_at, st.last_notified_at, st.notified)
    return AggregationGroup(group.id, group.route_id, group.receiver, group.labels, state)


def wake(group: AggregationGroup, route: Route, *, at: datetime) -> AggregationGroup:
    """A group after a suppression of one of its members may begin or end at `at` (a silence,
    an inhibiting warning): evaluated then, as after a member change."""
    return on_member_change(group, route, now=at)


def new_group(key: GroupKey, route: Route, *, now: datetime) -> AggregationGroup:
    """The group of a route key, created at `now` with its first member, waiting group_wait."""
    group = AggregationGroup(
        key.id, route.id, key.receiver, key.as_labels(), GroupState(created_at=now)
    )
    return on_member_change(group, route, now=now)


def flush_message(
    group: AggregationGroup, decision: FlushDecision, *, warnings: Mapping[str, Warning]
) -> Message:
    """A group's notification: keyed by the group and the content it notifies."""
    return Message(
        key=group_flush_key(group.id, decision.content),
        kind=NotificationKind.GROUP,
        reason=decision.reason.value if decision.reason else "",
        receiver=group.receiver,
        labels=group.labels,
        firing=tuple(warnings[i] for i in decision.firing),
        resolved=tuple(warnings[i] for i in decision.resolved if i in warnings),
    )
