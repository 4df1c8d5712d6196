"""Port: discrete events (operator reports, CAP alerts, cyber alerts), stored idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tocsin.core.events import Event


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: when it reached Tocsin."""

    event: Event
    received_at: datetime


class EventStore(Protocol):
    """Events keyed by (source, external_id)."""

    def insert(self, events: Sequence[Event], *, received_at: datetime) -> int:
        """Insert events, ignoring ones already stored; return how many were new."""

    def newest(self, *, limit: int = 200) -> list[StoredEvent]:
        """Newest events first (by when they occurred)."""

    def occurrences(
        self, assets: Sequence[str], *, source_prefix: str, since: datetime, until: datetime
    ) -> list[tuple[str, datetime]]:
        """(asset, occurred at) of the events on these assets whose source starts with the
        prefix and that occurred in [since, until)."""
