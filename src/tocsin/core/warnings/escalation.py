"""Stage 5, escalate: if nobody acknowledges, tell the next unit up the chain.

A policy has a selector and steps; step k fires `after` its delay from the moment the warning
started escalating (it was raised, or upgraded: an upgrade needs a fresh acknowledgement) and
notifies `to`: `responsible` (the unit responsible for the warning's region and domain),
`parent` (the unit one step further up the responsible chain than the previous step), or a unit
code. The policy and the resolved chain of units are frozen onto the warning when escalation
starts (a snapshot), so a configuration change never alters an escalation already running.
Acknowledging or lifting the warning stops it. The deciders are pure and return a reason:
`on_transition` starts or stops an escalation when its warning changes, `on_due` decides what
happens when its next step falls due (take it, postpone it while the warning is suppressed,
close it, or finish); a scheduler polls for due work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from tocsin.core.audit import AuditRecord
from tocsin.core.warnings.dedup import escalation_key
from tocsin.core.warnings.model import EventKind, Warning
from tocsin.core.warnings.outbox import Message, NotificationKind
from tocsin.core.warnings.payloads import summary
from tocsin.core.warnings.selectors import Selector, Target

TO_RESPONSIBLE: Final = "responsible"
TO_PARENT: Final = "parent"
SUPPRESSED_RECHECK: Final = timedelta(minutes=1)


class EscalationReason(StrEnum):
    """Why an escalation changed (stored as `stop_reason` when it stops)."""

    STARTED = "started"  # raised, or upgraded (needs a fresh acknowledgement), with a policy
    ACKNOWLEDGED = "acknowledged"  # stopped: somebody acknowledged the warning
    LIFTED = "lifted"  # stopped: the warning was lifted
    CLOSED = "closed"  # stopped: the warning was gone or not active when a step fell due
    POSTPONED = "postponed"  # the warning is silenced or inhibited: look again shortly
    STEPPED = "stepped"  # a step was taken: its unit is notified
    FINISHED = "finished"  # no steps left (nobody further up the chain)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Notify `to` when the warning is still unacknowledged `after` escalation started."""

    after: timedelta
    to: str = TO_PARENT


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Named steps for the warnings a selector matches."""

    name: str
    steps: tuple[EscalationStep, ...]
    selector: Selector = field(default_factory=Selector)


@dataclass(frozen=True, slots=True)
class EscalationSnapshot:
    """A policy frozen onto one warning: the steps with their receivers already resolved."""

    policy: str
    started_at: datetime
    steps: tuple[tuple[int, str], ...]  # (seconds after start, unit code)

    def as_json(self) -> dict[str, Any]:
        """A JSON-able form for storage."""
        return {
            "policy": self.policy,
            "started_at": self.started_at.isoformat(),
            "steps": [list(s) for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EscalationSnapshot:
        """Rebuild from `as_json`."""
        return cls(
            data["policy"],
            datetime.fromisoformat(data["started_at"]),
            tuple((int(a), str(u)) for a, u in data["steps"]),
        )


@dataclass(frozen=True, slots=True)
class DueStep:
    """The next step of an escalation and when it is due."""

    index: int
    unit: str
    due_at: datetime
    is_due: bool


def policy_for(target: Target, policies: Sequence[EscalationPolicy]) -> EscalationPolicy | None:
    """The first policy whose selector matches the target."""
    return next((p for p in policies if p.selector.matches(target)), None)


def snapshot(
    policy: EscalationPolicy, *, chain: Sequence[str], started_at: datetime
) -> EscalationSnapshot:
    """Freeze a policy for a warning whose responsible chain (units, own region first) is given.

    The responsible unit (chain[0]) already heard through its route; `parent` moves one unit up
    the chain from the previous step's position (the first `parent` is chain[1]), `responsible`
    reminds chain[0] again. Steps beyond the top of the chain are dropped (nobody is left)."""
    steps: list[tuple[int, str]] = []
    position = 0
    for step in policy.steps:
        if step.to == TO_RESPONSIBLE:
            position = 0
        elif step.to == TO_PARENT:
            position += 1
        else:
            steps.append((int(step.after.total_seconds()), step.to))
            continue
        if 0 <= position < len(chain):
            steps.append((int(step.after.total_seconds()), chain[position]))
    return EscalationSnapshot(policy.name, started_at, tuple(steps))


def next_step(snap: EscalationSnapshot, progress: int, now: datetime) -> DueStep | None:
    """The step after the `progress` steps already taken, and its due time (None: finished).

    A step whose `due_at` is at or before `now` is flagged `is_due`."""
    if progress >= len(snap.steps):
        return None
    after_s, unit = snap.steps[progress]
    due_at = snap.started_at + timedelta(seconds=after_s)
    return DueStep(progress, unit, due_at, due_at <= now)


@dataclass(frozen=True, slots=True)
class Escalation:
    """A running (or stopped) escalation of one warning."""

    warning_id: str
    snapshot: EscalationSnapshot
    progress: int = 0
    next_due_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: EscalationReason | None = None

    def as_json(self) -> dict[str, Any]:
        """The snapshot with the progress and whether (why) it stopped."""
        return {
            **self.snapshot.as_json(),
            "progress": self.progress,
            "next_due_at": self.next_due_at.isoformat() if self.next_due_at else None,
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "stop_reason": self.stop_reason,
        }


@dataclass(frozen=True, slots=True)
class EscalationDecision:
    """What happens to an escalation, why, and the step to notify (STEPPED only)."""

    reason: EscalationReason
    escalation: Escalation
    step: DueStep | None = None


# the warning transitions that stop a running escalation, and the reason they give
STOPPED_BY: Final[dict[EventKind, EscalationReason]] = {
    EventKind.ACKNOWLEDGED: EscalationReason.ACKNOWLEDGED,
    EventKind.LIFTED: EscalationReason.LIFTED,
}
STARTED_BY: Final = frozenset({EventKind.RAISED, EventKind.UPGRADED})


def start(
    warning_id: str, policy: EscalationPolicy, *, chain: Sequence[str], now: datetime
) -> EscalationDecision:
    """A new escalation run of a warning under a policy, started at `now`."""
    snap = snapshot(policy, chain=chain, started_at=now)
    step = next_step(snap, 0, now)
    fresh = Escalation(warning_id, snap, 0, step.due_at if step else None)
    return EscalationDecision(EscalationReason.STARTED, fresh)


def stop(
    current: Escalation | None, kind: EventKind, *, now: datetime
) -> EscalationDecision | None:
    """Stop a running escalation when its warning is acknowledged or lifted (else None)."""
    reason = STOPPED_BY.get(kind)
    if reason is None or current is None or current.stopped_at is not None:
        return None
    done = replace(current, next_due_at=None, stopped_at=now, stop_reason=reason)
    return EscalationDecision(reason, done)


def on_due(
    escalation: Escalation, *, active: bool, suppressed: bool, now: datetime
) -> EscalationDecision:
    """What a due escalation does at `now`: close (its warning is no longer active), postpone
    (suppressed), finish (no steps left) or take its next step."""
    if not active:
        closed = replace(
            escalation, next_due_at=None, stopped_at=now, stop_reason=EscalationReason.CLOSED
        )
        return EscalationDecision(EscalationReason.CLOSED, closed)
    if suppressed:
        later = replace(escalation, next_due_at=now + SUPPRESSED_RECHECK)
        return EscalationDecision(EscalationReason.POSTPONED, later)
    step = next_step(escalation.snapshot, escalation.progress, now)
    if step is None:
        done = replace(escalation, next_due_at=None, stop_reason=EscalationReason.FINISHED)
        return EscalationDecision(EscalationReason.FINISHED, done)
    following = next_step(escalation.snapshot, escalation.progress + 1, now)
    taken = replace(
        escalation,
        progress=escalation.progress + 1,
        next_due_at=following.due_at if following else None,
    )
    return EscalationDecision(EscalationReason.STEPPED, taken, step)


def step_message(
    warning: Warning, escalation: Escalation, *, step: DueStep, now: datetime
) -> Message:
    """The notification of an escalation step to the step's unit."""
    started = escalation.snapshot.started_at
    minutes = int((now - started).total_seconds() // 60)
    policy = escalation.snapshot.policy
    return Message(
        key=escalation_key(warning.id, started.isoformat(), step.index),
        kind=NotificationKind.ESCALATION,
        reason=(
            f"not acknowledged {minutes} min after it started; "
            f"escalation step {step.index + 1} ({policy})"
        ),
        receiver=step.unit,
        labels={"region": warning.region, "domain": warning.domain},
        firing=(warning,),
        subject=f"[ESCALATION {step.index + 1}] " + summary([warning], []),
        extra={"escalation": {"policy": policy, "step": step.index + 1}},
    )


def step_record(
    warning: Warning,
    escalation: Escalation,
    *,
    step: DueStep,
    responsible: str | None,
    now: datetime,
) -> AuditRecord:
    """The audit record of a step taken (subject `escalation`, the warning's id): whom it told
    and which unit, responsible for the warning, suffered it (the scorecard counts these)."""
    return AuditRecord(
        now,
        "system:escalation",
        "escalation.stepped",
        "escalation",
        warning.id,
        f"not acknowledged; step {step.index + 1} of {escalation.snapshot.policy} to {step.unit}",
        {
            "step": step.index + 1,
            "to": step.unit,
            "responsible": responsible,
            "region": warning.region,
            "domain": warning.domain,
            "level": warning.level.value,
            "started_at": escalation.snapshot.started_at.isoformat(),
        },
    )
