"""Stage 6, outbox: what must be delivered, to which channel address, with which key.

A notification is decided and written in one transaction with the state that caused it (a group
evaluation, an escalation step, a silence notice). A delivery worker sends it and then marks it
delivered. Delivery is *at least once with an idempotency key*: a crash between the send and the
mark makes the worker send it again, with the same key, which the receiver uses to drop the copy.
Retries back off exponentially with jitter derived from the key (deterministic, no randomness).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from tocsin.core.errors import TocsinError
from tocsin.core.units import ResponsibleUnit, UnitCode
from tocsin.core.warnings.model import Warning

BACKOFF_BASE: Final = timedelta(seconds=2)
BACKOFF_CAP: Final = timedelta(minutes=10)
MAX_ATTEMPTS: Final = 12


class Channel(StrEnum):
    """How a notification travels."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    FILE = "file"  # JSON lines appended to a local file (the demo's visible sink)
    REPORTER = "reporter"  # e-mail to a public report's reporter (address: the report's id)


class PayloadFormat(StrEnum):
    """The body a webhook receives."""

    TOCSIN = "tocsin"
    ALERTMANAGER = "alertmanager"


class DeliveryStatus(StrEnum):
    """Where a notification stands (stored)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS; visible in the log


class NotificationKind(StrEnum):
    """What caused a notification."""

    GROUP = "group"
    ESCALATION = "escalation"
    SILENCE = "silence"
    PUBLIC_ALERT = "public_alert"  # a published CAP alert, to its subscribers (core/cap)
    TASK = "task"  # a task given to a unit, a reminder, an escalation (core/incidents)
    REPORT = "report"  # a scheduled situation report was issued
    CITIZEN_REPORT = "citizen_report"  # a public report overdue with its unit (core/reports)
    REPORT_STATUS = "report_status"  # a public report's new status, to its reporter


@dataclass(frozen=True, slots=True)
class Address:
    """One place a receiver is reached."""

    channel: Channel
    address: str  # URL, e-mail address or file path
    format: PayloadFormat = PayloadFormat.TOCSIN


@dataclass(frozen=True, slots=True)
class Notification:
    """One delivery of one message to one address."""

    key: str
    kind: NotificationKind
    receiver: str
    channel: Channel
    address: str
    format: PayloadFormat
    subject: str
    payload: Mapping[str, Any]
    created_at: datetime
    warning_ids: tuple[str, ...] = ()
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One logical notification to one receiver, before it fans out to the receiver's
    addresses (each delivery gets its own key, derived from `key`)."""

    key: str
    kind: NotificationKind
    reason: str
    receiver: str
    labels: Mapping[str, str] = field(default_factory=dict)
    firing: tuple[Warning, ...] = ()
    resolved: tuple[Warning, ...] = ()
    subject: str = ""  # empty: a summary of firing and resolved
    extra: Mapping[str, Any] = field(default_factory=dict)


def addresses_of(
    receiver: str,
    *,
    named: Mapping[str, tuple[Address, ...]],
    units: Mapping[UnitCode, ResponsibleUnit],
) -> tuple[Address, ...]:
    """Where a receiver is reached: a named receiver of routes.yaml, else a unit's webhook and
    e-mail (empty when nowhere)."""
    if receiver in named:
        return named[receiver]
    unit = units.get(UnitCode(receiver))
    if unit is None:
        return ()
    found = [
        Address(Channel.WEBHOOK, unit.webhook_url) if unit.webhook_url else None,
        Address(Channel.EMAIL, unit.email) if unit.email else None,
    ]
    return tuple(a for a in found if a is not None)


def backoff(key: str, attempts: int) -> timedelta:
    """Delay before attempt `attempts + 1`: base·2^(attempts-1), capped, with ±25% key jitter."""
    exp = BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 20))
    delay = min(exp, BACKOFF_CAP)
    jitter = int(hashlib.sha256(f"{key}:{attempts}".encode()).hexdigest()[:4], 16) / 0xFFFF
    factor: float = 0.75 + 0.5 * jitter
    return delay * factor


def after_failure(attempts: int, key: str, now: datetime) -> tuple[DeliveryStatus, datetime | None]:
    """Status and next attempt after the `attempts`-th attempt failed."""
    if attempts >= MAX_ATTEMPTS:
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.PENDING, now + backoff(key, attempts)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The recorded outcome of a delivery attempt (how many so far, what next)."""

    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    error: str | None = None


def attempt_outcome(
    note: Notification,
    *,
    error: str | None,
    retryable: bool,
    now: datetime,
    done_at: datetime,
    retry_after: timedelta | None = None,
) -> Attempt:
    """After a send: delivered, tried again after a backoff (not before the receiver's
    `retry_after`, when it gave one), or given up (not retryable, or MAX_ATTEMPTS reached)."""
    if error is None:
        return Attempt(DeliveryStatus.DELIVERED, note.attempts, delivered_at=done_at)
    status, next_at = after_failure(note.attempts, note.key, now)
    if not retryable:
        status, next_at = DeliveryStatus.FAILED, None
    elif retry_after is not None and next_at is not None:
        next_at = max(next_at, done_at + retry_after)
    return Attempt(status, note.attempts, next_at, error=error)


def not_attempted(note: Notification, *, until: datetime) -> Attempt:
    """A claimed notification handed back unsent (its address is held or paced): pending again
    at `until`, the attempt its claim counted taken back."""
    return Attempt(DeliveryStatus.PENDING, max(note.attempts - 1, 0), until)


def log_entry(n: Notification) -> dict[str, Any]:
    """A notification as a line of a warning's delivery log (JSON)."""
    return {
        "key": n.key,
        "kind": n.kind.value,
        "reason": n.reason,
        "receiver": n.receiver,
        "channel": n.channel.value,
        "address": n.address,
        "status": n.status.value,
        "attempts": n.attempts,
        "created_at": n.created_at.isoformat(),
        "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
    }


class DeliveryError(TocsinError):
    """A channel did not take a notification; `retryable` says whether trying again may help,
    `retry_after` how long the receiver asked to be left alone (HTTP `Retry-After`)."""

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
