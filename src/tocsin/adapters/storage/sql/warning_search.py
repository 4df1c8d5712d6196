"""Queries over many warnings on SQL, each answered from an index.

`warnings (state, level, region)` serves the counts by level and the open counts by region as
index-only scans over the open warnings; the primary key serves an id prefix as a range; and
`warnings (subject)` with `audit_log (subject_type, subject_id)` serve an indicator's transitions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, func, or_, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.placement import PlacedQuery
from tocsin.adapters.storage.sql.audit import audit_record
from tocsin.adapters.storage.sql.records import from_row
from tocsin.adapters.storage.times import must
from tocsin.core.access import EVERYTHING, Scope
from tocsin.core.audit import AuditRecord
from tocsin.core.levels import LEVELS
from tocsin.core.warnings.model import Warning, WarningState
from tocsin.ports.warnings import WarningFilter

OPEN_STATES = (WarningState.ACTIVE.value, WarningState.ACKNOWLEDGED.value)
RANK = case({lv.value: lv.rank for lv in LEVELS}, value=t.warnings.c.level, else_=0)


def prefix_bound(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (prefix not empty)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def domain_within(column: Any, prefix: str) -> ColumnElement[bool]:
    """The rows whose domain `column` is `prefix` or a sub-domain of it (in SQL what
    `core.domains.is_domain_within` is in Python)."""
    return or_(column == prefix, column.like(prefix + ".%"))


def scoped(stmt: Select[Any], table: Any, *, scope: Scope) -> Select[Any]:
    """The statement limited to the rows of `table` (warnings, incidents, tasks) whose region
    and domain the scope holds."""
    if scope.regions is not None:
        stmt = stmt.where(table.c.region.in_(sorted(scope.regions)))
    if scope.domains is not None:
        stmt = stmt.where(table.c.domain.in_(sorted(scope.domains)))
    return stmt


def placed_within(stmt: Select[Any], table: Any, query: PlacedQuery) -> Select[Any]:
    """The statement limited to the rows of `table` that pass a filter's domain prefix, regions
    and scope (in SQL what `placement.is_placed_within` is in Python)."""
    if query.domain_prefix:
        stmt = stmt.where(domain_within(table.c.domain, query.domain_prefix))
    if query.regions is not None:
        stmt = stmt.where(table.c.region.in_(list(query.regions)))
    return scoped(stmt, table, scope=query.scope)


class SqlWarningSearch:
    """The WarningSearch port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(self, query: WarningFilter) -> list[Warning]:
        """Warnings by filter; most severe first, then oldest first."""
        w = t.warnings
        stmt = select(w)
        if query.open_only:
            stmt = stmt.where(w.c.state.in_(OPEN_STATES))
        if query.levels:
            stmt = stmt.where(w.c.level.in_(query.levels))
        stmt = placed_within(stmt, w, query)
        stmt = stmt.order_by(RANK.desc(), w.c.first_seen_at, w.c.id)
        stmt = stmt.limit(query.limit).offset(query.offset)
        return [from_row(Warning, r) for r in self.conn.execute(stmt).mappings()]

    def with_prefix(self, prefix: str, *, open_only: bool, limit: int) -> list[Warning]:
        """Warnings whose id starts with `prefix`: a range over the primary key."""
        w = t.warnings
        stmt = select(w).order_by(w.c.id).limit(limit)
        if prefix:
            stmt = stmt.where(w.c.id >= prefix, w.c.id < prefix_bound(prefix))
        if open_only:
            stmt = stmt.where(w.c.state.in_(OPEN_STATES))
        found = [from_row(Warning, r) for r in self.conn.execute(stmt).mappings()]
        return [x for x in found if x.id.startswith(prefix)]

    def open_fingerprints(self, source: str, *, domain_prefix: str | None) -> list[str]:
        """The fingerprints of the open warnings a source raised in a domain or below it (None:
        in every domain); the open warnings read by the state index, one column returned."""
        w = t.warnings
        stmt = select(w.c.fingerprint).where(w.c.state.in_(OPEN_STATES), w.c.source == source)
        if domain_prefix is not None:
            stmt = stmt.where(domain_within(w.c.domain, domain_prefix))
        return sorted(self.conn.execute(stmt).scalars())

    def open_spans(self, source: str, key: str) -> dict[str, tuple[datetime, object]]:
        """Three columns of the open warnings, the explanation's `key` extracted in SQL."""
        w = t.warnings
        stmt = select(w.c.fingerprint, w.c.last_seen_at, w.c.explanation[key]).where(
            w.c.state.in_(OPEN_STATES), w.c.source == source
        )
        return {fp: (must(seen), value) for fp, seen, value in self.conn.execute(stmt)}

    def counts(self, *, open_only: bool, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
        """(level, state) -> number of warnings (an index-only scan without a scope)."""
        w = t.warnings
        stmt = select(w.c.level, w.c.state, func.count()).group_by(w.c.state, w.c.level)
        stmt = scoped(stmt, w, scope=scope)
        if open_only:
            stmt = stmt.where(w.c.state.in_(OPEN_STATES))
        return {(lv, st): int(n) for lv, st, n in self.conn.execute(stmt)}

    def open_counts_by_region(self, *, scope: Scope = EVERYTHING) -> dict[tuple[str, str], int]:
        """(region, level) -> number of open warnings (an index-only scan without a scope)."""
        w = t.warnings
        stmt = scoped(
            select(w.c.region, w.c.level, func.count())
            .where(w.c.state.in_(OPEN_STATES))
            .group_by(w.c.region, w.c.level),
            w,
            scope=scope,
        )
        return {(region, lv): int(n) for region, lv, n in self.conn.execute(stmt)}

    def transitions_of(self, subject: str) -> list[AuditRecord]:
        """Audit records of the warnings about `subject`, oldest first."""
        w, a = t.warnings, t.audit_log
        about = select(w.c.id).where(w.c.subject == subject)
        stmt = (
            select(a)
            .where(a.c.subject_type == "warning", a.c.subject_id.in_(about))
            .order_by(a.c.id)
        )
        return [audit_record(r) for r in self.conn.execute(stmt).mappings()]
