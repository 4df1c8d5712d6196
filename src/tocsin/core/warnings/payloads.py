"""Notification bodies: Tocsin's own JSON and Alertmanager's webhook format (version 4), and
`compose`, which turns one message into one notification per address of its receiver.

The Alertmanager format follows the documented webhook payload of Prometheus Alertmanager
(`version`, `groupKey`, `status`, `receiver`, `groupLabels`, `commonLabels`,
`commonAnnotations`, `externalURL`, `alerts[]` with `status`, `labels`, `annotations`,
`startsAt`, `endsAt`, `generatorURL`, `fingerprint`), so an existing receiver works unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tocsin.core.warnings.dedup import channel_key
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Address, Message, Notification, PayloadFormat

ZERO_TIME = "0001-01-01T00:00:00Z"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def warning_json(warning: Warning, *, reason: str = "") -> dict[str, Any]:
    """A warning as it appears in a notification: what, where, how bad, why."""
    return {
        "id": warning.id,
        "fingerprint": warning.fingerprint,
        "source": warning.source,
        "subject": warning.subject,
        "region": warning.region,
        "domain": warning.domain,
        "level": warning.level.value,
        "cap_severity": warning.level.cap_severity,
        "state": warning.state.value,
        "first_seen_at": _iso(warning.first_seen_at),
        "lifted_at": _iso(warning.lifted_at) if warning.lifted_at else None,
        "acknowledged_by": warning.acknowledged_by,
        "labels": dict(warning.labels),
        "cause": dict(warning.cause),
        "explanation": dict(warning.explanation),
        "reason": reason,
    }


def summary(firing: Sequence[Warning], resolved: Sequence[Warning]) -> str:
    """A one-line subject: counts by level and where."""
    if firing:
        top = max(firing, key=lambda w: w.level.rank)
        where = top.region if len({w.region for w in firing}) == 1 else "several regions"
        more = f" (+{len(firing) - 1} more)" if len(firing) > 1 else ""
        return f"[{top.level.value.upper()}] {top.domain} in {where}: {top.subject}{more}"
    return f"[RESOLVED] {len(resolved)} warning(s) lifted"


def tocsin_payload(message: Message, *, now: datetime) -> dict[str, Any]:
    """Tocsin's JSON body."""
    return {
        "version": "1",
        "idempotency_key": message.key,
        "kind": message.kind.value,
        "reason": message.reason,
        "receiver": message.receiver,
        "group_labels": dict(message.labels),
        "decided_at": _iso(now),
        "summary": summary(message.firing, message.resolved),
        "firing": [warning_json(w) for w in message.firing],
        "resolved": [warning_json(w) for w in message.resolved],
        **message.extra,
    }


def _am_alert(warning: Warning, status: str, external_url: str) -> dict[str, Any]:
    labels = {
        **{k: str(v) for k, v in warning.labels.items()},
        "alertname": warning.subject,
        "region": warning.region,
        "domain": warning.domain,
        "level": warning.level.value,
        "severity": warning.level.cap_severity.lower(),
        "source": warning.source,
    }
    cause = warning.cause
    annotations = {
        "summary": f"{warning.level.value} warning: {warning.subject} in {warning.region}",
        "description": str(cause.get("reason", "")) or str(dict(cause)),
    }
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _iso(warning.first_seen_at),
        "endsAt": _iso(warning.lifted_at) if warning.lifted_at else ZERO_TIME,
        "generatorURL": f"{external_url}/api/v1/warnings/{warning.id}",
        "fingerprint": warning.fingerprint,
    }


def alertmanager_payload(
    message: Message, *, external_url: str = "http://tocsin"
) -> dict[str, Any]:
    """Alertmanager's webhook body (version 4); the group key names kind, receiver, labels."""
    alerts = [_am_alert(w, "firing", external_url) for w in message.firing]
    alerts += [_am_alert(w, "resolved", external_url) for w in message.resolved]
    common: dict[str, str] = dict(alerts[0]["labels"]) if alerts else {}
    for a in alerts[1:]:
        labels = a["labels"]
        common = {k: v for k, v in common.items() if labels.get(k) == v}
    return {
        "version": "4",
        "groupKey": f"{message.kind.value}:{message.receiver}:{sorted(message.labels.items())}",
        "truncatedAlerts": 0,
        "status": "firing" if message.firing else "resolved",
        "receiver": message.receiver,
        "groupLabels": dict(message.labels),
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": external_url,
        "alerts": alerts,
    }


def render(address: Address, message: Message, *, now: datetime) -> dict[str, Any]:
    """The body one address receives: Alertmanager's format or Tocsin's own."""
    if address.format is PayloadFormat.ALERTMANAGER:
        return alertmanager_payload(message)
    return tocsin_payload(message, now=now)


def compose(message: Message, addresses: Sequence[Address], *, now: datetime) -> list[Notification]:
    """One notification per address, each with its own key derived from the message's key."""
    subject = message.subject or summary(message.firing, message.resolved)
    ids = tuple(w.id for w in (*message.firing, *message.resolved))
    return [
        Notification(
            key=channel_key(message.key, a.channel.value, a.address),
            kind=message.kind,
            receiver=message.receiver,
            channel=a.channel,
            address=a.address,
            format=a.format,
            subject=subject,
            payload=render(a, message, now=now),
            created_at=now,
            warning_ids=ids,
            next_attempt_at=now,
            reason=message.reason,
        )
        for a in addresses
    ]
