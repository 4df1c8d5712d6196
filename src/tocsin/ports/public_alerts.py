"""Ports: public alerts (CAP messages drafted, approved and published) and their XML.

`PublicAlertStore` lives in the warning pipeline's session (`AlertingSession.public_alerts`):
a publication writes the alert, its feed entries, its audit records and its subscribers'
notifications (the outbox) in one transaction. `CapCodec` writes and checks CAP XML; it reads
the OASIS schema, so it is an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.cap.message import Alert
from tocsin.core.errors import Problem

FIRST_LANGUAGE = "*"  # the feed entry of an alert's first info block (no language asked for)


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Which public alerts to list (newest change first)."""

    states: tuple[AlertState, ...] = ()
    warning_id: str | None = None
    thread: str | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """Which active alerts a feed holds: each part, when given, must hold (codes expanded to
    their subtrees by the caller)."""

    language: str = FIRST_LANGUAGE
    levels: tuple[str, ...] = ()
    domains: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    limit: int = 10_000


@dataclass(frozen=True, slots=True)
class FeedVersion:
    """What changes whenever the active set changes: how many are active, the last change."""

    active: int
    changed_at: datetime | None


class PublicAlertStore(Protocol):
    """Public alerts by identifier; published ones also by region and language (the feed)."""

    def get(self, identifier: str) -> PublicAlert | None:
        """One public alert."""

    def add(self, alert: PublicAlert) -> None:
        """Store a new draft (Conflict if the identifier is taken)."""

    def save(self, alert: PublicAlert, *, entries: Mapping[str, str] | None = None) -> None:
        """Store a changed alert; `entries` (language -> Atom entry) when it is published."""

    def find(self, query: AlertQuery) -> list[PublicAlert]:
        """Alerts matching the query, most recently changed first."""

    def about(self, warning_ids: Sequence[str]) -> set[str]:
        """The warnings among these that some public alert (in any state) is about."""

    def current(self, thread: str) -> PublicAlert | None:
        """The published, not superseded message of a thread (None when there is none)."""

    def active(self, now: datetime, *, limit: int) -> list[PublicAlert]:
        """Published alerts in force at `now`, most severe and newest first."""

    def feed_page(self, query: FeedQuery, now: datetime) -> list[str]:
        """The identifiers of the active alerts matching the query that have an entry in its
        language, newest publication first (answered from an index)."""

    def entries_of(self, identifiers: Sequence[str], language: str) -> dict[str, str]:
        """The stored feed entries of these alerts in a language (they never change)."""

    def documents_of(self, identifiers: Sequence[str]) -> dict[str, str]:
        """The published CAP documents of these alerts (they never change)."""

    def feed_version(self, now: datetime) -> FeedVersion:
        """The active count and last change (a cached feed is current while these are)."""


class CapCodec(Protocol):
    """CAP XML: written from values, checked against the OASIS schema."""

    def write(self, alert: Alert) -> str:
        """The alert as a CAP 1.2 document."""

    def check(self, xml: str, *, where: str) -> list[Problem]:
        """The schema's objections to a document we wrote (empty: valid)."""

    def entry(self, alert: PublicAlert, *, language: str | None) -> str:
        """The alert's Atom feed entry in a language (None: its first info block's)."""

    def embedded(self, entry: bytes, document: str) -> bytes:
        """The entry with its CAP document in its content."""

    def feed(self, entries: Sequence[bytes], *, self_url: str, updated: datetime) -> bytes:
        """An Atom feed of entries (UTF-8)."""
