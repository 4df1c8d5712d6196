"""Notification bodies: Tocsin's own JSON and Alertmanager's webhook format (version 4), and
`compose`, which turns one message into one notification per address of its receiver.

A group notification in a storm can name hundreds of warnings (a district's 300 grid cells).
Machines get all of them (`firing`, `resolved`, `alerts`); people get a text that stays
readable at any size: a subject with the worst level, what and where and the counts per level
(`summary`), and `digest`: the counts, then at most DIGEST_LINES warnings, the most severe
first, and "… and N more".

The Alertmanager format follows the documented webhook payload of Prometheus Alertmanager
(`version`, `groupKey`, `status`, `receiver`, `groupLabels`, `commonLabels`,
`commonAnnotations`, `externalURL`, `alerts[]` with `status`, `labels`, `annotations`,
`startsAt`, `endsAt`, `generatorURL`, `fingerprint`), so an existing receiver works unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from tocsin.core.warnings.alert_view import alert_annotations, alert_labels
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


DIGEST_LINES: Final = 20  # warnings a notification names in its text; the rest are counted


def worst_first(warnings: Sequence[Warning]) -> list[Warning]:
    """The most severe first, then by region and subject."""
    return sorted(warnings, key=lambda w: (-w.level.rank, w.region, w.subject, w.id))


def level_counts(warnings: Sequence[Warning]) -> dict[str, int]:
    """How many warnings at each level, the most severe level first (levels with none left
    out)."""
    counts: dict[str, int] = {}
    for w in worst_first(warnings):
        counts[w.level.value] = counts.get(w.level.value, 0) + 1
    return counts


def _where(warnings: Sequence[Warning], labels: Mapping[str, str]) -> str:
    """The one region they lie in, else the region the group is about, else 'several'."""
    regions = {w.region for w in warnings}
    if len(regions) == 1:
        return next(iter(regions))
    around = [v for k, v in sorted(labels.items()) if k.startswith("region") and v]
    return around[0] if around else "several regions"


def _what(warnings: Sequence[Warning]) -> str:
    domains = {w.domain for w in warnings}
    return next(iter(domains)) if len(domains) == 1 else "several domains"


def summary(
    firing: Sequence[Warning],
    resolved: Sequence[Warning],
    *,
    labels: Mapping[str, str] | None = None,
) -> str:
    """A one-line subject: the worst level, what and where, and how many at each level."""
    labels = labels or {}
    if len(firing) == 1 and not resolved:
        top = firing[0]
        return f"[{top.level.value.upper()}] {top.domain} in {top.region}: {top.subject}"
    if firing:
        top = worst_first(firing)[0]
        counts = ", ".join(f"{n} {lv}" for lv, n in level_counts(firing).items())
        lifted = f"; {len(resolved)} lifted" if resolved else ""
        where = _where(firing, labels)
        return (
            f"[{top.level.value.upper()}] {_what(firing)} in {where}: "
            f"{len(firing)} warning{'s' * (len(firing) > 1)} ({counts}){lifted}"
        )
    if len(resolved) == 1:
        gone = resolved[0]
        return f"[RESOLVED] {gone.domain} in {gone.region}: {gone.subject} lifted"
    where = _where(resolved, labels)
    return f"[RESOLVED] {_what(resolved)} in {where}: {len(resolved)} warnings lifted"


def digest(
    firing: Sequence[Warning], resolved: Sequence[Warning], *, limit: int = DIGEST_LINES
) -> list[str]:
    """Readable lines for people at any size: the counts, then the firing warnings most severe
    first and the lifted ones, at most `limit` lines in all, with "… and N more"."""
    lines: list[str] = []
    if firing:
        counts = ", ".join(f"{n} {lv}" for lv, n in level_counts(firing).items())
        lines.append(f"Firing: {len(firing)} ({counts})")
        lines += _listed(worst_first(firing), limit)
    if resolved:
        lines.append(f"Lifted: {len(resolved)}")
        shown = max(limit - min(len(firing), limit), min(len(resolved), 5))
        lines += _listed(sorted(resolved, key=lambda w: (w.region, w.subject)), shown)
    return lines


def _listed(warnings: Sequence[Warning], limit: int) -> list[str]:
    lines = [
        f"- {w.level.value.upper()} {w.region} {w.domain}: {w.subject}" for w in warnings[:limit]
    ]
    if len(warnings) > limit:
        lines.append(f"- … and {len(warnings) - limit} more (all are listed in the JSON body)")
    return lines


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
        "summary": (
            summary(message.firing, message.resolved, labels=message.labels)
            if message.firing or message.resolved or not message.subject
            else message.subject  # a notice about no warning (a silence, a task) says itself
        ),
        "counts": {"firing": level_counts(message.firing), "resolved": len(message.resolved)},
        "digest": digest(message.firing, message.resolved),
        "firing": [warning_json(w) for w in message.firing],
        "resolved": [warning_json(w) for w in message.resolved],
        **message.extra,
    }


def _am_alert(warning: Warning, status: str, external_url: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": alert_labels(warning),
        "annotations": alert_annotations(warning),
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
    subject = message.subject or summary(message.firing, message.resolved, labels=message.labels)
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
