"""Ports: CAP messages read from other agencies, the sources polled, and fetching them.

`CapImportStore` lives in the foundation store's session (`StoreSession.cap_imports`): an
import writes its messages, their events and the warnings they change in one transaction.
`CapReader` reads untrusted documents (safely, against the schema) and `Fetcher` gets them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tocsin.core.cap.imports import ImportedAlert, Key
from tocsin.core.cap.message import Alert


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document (`body` None when the source answered 304 Not Modified)."""

    url: str
    body: bytes | None
    etag: str | None
    last_modified: str | None
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class SourceState:
    """What is remembered of a polled source: validators for conditional GET, the feed entries
    already read (entry id -> updated), when it was polled and how that went."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    checked_at: datetime | None = None
    entries: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReadAlert:
    """A CAP alert read from a document: its values, its XML and where it was."""

    alert: Alert
    xml: str
    where: str


@dataclass(frozen=True, slots=True)
class ReadDocument:
    """A document's alerts and, for a feed, the links of entries that do not embed theirs."""

    kind: str
    alerts: tuple[ReadAlert, ...]
    links: tuple[tuple[str, str, str], ...] = ()  # (href, entry id, updated)


class CapImportStore(Protocol):
    """Imported messages by (sender, identifier), and polled sources by name."""

    def known(self, keys: Sequence[Key]) -> dict[Key, ImportedAlert]:
        """The messages already imported among these keys."""

    def live_head(self, thread: str) -> ImportedAlert | None:
        """The thread's latest message whose warnings stand (None when none does)."""

    def add(self, records: Sequence[ImportedAlert]) -> None:
        """Store new messages."""

    def end(self, keys: Sequence[Key], *, at: datetime) -> None:
        """Mark messages ended (their warnings lifted, or a later message took over)."""

    def find(self, *, limit: int, live_only: bool = False) -> list[ImportedAlert]:
        """Imported messages, newest received first."""

    def expired(self, now: datetime, *, limit: int) -> list[ImportedAlert]:
        """Live heads whose expiry has passed (their warnings are to be lifted)."""

    def source(self, name: str) -> SourceState | None:
        """A polled source's state."""

    def save_source(self, state: SourceState) -> None:
        """Store a polled source's state."""


class CapReader(Protocol):
    """Reads untrusted CAP documents: size-bounded, without DTDs, against the schema."""

    def read(self, data: bytes, *, where: str, max_bytes: int) -> ReadDocument:
        """Every alert of a document; InvalidInput (whole, naming where) if any is invalid."""


class Fetcher(Protocol):
    """Gets a document, conditionally."""

    def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """The document at url (304: `not_modified`); Unavailable when it cannot be had."""

    def resolve(self, base: str, href: str) -> str:
        """A feed's link resolved against the feed's own location."""
