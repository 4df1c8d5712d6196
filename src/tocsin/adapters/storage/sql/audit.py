"""The audit log on SQL (append-only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert, select

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.times import must
from tocsin.core.audit import AuditRecord


class SqlAuditLog:
    """The AuditLog port in one transaction (appends deferred when given a queue)."""

    def __init__(self, conn: Connection, *, queue: WriteQueue | None = None) -> None:
        self.conn = conn
        self.queue = queue

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append records to the audit log."""
        if self.queue is not None:
            self.queue.defer(partial(self._insert, list(records)))
        else:
            self._insert(records)

    def _insert(self, records: Sequence[AuditRecord]) -> None:
        if records:
            self.conn.execute(insert(t.audit_log), [_row(r) for r in records])

    def trail(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """One subject's trail, oldest first."""
        a = t.audit_log
        query = (
            select(a)
            .where(a.c.subject_type == subject_type, a.c.subject_id == subject_id)
            .order_by(a.c.id)
        )
        return [audit_record(r) for r in self.conn.execute(query).mappings()]


def _row(r: AuditRecord) -> dict[str, Any]:
    return {
        "at": r.at,
        "actor": r.actor,
        "kind": r.kind,
        "subject_type": r.subject_type,
        "subject_id": r.subject_id,
        "reason": r.reason,
        "details": dict(r.details),
    }


def audit_record(r: Mapping[Any, Any]) -> AuditRecord:
    """An audit record from its row."""
    return AuditRecord(
        must(r["at"]),
        r["actor"],
        r["kind"],
        r["subject_type"],
        r["subject_id"],
        r["reason"],
        r["details"],
    )
