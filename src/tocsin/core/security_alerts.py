"""Security alerts from monitoring tools (Wazuh, Suricata, CEF), placed on assets and counted.

An alert names hosts by name or address; the first one that is an address of a configured asset
places it there (its region and domain come from the asset). An alert naming no asset is not
ours to keep. The fields kept are the tool's rule, its severity and a title: nothing about the
people who may appear in an alert (user names, e-mail addresses, payloads) is kept, since Tocsin
watches infrastructure, not people. An asset's alerts in the minute up to its newest alert
become an observation of its `alerts_indicator` at that alert's second, so the same rules and
detectors watch them.

A delivery is checked whole before anything of it is stored (`alert_problems`): every alert's
time within the server's clock plus the allowed skew, its id and texts within what the event
store keeps; one bad alert refuses the delivery, naming where it stood and which field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tocsin.core.assets import Asset, AssetCode
from tocsin.core.domains import DomainCode
from tocsin.core.errors import Problem
from tocsin.core.events import Event
from tocsin.core.exposure.inventory import address_key
from tocsin.core.levels import Level
from tocsin.core.moments import ahead_reason

WINDOW_S = 60  # an asset's alert count covers the minute up to its newest alert


class AlertFormat(StrEnum):
    """The formats security alerts arrive in."""

    WAZUH = "wazuh"
    SURICATA = "suricata"
    CEF = "cef"


@dataclass(frozen=True, slots=True)
class SecurityAlert:
    """One alert as a tool raised it: the hosts it names (most specific first) and its rule."""

    format: AlertFormat
    external_id: str
    occurred_at: datetime
    hosts: tuple[str, ...]
    rule: str
    title: str
    severity: Level
    where: str = ""  # where the alert stood in its delivery ("line 3"), for problems


# the field each format states an alert's time in
TIME_FIELDS = {
    AlertFormat.WAZUH: "timestamp",
    AlertFormat.SURICATA: "timestamp",
    AlertFormat.CEF: "rt",
}
MAX_ID_CHARS = 256  # the event store's external id
MAX_TEXT_CHARS = 1_000


def _text_problem(value: str, *, limit: int) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    if len(value) > limit:
        return f"{len(value):,} characters; at most {limit:,}"
    return None


def alert_problems(
    alerts: Sequence[SecurityAlert], *, now: datetime, max_ahead: timedelta
) -> list[Problem]:
    """What is wrong with a delivery (up to 50 problems, each naming the alert and field): a
    time later than `now + max_ahead` (TOCSIN_MAX_CLOCK_SKEW_S), an empty or too long id, a
    text the store cannot keep."""
    latest, ahead = int(now.timestamp()), int(max_ahead.total_seconds())
    problems: list[Problem] = []
    for i, alert in enumerate(alerts):
        where = alert.where or f"alerts[{i}]"
        at = int(alert.occurred_at.timestamp())
        if at > latest + ahead:
            reason = ahead_reason(at, now=latest, max_ahead=ahead)
            problems.append(Problem(where, TIME_FIELDS[alert.format], reason))
        if not alert.external_id:
            problems.append(Problem(where, "id", "empty"))
        texts = (("id", alert.external_id, MAX_ID_CHARS), ("rule", alert.rule, MAX_TEXT_CHARS))
        for name, value, limit in (*texts, ("title", alert.title, MAX_TEXT_CHARS)):
            reason_text = _text_problem(value, limit=limit)
            if reason_text is not None:
                problems.append(Problem(where, name, reason_text))
        problems += [
            Problem(where, "host", "contains a NUL character") for h in alert.hosts if "\x00" in h
        ]
    return problems[:50]


def content_id(*parts: object) -> str:
    """An id derived from an alert's content, for formats that carry none (32 hex digits)."""
    raw = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def address_index(assets: Mapping[AssetCode, Asset]) -> dict[str, Asset]:
    """Every configured address (canonical form) to its asset."""
    out: dict[str, Asset] = {}
    for asset in assets.values():
        for text in asset.addresses:
            key = address_key(text)
            if key is not None:
                out.setdefault(key, asset)
    return out


def place(alert: SecurityAlert, index: Mapping[str, Asset]) -> Asset | None:
    """The asset the alert is about: the first host it names that is a known address."""
    for host in alert.hosts:
        key = address_key(host)
        if key is not None and key in index:
            return index[key]
    return None


def as_events(
    alerts: Iterable[SecurityAlert], index: Mapping[str, Asset], *, domain: DomainCode | None
) -> tuple[list[Event], int]:
    """Alerts placed on assets, as events (in `domain`, or the asset's domain when None); and
    how many named no asset."""
    events: list[Event] = []
    unplaced = 0
    for alert in alerts:
        asset = place(alert, index)
        if asset is None:
            unplaced += 1
            continue
        attributes = {"rule": alert.rule, "format": alert.format.value}
        events.append(
            Event(
                f"security:{alert.format.value}",
                alert.external_id,
                alert.occurred_at,
                asset.region,
                domain or asset.domain,
                alert.severity,
                alert.title,
                asset=str(asset.code),
                attributes=attributes,
            )
        )
    return events, unplaced


def newest_seconds(events: Sequence[Event]) -> dict[str, int]:
    """Per asset, the epoch second of its newest alert among these events."""
    out: dict[str, int] = {}
    for e in events:
        if e.asset is not None:
            second = int(e.occurred_at.timestamp())
            out[e.asset] = max(out.get(e.asset, second), second)
    return out


def window_of(second: int) -> tuple[datetime, datetime]:
    """[since, until) of the counting window ending with `second` (WINDOW_S seconds long)."""
    return (
        datetime.fromtimestamp(second - WINDOW_S + 1, UTC),
        datetime.fromtimestamp(second + 1, UTC),
    )
