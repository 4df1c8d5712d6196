"""Subscribers: who is told of a published alert (new, updated or cancelled), as notifications
for the durable outbox.

A subscriber's filter holds its regions (each with its subtree), domains (each with its
sub-domains) and levels; an empty part does not limit. A notification's idempotency key is
derived from the alert's identifier and the address, so publishing can be repeated after a crash
without telling anyone twice. The payload carries the CAP document itself (`cap`), its stable
URL and what the alert does (`msg_type`: Alert, Update, Cancel).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tocsin.core.cap.config import Subscriber
from tocsin.core.cap.lifecycle import PublicAlert
from tocsin.core.cap.message import MsgType
from tocsin.core.warnings.dedup import channel_key, idempotency_key
from tocsin.core.warnings.outbox import Notification, NotificationKind

WHAT: dict[MsgType, str] = {
    MsgType.ALERT: "new",
    MsgType.UPDATE: "updated",
    MsgType.CANCEL: "cancelled",
}


def wants(subscriber: Subscriber, alert: PublicAlert) -> bool:
    """True when the alert lies within the subscriber's regions, domains and levels."""
    if subscriber.regions and not subscriber.regions & set(alert.regions):
        return False
    if subscriber.domains and alert.domain not in subscriber.domains:
        return False
    return not subscriber.levels or alert.level in subscriber.levels


def payload(alert: PublicAlert, *, url: str) -> dict[str, Any]:
    """What a subscriber receives: the alert's summary, its URL and the CAP document."""
    first = alert.message.infos[0] if alert.message.infos else None
    return {
        "version": "1",
        "kind": NotificationKind.PUBLIC_ALERT.value,
        "what": WHAT.get(alert.msg_type, alert.msg_type.value.lower()),
        "identifier": alert.identifier,
        "msg_type": alert.msg_type.value,
        "references": list(alert.message.references),
        "level": alert.level.value,
        "severity": alert.level.cap_severity,
        "domain": alert.domain,
        "regions": list(alert.regions),
        "headline": first.headline if first else None,
        "summary": subject(alert),
        "url": url,
        "cap": alert.xml,
    }


def subject(alert: PublicAlert) -> str:
    """A one-line subject: what happened, the level and the headline."""
    first = alert.message.infos[0] if alert.message.infos else None
    what = WHAT.get(alert.msg_type, alert.msg_type.value).upper()
    headline = (first.headline or first.event) if first else alert.identifier
    return f"[PUBLIC ALERT {what}] [{alert.level.value.upper()}] {headline}"


def notifications(
    alert: PublicAlert, subscribers: Sequence[Subscriber], *, url: str, now: datetime
) -> list[Notification]:
    """One notification per address of each subscriber that wants the alert."""
    key = idempotency_key("public_alert", alert.identifier)
    body = payload(alert, url=url)
    return [
        Notification(
            key=channel_key(key, a.channel.value, a.address),
            kind=NotificationKind.PUBLIC_ALERT,
            receiver=sub.name,
            channel=a.channel,
            address=a.address,
            format=a.format,
            subject=subject(alert),
            payload=body,
            created_at=now,
            warning_ids=(alert.warning_id,) if alert.warning_id else (),
            next_attempt_at=now,
            reason=f"public alert {WHAT.get(alert.msg_type, '')}".strip(),
        )
        for sub in subscribers
        if wants(sub, alert)
        for a in sub.addresses
    ]
