"""Silences: owned, reasoned, time-boxed suppressions of matching warnings.

A silence suppresses notifications (not the warning itself) of every target its selector matches,
between `starts_at` and `ends_at`. It must name who owns it, why it exists and when it ends;
expiring it early sets `ends_at` to now. Its state (pending, active, expired) is derived from the
times, never stored.

A silence broader than the deployment allows on one person's word carries an open `Approval`
(`silence_approval`): until a second user approves it, it is `awaiting_approval` and suppresses
nothing; refused, it never does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NewType

from tocsin.core.audit import AuditRecord
from tocsin.core.errors import Conflict, InvalidInput, Problem
from tocsin.core.warnings.dedup import silence_notice_key
from tocsin.core.warnings.outbox import Message, NotificationKind
from tocsin.core.warnings.selectors import Selector, Target, selector_to_json
from tocsin.core.warnings.silence_approval import Approval, Decision, approval_json, decide

SilenceId = NewType("SilenceId", str)

MAX_SILENCE_FOR: Final = timedelta(days=30)


class SilenceState(StrEnum):
    """A silence's state at a moment (derived)."""

    AWAITING_APPROVAL = "awaiting_approval"
    REFUSED = "refused"
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


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
    approval: Approval | None = None  # None: one person's word is enough

    def state(self, now: datetime) -> SilenceState:
        """Refused (for good), expired once it ends, awaiting approval while it needs one,
        pending before it starts, then active."""
        decision = self.approval.decision if self.approval else None
        if decision is Decision.REFUSED:
            return SilenceState.REFUSED
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        if self.approval is not None and decision is None:
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
    if silence.state(now) in (SilenceState.EXPIRED, SilenceState.REFUSED):
        raise Conflict(f"silence {silence.id} has already ended")
    starts_at = min(silence.starts_at, now)
    return replace(silence, starts_at=starts_at, ends_at=now, expired_by=actor)


def approve(silence: Silence, *, actor: str, now: datetime, note: str = "") -> Silence:
    """A second user's approval of a broad silence: it suppresses from then on."""
    return _decide(silence, Decision.APPROVED, actor=actor, now=now, note=note)


def refuse(silence: Silence, *, actor: str, now: datetime, note: str) -> Silence:
    """A second user's refusal of a broad silence (with a reason): it ends now, never having
    suppressed anything."""
    done = _decide(silence, Decision.REFUSED, actor=actor, now=now, note=note)
    return replace(done, starts_at=min(silence.starts_at, now), ends_at=now)


def _decide(
    silence: Silence, decision: Decision, *, actor: str, now: datetime, note: str
) -> Silence:
    if silence.approval is None or silence.state(now) is not SilenceState.AWAITING_APPROVAL:
        raise Conflict(f"silence {silence.id} is not awaiting approval")
    approval = decide(
        silence.approval, decision, actor=actor, creator=silence.created_by, now=now, note=note
    )
    return replace(silence, approval=approval)


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
        "approval": approval_json(silence.approval),
        "state": silence.state(now).value,
    }


class SilenceNotice(StrEnum):
    """What a silence notice tells."""

    CREATED = "created"
    APPROVED = "approved"
    REFUSED = "refused"
    EXPIRED = "expired"


def notice_messages(
    silence: Silence, what: SilenceNotice, *, receivers: Sequence[str], now: datetime
) -> list[Message]:
    """Tell each receiver (once) that a silence was created, approved, refused or has
    expired."""
    sel = silence.selector
    waiting = silence.state(now) is SilenceState.AWAITING_APPROVAL
    waits = " (awaiting a second user's approval)" if waiting else ""
    subject = (
        f"[SILENCE {what.value.upper()}] {sel.describe()} until {silence.ends_at.isoformat()} "
        f"by {silence.created_by}{waits}: {silence.reason}"
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
