"""Escalations on SQL (saves held and written together, as one upsert, when the session ends)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.lookups import rows_in
from tocsin.adapters.storage.times import aware
from tocsin.core.warnings.escalation import Escalation, EscalationReason, EscalationSnapshot


class SqlEscalations:
    """The EscalationStore port in one pipeline session."""

    def __init__(self, conn: Connection, writer: DialectWriter, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.writer = writer
        self.saves: dict[str, Escalation] = {}
        queue.batched.append(self)

    @property
    def has_writes(self) -> bool:
        """True when saves are held."""
        return bool(self.saves)

    def get(self, warning_id: str) -> Escalation | None:
        """One escalation."""
        return self.get_many([warning_id]).get(warning_id)

    def get_many(self, warning_ids: Sequence[str]) -> dict[str, Escalation]:
        """The escalations of several warnings (a few IN lists)."""
        e = at.escalations
        rows = rows_in(self.conn, select(e), column=e.c.warning_id, keys=warning_ids)
        return {r["warning_id"]: _escalation(r) for r in rows}

    def save(self, escalation: Escalation) -> None:
        """Insert or update an escalation (when the session ends; the last save wins)."""
        self.saves[escalation.warning_id] = escalation

    def flush(self) -> None:
        """Upsert every held escalation in one statement."""
        if not self.saves:
            return
        rows = [_row(x) for x in self.saves.values()]
        stmt = self.writer.insert(at.escalations)
        columns = [c for c in rows[0] if c != "warning_id"]
        stmt = stmt.on_conflict_do_update(
            index_elements=["warning_id"], set_={c: getattr(stmt.excluded, c) for c in columns}
        )
        self.conn.execute(stmt, rows)
        self.saves = {}

    def due(self, now: datetime, limit: int) -> list[Escalation]:
        """Running escalations with a due step."""
        e = at.escalations
        rows = self.conn.execute(
            select(e)
            .where(e.c.stopped_at.is_(None), e.c.next_due_at.is_not(None), e.c.next_due_at <= now)
            .order_by(e.c.next_due_at)
            .limit(limit)
        ).mappings()
        return [_escalation(r) for r in rows]

    def next_due(self) -> datetime | None:
        """The earliest due step of a running escalation."""
        e = at.escalations
        earliest = (  # in the index's order, the first running one (stopped ones have none)
            select(e.c.next_due_at)
            .where(e.c.next_due_at.is_not(None), e.c.stopped_at.is_(None))
            .order_by(e.c.next_due_at)
            .limit(1)
        )
        return aware(self.conn.execute(earliest).scalar())


def _row(escalation: Escalation) -> dict[str, Any]:
    reason = escalation.stop_reason
    return {
        "warning_id": escalation.warning_id,
        "snapshot": escalation.snapshot.as_json(),
        "progress": escalation.progress,
        "next_due_at": escalation.next_due_at,
        "stopped_at": escalation.stopped_at,
        "stop_reason": reason.value if reason else None,
    }


def _escalation(r: Mapping[Any, Any]) -> Escalation:
    reason = r["stop_reason"]
    return Escalation(
        r["warning_id"],
        EscalationSnapshot.from_json(dict(r["snapshot"])),
        int(r["progress"]),
        aware(r["next_due_at"]),
        aware(r["stopped_at"]),
        EscalationReason(reason) if reason else None,
    )
