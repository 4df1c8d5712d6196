"""The notification outbox: what must be delivered, to which channel address, with which key.

A notification is decided and written in one transaction with the state that caused it (a group
evaluation, an escalation step, a silence notice). A delivery worker sends it and then marks it
delivered. Delivery is *at least once with an idempotency key*: a crash between the send and the
mark makes the worker send it again, with the same key, which the receiver uses to drop the copy.
Retries back off exponentially with jitter derived from the key (deterministic, no randomness).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from tocsin.core.errors import TocsinError
from tocsin.core.warnings.dedup import channel_key

BACKOFF_BASE: Final = timedelta(seconds=2)
BACKOFF_CAP: Final = timedelta(minutes=10)
MAX_ATTEMPTS: Final = 12


class Channel(StrEnum):
    """How a notification travels."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    FILE = "file"  # JSON lines appended to a local file (the demo's visible sink)


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
    extra: Mapping[str, Any] = field(default_factory=dict)


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


def fan_out(
    *,
    key: str,
    kind: NotificationKind,
    receiver: str,
    addresses: Sequence[Address],
    subject: str,
    payload: Mapping[str, Any],
    now: datetime,
    warning_ids: Sequence[str],
    reason: str,
) -> list[Notification]:
    """One notification per address, each with its own key derived from the logical key."""
    return [
        Notification(
            key=channel_key(key, a.channel.value, a.address),
            kind=kind,
            receiver=receiver,
            channel=a.channel,
            address=a.address,
            format=a.format,
            subject=subject,
            payload=payload,
            created_at=now,
            warning_ids=tuple(warning_ids),
            next_attempt_at=now,
            reason=reason,
        )
        for a in addresses
    ]


class DeliveryError(TocsinError):
    """A channel did not take a notification; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
