"""The audit trail read back as the response needs it: an incident's timeline (its records and
its tasks'), and the records of a period (scorecards), by `audit_log (at)`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from tocsin.adapters.storage import incident_tables as it
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.audit import audit_record
from tocsin.core.audit import AuditRecord
from tocsin.core.incidents.trail import INCIDENT, TASK


class SqlResponseTrail:
    """The ResponseTrail port in one session."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def timeline(self, incident_id: str) -> list[AuditRecord]:
        """The incident's records and its tasks', oldest first."""
        a = t.audit_log
        tasks = select(it.tasks.c.id).where(it.tasks.c.incident_id == incident_id)
        stmt = (
            select(a)
            .where(
                or_(
                    and_(a.c.subject_type == INCIDENT, a.c.subject_id == incident_id),
                    and_(a.c.subject_type == TASK, a.c.subject_id.in_(tasks)),
                )
            )
            .order_by(a.c.id)
        )
        return [audit_record(r) for r in self.conn.execute(stmt).mappings()]

    def between(
        self, start: datetime, end: datetime, *, subject_types: Sequence[str]
    ) -> list[AuditRecord]:
        """Records of these subject types made in [start, end), oldest first."""
        a = t.audit_log
        stmt = (
            select(a)
            .where(a.c.at >= start, a.c.at < end, a.c.subject_type.in_(list(subject_types)))
            .order_by(a.c.at, a.c.id)
        )
        return [audit_record(r) for r in self.conn.execute(stmt).mappings()]
