"""Ports: warnings as the rules and people change them, and the queries people ask of them.

`WarningReader` is what the dispatcher reads, `WarningStore` adds the writes of the rules and of
people (always with an audit record in the same transaction), and `WarningSearch` answers the
questions of the API, the dashboard and the command line, each from an index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tocsin.core.access import EVERYTHING, Scope
from tocsin.core.audit import AuditRecord
from tocsin.core.warnings.model import Warning, WarningId


@dataclass(frozen=True, slots=True)
class WarningFilter:
    """Which warnings to list."""

    open_only: bool = True
    levels: tuple[str, ...] = ()
    domain_prefix: str | None = None
    regions: tuple[str, ...] | None = None
    limit: int = 1000
    offset: int = 0  # rows skipped first (paging, in the same order)
    scope: Scope = EVERYTHING  # only warnings whose region and domain the scope holds


class WarningReader(Protocol):
    """Warnings by id, by fingerprint and by region."""

    def get(self, warning_id: str) -> Warning | None:
        """One warning by id."""

    def by_ids(self, ids: Sequence[str]) -> dict[str, Warning]:
        """Warnings by id (missing ids are left out)."""

    def open_by_fingerprint(self, fingerprints: Sequence[str]) -> dict[str, Warning]:
        """The open warnings of these fingerprints, by fingerprint."""

    def open_in_regions(self, regions: Sequence[str]) -> list[Warning]:
        """Open warnings whose region is one of `regions`."""


class WarningStore(WarningReader, Protocol):
    """Warnings with their writes: at most one open warning per fingerprint."""

    def save(self, warnings: Sequence[Warning], *, new: bool) -> None:
        """Insert (new) or update warnings; Conflict if a fingerprint would be open twice."""

    def touch(self, last_seen: Mapping[WarningId, datetime]) -> None:
        """Move last_seen_at of open warnings forward."""


class WarningSearch(Protocol):
    """Questions about many warnings, each answered from an index (never by loading all)."""

    def find(self, query: WarningFilter) -> list[Warning]:
        """Warnings matching a filter, most severe and oldest first: at most `query.limit`, after
        skipping `query.offset`."""

    def with_prefix(self, prefix: str, *, open_only: bool, limit: int) -> list[Warning]:
        """Warnings whose id starts with `prefix` (at most `limit`, by id)."""

    def open_fingerprints(self, source: str, *, domain_prefix: str | None) -> list[str]:
        """The fingerprints of the open warnings a source raised in a domain or below it (None:
        in every domain)."""

    def open_spans(self, source: str, key: str) -> dict[str, tuple[datetime, object]]:
        """The open warnings a source raised: fingerprint -> (last seen, their explanation's
        `key`, None when it has none), one narrow read (no whole warning decoded)."""

    def counts(self, *, open_only: bool, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
        """(level, state) -> number of warnings (within the scope)."""

    def open_counts_by_region(self, *, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
        """(region, level) -> number of open warnings (within the scope)."""

    def transitions_of(self, subject: str) -> list[AuditRecord]:
        """The audit records of the warnings about `subject` (an indicator), oldest first."""
