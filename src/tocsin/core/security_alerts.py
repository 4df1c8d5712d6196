"""Security alerts from monitoring tools (Wazuh, Suricata, CEF), placed on assets and counted.

An alert names hosts by name or address; the first one that is an address of a configured asset
places it there (its region and domain come from the asset). An alert naming no asset is not
ours to keep. The fields kept are the tool's rule, its severity and a title: nothing about the
people who may appear in an alert (user names, e-mail addresses, payloads) is kept, since Tocsin
watches infrastructure, not people. An asset's alerts in the minute up to its newest alert
become an observation of its `alerts_indicator` at that alert's second, so the same rules and
detectors watch them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from tocsin.core.assets import Asset, AssetCode
from tocsin.core.domains import DomainCode
from tocsin.core.events import Event
from tocsin.core.exposure.inventory import address_key
from tocsin.core.levels import Level

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
