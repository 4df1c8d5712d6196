"""Silences on SQL (writes deferred to the end of the pipeline session)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.times import must
from tocsin.core.warnings.selectors import selector_from_json, selector_to_json
from tocsin.core.warnings.silence_approval import approval_from_json, approval_json
from tocsin.core.warnings.silences import Silence, SilenceId


class SqlSilences:
    """The SilenceStore port in one pipeline session."""

    def __init__(self, conn: Connection, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.queue = queue

    def save(self, silence: Silence, *, new: bool) -> None:
        """Insert or update a silence (when the session ends)."""
        self.queue.defer(partial(self._save, silence, new=new))

    def _save(self, silence: Silence, *, new: bool) -> None:
        s = at.silences
        values = {
            "selector": selector_to_json(silence.selector),
            "starts_at": silence.starts_at,
            "ends_at": silence.ends_at,
            "created_by": silence.created_by,
            "reason": silence.reason,
            "created_at": silence.created_at,
            "expired_by": silence.expired_by,
            "approval": approval_json(silence.approval),
        }
        if new:
            self.conn.execute(insert(s), [{"id": silence.id, "expiry_noticed": False, **values}])
        else:
            self.conn.execute(update(s).where(s.c.id == silence.id).values(**values))

    def get(self, silence_id: str) -> Silence | None:
        """One silence."""
        s = at.silences
        row = self.conn.execute(select(s).where(s.c.id == silence_id)).mappings().first()
        return _silence(row) if row else None

    def find(self, *, now: datetime, include_expired: bool) -> list[Silence]:
        """Silences, newest first."""
        s = at.silences
        stmt = select(s).order_by(s.c.created_at.desc(), s.c.id)
        if not include_expired:
            stmt = stmt.where(s.c.ends_at > now)
        return [_silence(r) for r in self.conn.execute(stmt).mappings()]

    def ended_unnoticed(self, now: datetime) -> list[Silence]:
        """Ended silences whose end was not yet notified."""
        s = at.silences
        rows = self.conn.execute(
            select(s).where(s.c.ends_at <= now, s.c.expiry_noticed.is_(False))
        ).mappings()
        return [_silence(r) for r in rows]

    def mark_noticed(self, silence_id: str) -> None:
        """Remember the end was notified (when the session ends)."""
        self.queue.defer(partial(self._mark_noticed, silence_id))

    def _mark_noticed(self, silence_id: str) -> None:
        s = at.silences
        self.conn.execute(update(s).where(s.c.id == silence_id).values(expiry_noticed=True))


def _silence(r: Mapping[Any, Any]) -> Silence:
    return Silence(
        id=SilenceId(r["id"]),
        selector=selector_from_json(r["selector"]),
        starts_at=must(r["starts_at"]),
        ends_at=must(r["ends_at"]),
        created_by=r["created_by"],
        reason=r["reason"],
        created_at=must(r["created_at"]),
        expired_by=r["expired_by"],
        approval=approval_from_json(r.get("approval")),
    )
