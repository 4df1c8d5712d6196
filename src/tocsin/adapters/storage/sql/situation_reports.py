"""Situation reports on SQL (adds deferred to the end of the session)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, func, select

from tocsin.adapters.storage import incident_tables as it
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.times import must
from tocsin.ports.incidents import StoredReport

_r = it.situation_reports


class SqlSituationReports:
    """The SituationReports port in one session."""

    def __init__(self, conn: Connection, writer: DialectWriter, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.writer = writer
        self.queue = queue

    def add(self, report: StoredReport) -> None:
        """Store a report (an id already stored is kept)."""
        self.queue.defer(partial(self._add, report))

    def _add(self, report: StoredReport) -> None:
        row = {
            "id": report.id,
            "subject_kind": report.subject_kind,
            "subject_id": report.subject_id,
            "created_at": report.created_at,
            "created_by": report.created_by,
            "title": report.title,
            "facts": report.facts,
        }
        self.conn.execute(self.writer.insert(_r).values(**row).on_conflict_do_nothing())

    def get(self, report_id: str) -> StoredReport | None:
        """One report with its facts."""
        row = self.conn.execute(select(_r).where(_r.c.id == report_id)).mappings().first()
        return _report(row, facts=True) if row else None

    def find(self, subject_kind: str, subject_id: str, *, limit: int) -> list[StoredReport]:
        """A subject's reports, newest first, without their facts."""
        cols = [c for c in _r.c if c.name != "facts"]
        stmt = (
            select(*cols)
            .where(_r.c.subject_kind == subject_kind, _r.c.subject_id == subject_id)
            .order_by(_r.c.created_at.desc(), _r.c.id)
            .limit(limit)
        )
        return [_report(r, facts=False) for r in self.conn.execute(stmt).mappings()]

    def latest(self, subject_kind: str, subject_ids: Sequence[str]) -> dict[str, datetime]:
        """When each subject's newest report was issued."""
        if not subject_ids:
            return {}
        stmt = (
            select(_r.c.subject_id, func.max(_r.c.created_at))
            .where(_r.c.subject_kind == subject_kind, _r.c.subject_id.in_(list(subject_ids)))
            .group_by(_r.c.subject_id)
        )
        return {sid: must(at) for sid, at in self.conn.execute(stmt)}


def _report(r: Mapping[Any, Any], *, facts: bool) -> StoredReport:
    return StoredReport(
        r["id"],
        r["subject_kind"],
        r["subject_id"],
        must(r["created_at"]),
        r["created_by"],
        r["title"],
        dict(r["facts"]) if facts else {},
    )
