"""Escalations on SQL (saves deferred to the end of the pipeline session)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.times import aware
from tocsin.core.warnings.escalation import Escalation, EscalationReason, EscalationSnapshot


class SqlEscalations:
    """The EscalationStore port in one pipeline session."""

    def __init__(self, conn: Connection, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.queue = queue

    def get(self, warning_id: str) -> Escalation | None:
        """One escalation."""
        e = at.escalations
        row = self.conn.execute(select(e).where(e.c.warning_id == warning_id)).mappings().first()
        return _escalation(row) if row else None

    def save(self, escalation: Escalation) -> None:
        """Insert or update an escalation (when the session ends)."""
        self.queue.defer(partial(self._save, escalation))

    def _save(self, escalation: Escalation) -> None:
        e = at.escalations
        values = {
            "snapshot": escalation.snapshot.as_json(),
            "progress": escalation.progress,
            "next_due_at": escalation.next_due_at,
            "stopped_at": escalation.stopped_at,
            "stop_reason": escalation.stop_reason.value if escalation.stop_reason else None,
        }
        done = self.conn.execute(
            update(e).where(e.c.warning_id == escalation.warning_id).values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(e), [{"warning_id": escalation.warning_id, **values}])

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
