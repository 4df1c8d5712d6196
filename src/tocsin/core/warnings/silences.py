"""Silences: owned, reasoned, time-boxed suppressions of matching warnings.

A silence suppresses notifications (not the warning itself) of every target its selector matches,
between `starts_at` and `ends_at`. It must name who owns it, why it exists and when it ends;
expiring it early sets `ends_at` to now. Its state (pending, active, expired) is derived from the
times, never stored.

A silence broader than the deployment allows on one person's word (`BreadthPolicy`: no region,
a region at a wide level such as a whole nation, or every level for longer than a day) waits for
a second user's approval: until then it is `awaiting_approval` and suppresses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NewType

from tocsin.core.audit import AuditRecord
from tocsin.core.errors import Conflict, Forbidden, InvalidInput, Problem
from tocsin.core.warnings.dedup import silence_notice_key
from tocsin.core.warnings.outbox import Message, NotificationKind
from tocsin.core.warnings.selectors import Selector, Target, selector_to_json

SilenceId = NewType("SilenceId", str)

MAX_SILENCE_FOR: Final = timedelta(days=30)


class SilenceState(StrEnum):
    """A silence's state at a moment (derived)."""

    AWAITING_APPROVAL = "awaiting_approval"
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


class Breadth(StrEnum):
    """Why a silence needs a second user's approval."""

    NO_REGION = "no_region"  # it matches every region
    WIDE_REGION = "wide_region"  # its region is at a wide level (a whole nation)
    ALL_LEVELS_LONG = "all_levels_long"  # every level, red included, for long


@dataclass(frozen=True, slots=True)
class BreadthPolicy:
    """What one person may silence alone: regions below `wide_levels`, and every level only for
    up to `all_levels_for`."""

    wide_levels: frozenset[str]
    all_levels_for: timedelta = timedelta(hours=24)


def breadth(
    selector: Selector, *, region_level: str | None, lasts: timedelta, policy: BreadthPolicy
) -> tuple[Breadth, ...]:
    """The reasons a silence is too broad for one person (empty: it is not)."""
    found = []
    if selector.region is None:
        found.append(Breadth.NO_REGION)
    elif region_level in policy.wide_levels:
        found.append(Breadth.WIDE_REGION)
    if not selector.levels and lasts > policy.all_levels_for:
        found.append(Breadth.ALL_LEVELS_LONG)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Silence:
    """A suppression with an owner, a reason and an expiry."""

    id: SilenceId
    selector: Selector
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    created_at: datetime
    expired_by: str | None = None
    needs_approval: tuple[str, ...] = ()  # Breadth values: why a second user must approve
    approved_by: str | None = None
    approved_at: datetime | None = None

    def state(self, now: datetime) -> SilenceState:
        """Awaiting approval (when it needs one), pending before it starts, active until it
        ends, then expired."""
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        if self.needs_approval and self.approved_by is None:
            return SilenceState.AWAITING_APPROVAL
        if now < self.starts_at:
            return SilenceState.PENDING
        if now < self.ends_at:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def is_active(self, now: datetime) -> bool:
        """True while it suppresses."""
        return self.state(now) is SilenceState.ACTIVE


def silence_problems(silence: Silence, now: datetime) -> list[Problem]:
    """Why a new silence is not acceptable (empty when it is)."""
    problems: list[Problem] = []
    if not silence.created_by.strip():
        problems.append(Problem("silence", "created_by", "a silence must have an owner"))
    if not silence.reason.strip():
        problems.append(Problem("silence", "reason", "a silence must have a reason"))
    if silence.ends_at <= silence.starts_at:
        problems.append(Problem("silence", "ends_at", "must be after starts_at"))
    if silence.ends_at <= now:
        problems.append(Problem("silence", "ends_at", "must be in the future"))
    if silence.ends_at - max(silence.starts_at, now) > MAX_SILENCE_FOR:
        problems.append(
            Problem("silence", "ends_at", f"a silence may last at most {MAX_SILENCE_FOR.days} days")
        )
    sel = silence.selector
    if sel.region is None and sel.domain is None and not sel.levels and not sel.matchers:
        problems.append(Problem("silence", "matchers", "a silence must match something"))
    return problems


def validate_silence(silence: Silence, now: datetime) -> Silence:
    """Return the silence or raise InvalidInput listing every problem."""
    problems = silence_problems(silence, now)
    if problems:
        raise InvalidInput(problems)
    return silence


def expire(silence: Silence, *, actor: str, now: datetime) -> Silence:
    """End a silence now; an already expired silence cannot be expired again."""
    if silence.state(now) is SilenceState.EXPIRED:
        raise Conflict(f"silence {silence.id} has already expired")
    starts_at = min(silence.starts_at, now)
    return replace(silence, starts_at=starts_at, ends_at=now, expired_by=actor)


def approve(silence: Silence, *, actor: str, now: datetime) -> Silence:
    """A second user's approval of a broad silence (never its creator's)."""
    if silence.state(now) is not SilenceState.AWAITING_APPROVAL:
        raise Conflict(f"silence {silence.id} is not awaiting approval")
    if actor == silence.created_by:
        raise Forbidden(f"silence {silence.id} needs another user's approval than its creator's")
    return replace(silence, approved_by=actor, approved_at=now)


def silenced_by(target: Target, silences: Iterable[Silence], now: datetime) -> tuple[str, ...]:
    """Ids of the active silences that match the target (sorted; empty = not silenced)."""
    return tuple(sorted(s.id for s in silences if s.is_active(now) and s.selector.matches(target)))


def silence_json(silence: Silence, now: datetime) -> dict[str, Any]:
    """A silence as JSON, with its state at `now` (API and notices)."""
    return {
        "id": silence.id,
        "selector": selector_to_json(silence.selector),
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "reason": silence.reason,
        "created_at": silence.created_at.isoformat(),
        "expired_by": silence.expired_by,
        "needs_approval": list(silence.needs_approval),
        "approved_by": silence.approved_by,
        "state": silence.state(now).value,
    }


class SilenceNotice(StrEnum):
    """What a silence notice tells."""

    CREATED = "created"
    EXPIRED = "expired"


def notice_messages(
    silence: Silence, what: SilenceNotice, *, receivers: Sequence[str], now: datetime
) -> list[Message]:
    """Tell each receiver (once) that a silence was created or has expired."""
    sel = silence.selector
    subject = (
        f"[SILENCE {what.value.upper()}] {sel.describe()} until {silence.ends_at.isoformat()} "
        f"by {silence.created_by}: {silence.reason}"
    )
    return [
        Message(
            key=silence_notice_key(silence.id, what.value),
            kind=NotificationKind.SILENCE,
            reason=f"silence {what.value}",
            receiver=receiver,
            subject=subject,
            extra={"silence": silence_json(silence, now)},
        )
        for receiver in dict.fromkeys(receivers)
    ]


def ran_out(silence: Silence) -> AuditRecord:
    """The audit record of a silence that reached its end time without anybody ending it."""
    return AuditRecord(
        silence.ends_at,
        "system:silences",
        "silence.expired",
        "silence",
        silence.id,
        "reached its end time",
    )
