"""The notification outbox on SQL: inserts keyed by idempotency key, outcomes by key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Text, bindparam, cast, select, update

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.adapters.storage.sql.records import from_row, to_row
from tocsin.core.warnings.outbox import (
    Attempt,
    DeliveryStatus,
    Notification,
)

# every notification is inserted once and marked at least once: on the driver (driver.py)
_TABLE = DriverTable(at.notifications)
_INSERT = DriverStatement(_TABLE.insert.sql + " ON CONFLICT (key) DO NOTHING")
_MARKED = ("status", "attempts", "next_attempt_at", "delivered_at", "last_error", "key")
_MARK = DriverStatement(
    "UPDATE notifications SET status = ?, attempts = ?, next_attempt_at = ?, delivered_at = ?, "
    "last_error = ? WHERE key = ?"
)


class SqlOutbox:
    """The Outbox port in one pipeline session (inserts and outcomes written at its end)."""

    def __init__(self, conn: Connection, writer: DialectWriter, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.writer = writer
        self.new: list[Notification] = []
        self.marks: list[dict[str, Any]] = []
        queue.batched.append(self)

    @property
    def has_writes(self) -> bool:
        """True when notifications or outcomes are held."""
        return bool(self.new or self.marks)

    def add(self, notifications: Sequence[Notification]) -> None:
        """Queue notifications (a key already stored is kept)."""
        self.new.extend(notifications)

    def mark(self, key: str, attempt: Attempt) -> None:
        """Record a delivery attempt (all of a session's in one statement)."""
        self.marks.append(
            {
                "key": key,
                "status": attempt.status.value,
                "attempts": attempt.attempts,
                "next_attempt_at": attempt.next_attempt_at,
                "delivered_at": attempt.delivered_at,
                "last_error": attempt.error,
            }
        )

    def find(
        self, *, warning_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[Notification]:
        """The log, newest first."""
        n = at.notifications
        stmt = select(n).order_by(n.c.created_at.desc(), n.c.key).limit(limit)
        if warning_id is not None:
            stmt = stmt.where(cast(n.c.warning_ids, Text).like(f'%"{warning_id}"%'))
        if status is not None:
            stmt = stmt.where(n.c.status == status)
        return [from_row(Notification, r) for r in self.conn.execute(stmt).mappings()]

    def flush(self) -> None:
        """Insert the new notifications, then record the outcomes."""
        drv = Driver(self.conn)
        if self.new:
            rows = [_TABLE.values(drv, to_row(n), _TABLE.written) for n in self.new]
            drv.run_many(_INSERT, rows)
        if self.marks:
            drv.run_many(_MARK, [_TABLE.values(drv, m, _MARKED) for m in self.marks])
        self.new, self.marks = [], []


def due_query(now: datetime, *, limit: int, channels: Sequence[str] | None) -> Select[Any]:
    """Pending notifications whose next attempt is due, oldest first."""
    n = at.notifications
    stmt = (
        select(n)
        .where(n.c.status == DeliveryStatus.PENDING.value, n.c.next_attempt_at <= now)
        .order_by(n.c.next_attempt_at, n.c.created_at)
        .limit(limit)
    )
    return stmt if channels is None else stmt.where(n.c.channel.in_(list(channels)))


def claim(
    conn: Connection, due: Sequence[Notification], *, now: datetime, until: datetime
) -> list[Notification]:
    """Move each due row's next attempt to `until` and count the attempt (one statement; the
    rows are locked for this worker by `DialectWriter.lock_due`)."""
    if not due:
        return []
    n = at.notifications
    stmt = (
        update(n)
        .where(n.c.key == bindparam("k"))
        .values(next_attempt_at=bindparam("until"), attempts=bindparam("attempts"))
    )
    conn.execute(stmt, [{"k": c.key, "until": until, "attempts": c.attempts + 1} for c in due])
    return [replace(c, attempts=c.attempts + 1, next_attempt_at=until) for c in due]
