"""Escalation policies: if nobody acknowledges, tell the next unit up the chain.

A policy has a selector and steps; step k fires `after` its delay from the moment the warning
started escalating (it was raised, or upgraded: an upgrade needs a fresh acknowledgement) and
notifies `to`: `responsible` (the unit responsible for the warning's region and domain),
`parent` (the unit one step further up the responsible chain than the previous step), or a unit
code. The policy and the resolved chain of units are frozen onto the warning when escalation
starts (a snapshot), so a configuration change never alters an escalation already running.
Acknowledging or lifting the warning stops it. `next_step` is pure; a scheduler polls due work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from tocsin.core.warnings.selectors import Selector, Target

TO_RESPONSIBLE: Final = "responsible"
TO_PARENT: Final = "parent"


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
    stop_reason: str | None = None
