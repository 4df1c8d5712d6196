"""Retention on SQL: count or delete the rows past their period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, select
from sqlalchemy import delete as sql_delete

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage import tables as t
from tocsin.core.warnings.outbox import DeliveryStatus

DONE = (DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value)


class SqlRetention:
    """The RetentionStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def notifications(self, *, before: datetime, delete: bool) -> int:
        """Finished notifications created before `before`."""
        n = at.notifications
        return self._apply(n, (n.c.status.in_(DONE)) & (n.c.created_at < before), delete=delete)

    def events(self, *, before: datetime, delete: bool) -> int:
        """Events received before `before`."""
        e = t.events
        return self._apply(e, e.c.received_at < before, delete=delete)

    def _apply(self, table: Table, where: ColumnElement[Any], *, delete: bool) -> int:
        if delete:
            return int(self.conn.execute(sql_delete(table).where(where)).rowcount or 0)
        counted = select(func.count()).select_from(table).where(where)
        return int(self.conn.execute(counted).scalar_one())
