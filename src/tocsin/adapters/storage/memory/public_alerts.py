"""Public alerts in memory (the reference for the SQL store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.errors import Conflict
from tocsin.ports.public_alerts import AlertQuery, FeedQuery, FeedVersion


def _newest(alerts: list[PublicAlert]) -> list[PublicAlert]:
    alerts.sort(key=lambda a: a.identifier)
    return sorted(alerts, key=lambda a: a.published_at or a.updated_at, reverse=True)


class MemoryPublicAlerts:
    """The PublicAlertStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, identifier: str) -> PublicAlert | None:
        """One public alert."""
        return self.state.public_alerts.get(identifier)

    def add(self, alert: PublicAlert) -> None:
        """Store a new draft."""
        if alert.identifier in self.state.public_alerts:
            raise Conflict(f"a public alert {alert.identifier} exists already")
        self.state.public_alerts[alert.identifier] = alert

    def save(self, alert: PublicAlert, *, entries: Mapping[str, str] | None = None) -> None:
        """Store a changed alert and its feed entries."""
        if alert.identifier in self.state.public_alerts:
            self.state.public_alerts[alert.identifier] = alert
            if entries:
                self.state.public_alert_entries[alert.identifier] = dict(entries)

    def find(self, query: AlertQuery) -> list[PublicAlert]:
        """Alerts matching the query, most recently changed first."""
        found = [
            a
            for a in self.state.public_alerts.values()
            if (not query.states or a.state in query.states)
            and (query.warning_id is None or a.warning_id == query.warning_id)
            and (query.thread is None or a.thread == query.thread)
        ]
        found.sort(key=lambda a: a.identifier)
        found.sort(key=lambda a: a.updated_at, reverse=True)
        return found[: query.limit]

    def about(self, warning_ids: Sequence[str]) -> set[str]:
        """The warnings among these that some public alert is about."""
        wanted = set(warning_ids)
        return {a.warning_id for a in self.state.public_alerts.values() if a.warning_id in wanted}

    def current(self, thread: str) -> PublicAlert | None:
        """The published, not superseded message of a thread."""
        found = [
            a
            for a in self.state.public_alerts.values()
            if a.thread == thread and a.state is AlertState.PUBLISHED
        ]
        return _newest(found)[0] if found else None

    def active(self, now: datetime, *, limit: int) -> list[PublicAlert]:
        """Alerts in force, most severe and newest first."""
        found = _newest([a for a in self.state.public_alerts.values() if a.is_active(now)])
        return sorted(found, key=lambda a: a.level.rank, reverse=True)[:limit]

    def feed_page(self, query: FeedQuery, now: datetime) -> list[str]:
        """The identifiers of the active alerts matching the query, newest first."""
        regions = set(query.regions) if query.regions is not None else None
        domains = set(query.domains) if query.domains is not None else None
        out: list[str] = []
        for alert in _newest([a for a in self.state.public_alerts.values() if a.is_active(now)]):
            entry = self.state.public_alert_entries.get(alert.identifier, {}).get(query.language)
            if entry is None or (query.levels and alert.level.value not in query.levels):
                continue
            if domains is not None and alert.domain not in domains:
                continue
            if regions is not None and not regions & set(alert.regions):
                continue
            out.append(alert.identifier)
        return out[: query.limit]

    def entries_of(self, identifiers: Sequence[str], language: str) -> dict[str, str]:
        """The stored entries of these alerts in a language."""
        stored = self.state.public_alert_entries
        found = ((i, stored.get(i, {}).get(language)) for i in identifiers)
        return {i: entry for i, entry in found if entry is not None}

    def documents_of(self, identifiers: Sequence[str]) -> dict[str, str]:
        """The published CAP documents of these alerts."""
        found = (self.state.public_alerts.get(i) for i in identifiers)
        return {a.identifier: a.xml for a in found if a is not None and a.xml is not None}

    def feed_version(self, now: datetime) -> FeedVersion:
        """The active count and the last change of any alert."""
        alerts = self.state.public_alerts.values()
        changed = max((a.updated_at for a in alerts), default=None)
        return FeedVersion(sum(1 for a in alerts if a.is_active(now)), changed)
