"""Queries over warnings in memory (a scan: the reference answers, not the fast ones)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.adapters.storage.placement import is_placed_within, is_seen
from tocsin.core.access import EVERYTHING, Scope
from tocsin.core.audit import AuditRecord
from tocsin.core.warnings.model import Warning
from tocsin.ports.warnings import WarningFilter


def _matches(w: Warning, query: WarningFilter) -> bool:
    return (
        (w.is_open or not query.open_only)
        and (not query.levels or w.level.value in query.levels)
        and is_placed_within(w.region, w.domain, query)
    )


def _within(w: Warning, scope: Scope) -> bool:
    return is_seen(scope, w.region, w.domain)


class MemoryWarningSearch:
    """The WarningSearch port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def find(self, query: WarningFilter) -> list[Warning]:
        """Warnings by filter; most severe first, then oldest first."""
        found = [w for w in self.state.warnings.values() if _matches(w, query)]
        found.sort(key=lambda w: (-w.level.rank, w.first_seen_at, w.id))
        return found[query.offset : query.offset + query.limit]

    def with_prefix(self, prefix: str, *, open_only: bool, limit: int) -> list[Warning]:
        """Warnings whose id starts with `prefix`, by id."""
        found = sorted(
            (w for w in self.state.warnings.values() if w.id.startswith(prefix)),
            key=lambda w: w.id,
        )
        return [w for w in found if w.is_open or not open_only][:limit]

    def open_fingerprints(self, source: str, *, domain_prefix: str | None) -> list[str]:
        """The fingerprints of the open warnings a source raised in a domain or below it (None:
        in every domain)."""
        query = WarningFilter(open_only=True, domain_prefix=domain_prefix)
        found = self.state.warnings.values()
        return sorted(w.fingerprint for w in found if w.source == source and _matches(w, query))

    def open_spans(self, source: str, key: str) -> dict[str, tuple[datetime, object]]:
        """Fingerprint -> (last seen, the explanation's `key`) of the source's open warnings."""
        found = self.state.warnings.values()
        return {
            w.fingerprint: (w.last_seen_at, w.explanation.get(key))
            for w in found
            if w.source == source and w.is_open
        }

    def counts(self, *, open_only: bool, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
        """(level, state) -> number of warnings (within the scope)."""
        return dict(
            Counter(
                (w.level.value, w.state.value)
                for w in self.state.warnings.values()
                if (w.is_open or not open_only) and _within(w, scope)
            )
        )

    def open_counts_by_region(self, *, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
        """(region, level) -> number of open warnings (within the scope)."""
        return dict(
            Counter(
                (w.region, w.level.value)
                for w in self.state.warnings.values()
                if w.is_open and _within(w, scope)
            )
        )

    def transitions_of(self, subject: str) -> list[AuditRecord]:
        """Audit records of the warnings about `subject`, oldest first."""
        about = {w.id for w in self.state.warnings.values() if w.subject == subject}
        return [
            r for r in self.state.audit if r.subject_type == "warning" and r.subject_id in about
        ]
